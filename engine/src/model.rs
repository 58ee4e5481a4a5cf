//! One ONNX model session and the DDColor contract it must honour:
//! `input` float32 `[N,3,S,S]` (grey RGB in [0,1]) → `output` float32 `[N,2,S,S]` (Lab a/b).

use std::path::Path;
use std::sync::Mutex;

use ort::session::Session;
use ort::value::{TensorElementType, TensorRef, ValueType};

use crate::error::{EngineError, Result};
use crate::runtime::{ExecutionInfo, Runtime};

pub const INPUT_NAME: &str = "input";
pub const OUTPUT_NAME: &str = "output";

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

pub struct OnnxModel {
    session: Mutex<Session>,
    contract: Contract,
    execution: ExecutionInfo,
}

impl OnnxModel {
    /// Loads and checks a model file; a file that is not a DDColor-shaped ONNX graph is refused.
    pub fn load(runtime: &Runtime, path: &Path) -> Result<Self> {
        let (session, execution) = runtime.load_session(path)?;
        let contract = check_contract(&session).map_err(|reason| EngineError::InvalidModel {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(OnnxModel {
            session: Mutex::new(session),
            contract,
            execution,
        })
    }

    pub fn execution(&self) -> &ExecutionInfo {
        &self.execution
    }
}

impl Inference for OnnxModel {
    fn run(&self, batch: usize, size: u32, input: &[f32]) -> Result<Vec<f32>> {
        let s = size as usize;
        let failed = |e: ort::Error| EngineError::Inference(e.to_string());
        let tensor = TensorRef::from_array_view(([batch, 3, s, s], input)).map_err(failed)?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| EngineError::Inference("an earlier run crashed this session".into()))?;
        let outputs = session
            .run(ort::inputs![INPUT_NAME => tensor])
            .map_err(failed)?;
        let value = outputs
            .get(OUTPUT_NAME)
            .ok_or_else(|| EngineError::Inference("the model produced no 'output'".into()))?;
        let (shape, data) = value.try_extract_tensor::<f32>().map_err(failed)?;
        let expected = [batch as i64, 2, s as i64, s as i64];
        if shape[..] != expected {
            return Err(EngineError::Inference(format!(
                "the model returned shape {:?}, expected {expected:?}",
                &shape[..]
            )));
        }
        Ok(data.to_vec())
    }

    fn contract(&self) -> Contract {
        self.contract
    }
}

fn tensor_dims(value: &ValueType) -> Option<(TensorElementType, Vec<i64>)> {
    Some((value.tensor_type()?, value.tensor_shape()?.to_vec()))
}

fn check_contract(session: &Session) -> std::result::Result<Contract, String> {
    let names = |outlets: &[ort::value::Outlet]| {
        outlets
            .iter()
            .map(|o| o.name().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let [input] = session.inputs() else {
        return Err(format!(
            "expected exactly one input named '{INPUT_NAME}', found [{}]",
            names(session.inputs())
        ));
    };
    if input.name() != INPUT_NAME {
        return Err(format!(
            "its input is named '{}', expected '{INPUT_NAME}'",
            input.name()
        ));
    }
    let Some(output) = session.outputs().iter().find(|o| o.name() == OUTPUT_NAME) else {
        return Err(format!(
            "it has no output named '{OUTPUT_NAME}' (outputs: [{}])",
            names(session.outputs())
        ));
    };
    let (in_type, in_dims) =
        tensor_dims(input.dtype()).ok_or("its input is not a tensor".to_string())?;
    let (out_type, out_dims) =
        tensor_dims(output.dtype()).ok_or("its output is not a tensor".to_string())?;
    if in_type != TensorElementType::Float32 || out_type != TensorElementType::Float32 {
        return Err(format!(
            "input and output must be float32, found {in_type:?} → {out_type:?}"
        ));
    }
    let matches =
        |dims: &[i64], channels: i64| dims.len() == 4 && (dims[1] == channels || dims[1] == -1);
    if !matches(&in_dims, 3) {
        return Err(format!("input shape {in_dims:?} is not [N,3,S,S]"));
    }
    if !matches(&out_dims, 2) {
        return Err(format!("output shape {out_dims:?} is not [N,2,S,S]"));
    }
    let fixed_size = match (in_dims[2], in_dims[3]) {
        (-1, -1) => None,
        (h, w) if h == w && h > 0 && h % 32 == 0 => Some(h as u32),
        (h, w) => {
            return Err(format!(
                "input size {h}×{w} is not square S×S with S a multiple of 32"
            ))
        }
    };
    let fixed_batch = (in_dims[0] > 0).then_some(in_dims[0] as usize);
    Ok(Contract {
        fixed_size,
        fixed_batch,
    })
}
