//! One ONNX model session and the contract of its family (see [`crate::family`]). Every family is
//! run behind the same face: the engine's grey input `[N,3,S,S]` (sRGB in [0,1]) in, Lab a/b
//! `[N,2,S,S]` out. Third-party exports may name their tensors differently and use float16.

use std::path::Path;
use std::sync::Mutex;

use half::f16;
use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor, TensorElementType, ValueType};

use crate::error::{EngineError, Result};
use crate::family::Family;
use crate::runtime::{ExecutionInfo, Runtime};

/// Shape constraints read from the model's declared input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Contract {
    /// `Some(S)` when the graph was exported for one input size only.
    pub fixed_size: Option<u32>,
    /// `Some(N)` when the graph was exported for one batch size only.
    pub fixed_batch: Option<usize>,
}

/// Anything that turns a batch of grey inputs into a/b outputs. The ONNX session is the real
/// one; tests and benchmarks of the queue use trivial ones.
pub trait Inference: Send + Sync {
    /// `input` is `[batch, 3, size, size]`; returns `[batch, 2, size, size]`.
    fn run(&self, batch: usize, size: u32, input: &[f32]) -> Result<Vec<f32>>;
    fn contract(&self) -> Contract;
}

/// How to talk to one graph: its tensors' names and element types.
#[derive(Debug, Clone)]
struct Io {
    family: Family,
    image_input: Tensor4,
    /// SIGGRAPH17's hint inputs (ab, mask): given as zeros.
    hint_inputs: Vec<Tensor4>,
    output: String,
    output_half: bool,
}

#[derive(Debug, Clone)]
struct Tensor4 {
    name: String,
    channels: i64,
    half: bool,
}

pub struct OnnxModel {
    session: Mutex<Session>,
    contract: Contract,
    io: Io,
    execution: ExecutionInfo,
}

impl OnnxModel {
    /// Loads a model file and checks it against `family`'s contract (`None`: the family its
    /// tensors say it is); anything else is refused with the reason.
    pub fn load(runtime: &Runtime, path: &Path, family: Option<Family>) -> Result<Self> {
        let (session, execution) = runtime.load_session(path)?;
        let (io, contract) =
            check_contract(&session, family).map_err(|reason| EngineError::InvalidModel {
                path: path.to_path_buf(),
                reason,
            })?;
        Ok(OnnxModel {
            session: Mutex::new(session),
            contract,
            io,
            execution,
        })
    }

    pub fn execution(&self) -> &ExecutionInfo {
        &self.execution
    }

    pub fn family(&self) -> Family {
        self.io.family
    }
}

fn tensor(name: &str, shape: [usize; 4], data: Vec<f32>, half: bool) -> ort::Result<DynValue> {
    Ok(if half {
        let data: Vec<f16> = data.into_iter().map(f16::from_f32).collect();
        Tensor::from_array((shape, data))?.into_dyn()
    } else {
        Tensor::from_array((shape, data))?.into_dyn()
    })
    .inspect_err(|e| tracing::debug!(input = name, error = %e, "tensor not created"))
}

impl Inference for OnnxModel {
    fn run(&self, batch: usize, size: u32, input: &[f32]) -> Result<Vec<f32>> {
        let s = size as usize;
        let failed = |e: ort::Error| EngineError::Inference(e.to_string());
        let io = &self.io;
        let image = &io.image_input;
        let mut inputs: Vec<(String, SessionInputValue<'_>)> = vec![(
            image.name.clone(),
            tensor(
                &image.name,
                [batch, image.channels as usize, s, s],
                io.family.model_input(input, batch, size),
                image.half,
            )
            .map_err(failed)?
            .into(),
        )];
        for hint in &io.hint_inputs {
            let shape = [batch, hint.channels as usize, s, s];
            let zeros = vec![0f32; shape.iter().product()];
            inputs.push((
                hint.name.clone(),
                tensor(&hint.name, shape, zeros, hint.half)
                    .map_err(failed)?
                    .into(),
            ));
        }
        let mut session = self
            .session
            .lock()
            .map_err(|_| EngineError::Inference("an earlier run crashed this session".into()))?;
        let outputs = session.run(inputs).map_err(failed)?;
        let value = outputs.get(&io.output).ok_or_else(|| {
            EngineError::Inference(format!("the model produced no '{}'", io.output))
        })?;
        let (shape, data) = if io.output_half {
            let (shape, data) = value.try_extract_tensor::<f16>().map_err(failed)?;
            (shape.to_vec(), data.iter().map(|v| v.to_f32()).collect())
        } else {
            let (shape, data) = value.try_extract_tensor::<f32>().map_err(failed)?;
            (shape.to_vec(), data.to_vec())
        };
        let channels = io.family.channels().1;
        let (height, width) = match shape[..] {
            [n, c, h, w] if n == batch as i64 && c == channels && h > 0 && w > 0 => {
                (h as u32, w as u32)
            }
            _ => {
                return Err(EngineError::Inference(format!(
                    "the model returned shape {shape:?}, expected [{batch}, {channels}, H, W]"
                )))
            }
        };
        io.family.ab_from_output(data, batch, (height, width), size)
    }

    fn contract(&self) -> Contract {
        self.contract
    }
}

fn tensor_dims(value: &ValueType) -> Option<(TensorElementType, Vec<i64>)> {
    Some((value.tensor_type()?, value.tensor_shape()?.to_vec()))
}

/// A float tensor of rank 4: its channel count (−1 when symbolic) and whether it is float16.
fn float4(outlet: &ort::value::Outlet) -> std::result::Result<(Vec<i64>, bool), String> {
    let (kind, dims) = tensor_dims(outlet.dtype())
        .ok_or_else(|| format!("'{}' is not a tensor", outlet.name()))?;
    let half = match kind {
        TensorElementType::Float32 => false,
        TensorElementType::Float16 => true,
        other => {
            return Err(format!(
                "'{}' holds {other:?}, expected float32 or float16",
                outlet.name()
            ))
        }
    };
    if dims.len() != 4 {
        return Err(format!(
            "'{}' has shape {dims:?}, expected four dimensions [N,C,H,W]",
            outlet.name()
        ));
    }
    Ok((dims, half))
}

fn check_contract(
    session: &Session,
    family: Option<Family>,
) -> std::result::Result<(Io, Contract), String> {
    let names = |outlets: &[ort::value::Outlet]| {
        outlets
            .iter()
            .map(|o| o.name().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (first, rest) = session
        .inputs()
        .split_first()
        .ok_or("the graph has no input")?;
    // DDColor's own export calls its output `output`; others have a single output.
    let output = match session.outputs() {
        [only] => only,
        outputs => outputs
            .iter()
            .find(|o| o.name() == "output")
            .ok_or_else(|| {
                format!(
                    "it has several outputs and none is named 'output' (outputs: [{}])",
                    names(outputs)
                )
            })?,
    };
    let (in_dims, in_half) = float4(first)?;
    let (out_dims, out_half) = float4(output)?;
    let (in_c, out_c) = (in_dims[1], out_dims[1]);
    let family = match family {
        Some(family) => family,
        None => Family::detect(in_c, out_c)
            .or_else(|| (in_c == -1).then_some(Family::Ddcolor))
            .ok_or_else(|| {
                format!(
                    "its tensors ({} {in_dims:?} → {} {out_dims:?}) match no family Tinct runs: \
                     DDColor [N,3,S,S] → [N,2,S,S], DeOldify [N,3,S,S] → [N,3,S,S], \
                     Zhang [N,1,S,S] → [N,2,h,w]",
                    first.name(),
                    output.name()
                )
            })?,
    };
    let (want_in, want_out) = family.channels();
    let fits = |c: i64, want: i64| c == want || c == -1;
    if !fits(in_c, want_in) || !fits(out_c, want_out) {
        return Err(format!(
            "as a {} model it should take {want_in} channels and give {want_out}; \
             '{}' is {in_dims:?} and '{}' is {out_dims:?}",
            family.label(),
            first.name(),
            output.name()
        ));
    }
    let mut hint_inputs = Vec::new();
    for extra in rest {
        let (dims, half) = float4(extra)?;
        if family != Family::Zhang || !(dims[1] == 1 || dims[1] == 2) {
            return Err(format!(
                "it has more inputs than a {} model: [{}]",
                family.label(),
                names(session.inputs())
            ));
        }
        hint_inputs.push(Tensor4 {
            name: extra.name().to_string(),
            channels: dims[1],
            half,
        });
    }
    let fixed_size = match (in_dims[2], in_dims[3]) {
        (h, w) if h <= 0 && w <= 0 => None,
        (h, w) if h == w && h > 0 && h % 32 == 0 => Some(h as u32),
        (h, w) => {
            return Err(format!(
                "input size {h}×{w} is not square S×S with S a multiple of 32"
            ))
        }
    };
    if family == Family::Ddcolor && fixed_size.is_some() && out_dims[2..] != in_dims[2..] {
        return Err(format!(
            "a DDColor model gives a/b at its input size; output {out_dims:?} does not match input {in_dims:?}"
        ));
    }
    let fixed_batch = (in_dims[0] > 0).then_some(in_dims[0] as usize);
    let io = Io {
        family,
        image_input: Tensor4 {
            name: first.name().to_string(),
            channels: want_in,
            half: in_half,
        },
        hint_inputs,
        output: output.name().to_string(),
        output_half: out_half,
    };
    Ok((
        io,
        Contract {
            fixed_size,
            fixed_batch,
        },
    ))
}
