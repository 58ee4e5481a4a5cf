//! ONNX Runtime: loading the shared library once per process and choosing where models run.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use ort::environment::Environment;
use ort::ep::{self, ExecutionProvider};
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::session::Session;
use serde::Serialize;

use crate::error::{EngineError, Result};

/// Where the user wants inference to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    /// CUDA when the library supports it and a GPU answers, otherwise the CPU.
    Auto,
    Cpu,
    Cuda {
        device_id: i32,
    },
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda { device_id: 0 }),
            other => other
                .strip_prefix("cuda:")
                .and_then(|id| id.parse().ok())
                .map(|device_id| Device::Cuda { device_id })
                .ok_or_else(|| format!("'{other}' is not a device: use auto, cpu, cuda or cuda:N")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// The `libonnxruntime.so` to load; `None` looks in the usual places (see [`find_library`]).
    pub library: Option<PathBuf>,
    pub device: Device,
    /// Threads per inference on the CPU; 0 lets ONNX Runtime use every core.
    pub intra_threads: usize,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            library: None,
            device: Device::Auto,
            intra_threads: 0,
        }
    }
}

/// What inference actually runs on, as reported to logs, the API and the Admin page.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExecutionInfo {
    /// ONNX Runtime's name for it, e.g. `CPUExecutionProvider`.
    pub provider: String,
    /// A human description: "CPU (2 threads)", "CUDA GPU 0".
    pub device: String,
    pub library: String,
}

/// The loaded ONNX Runtime and the device decision. One per process.
pub struct Runtime {
    environment: Environment,
    options: RuntimeOptions,
    library: PathBuf,
    cuda: bool,
}

static RUNTIME: OnceLock<Arc<Runtime>> = OnceLock::new();

impl Runtime {
    /// Loads ONNX Runtime (first call) or returns the runtime already loaded in this process.
    pub fn init(options: RuntimeOptions) -> Result<Arc<Runtime>> {
        if let Some(runtime) = RUNTIME.get() {
            return Ok(runtime.clone());
        }
        let library = match &options.library {
            Some(path) => path.clone(),
            None => find_library().ok_or_else(|| EngineError::RuntimeLibrary {
                path: PathBuf::from("libonnxruntime.so"),
                reason: "not found; run the README's set-up command or set ORT_DYLIB_PATH".into(),
            })?,
        };
        if !library.is_file() {
            return Err(EngineError::RuntimeLibrary {
                path: library,
                reason: "no such file".into(),
            });
        }
        let load_error = |reason: String| EngineError::RuntimeLibrary {
            path: library.clone(),
            reason,
        };
        let environment = ort::init_from(&library)
            .map_err(|e| load_error(e.to_string()))?
            .with_name("tinct")
            .build()
            .map_err(|e| load_error(e.to_string()))?;
        let cuda = match options.device {
            Device::Cpu => false,
            Device::Auto => ep::CUDA::is_available().unwrap_or(false),
            Device::Cuda { .. } => {
                if !ep::CUDA::is_available().unwrap_or(false) {
                    return Err(EngineError::CudaUnavailable(format!(
                        "{} was built without CUDA; install the GPU package (see README)",
                        library.display()
                    )));
                }
                true
            }
        };
        let runtime = Arc::new(Runtime {
            environment,
            options,
            library,
            cuda,
        });
        Ok(RUNTIME.get_or_init(|| runtime).clone())
    }

    /// The runtime if some earlier call loaded it.
    pub fn current() -> Option<Arc<Runtime>> {
        RUNTIME.get().cloned()
    }

    /// A session for `model`, on CUDA when chosen (falling back to the CPU only in `auto` mode).
    pub(crate) fn load_session(&self, model: &Path) -> Result<(Session, ExecutionInfo)> {
        let invalid = |reason: String| EngineError::InvalidModel {
            path: model.to_path_buf(),
            reason,
        };
        if self.cuda {
            let device_id = match self.options.device {
                Device::Cuda { device_id } => device_id,
                _ => 0,
            };
            let cuda = ep::CUDA::default()
                .with_device_id(device_id)
                .build()
                .error_on_failure();
            let attempt = self
                .builder()
                .and_then(|b| {
                    b.with_execution_providers([cuda])
                        .map_err(ort::Error::<()>::from)
                })
                .and_then(|mut b| b.commit_from_file(model));
            match attempt {
                Ok(session) => {
                    return Ok((
                        session,
                        self.info("CUDAExecutionProvider", format!("CUDA GPU {device_id}")),
                    ));
                }
                Err(e) if self.options.device == Device::Auto => {
                    tracing::warn!(error = %e, "CUDA could not be used; running on the CPU");
                }
                Err(e) => return Err(EngineError::CudaUnavailable(e.to_string())),
            }
        }
        let cpu = ep::CPU::default().with_arena_allocator(true).build();
        let session = self
            .builder()
            .and_then(|b| {
                b.with_execution_providers([cpu])
                    .map_err(ort::Error::<()>::from)
            })
            .and_then(|mut b| b.commit_from_file(model))
            .map_err(|e| invalid(e.to_string()))?;
        let threads = match self.options.intra_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Ok((
            session,
            self.info("CPUExecutionProvider", format!("CPU ({threads} threads)")),
        ))
    }

    /// What a session would run on, without loading one.
    pub fn planned_execution(&self) -> ExecutionInfo {
        if self.cuda {
            let id = match self.options.device {
                Device::Cuda { device_id } => device_id,
                _ => 0,
            };
            self.info("CUDAExecutionProvider", format!("CUDA GPU {id}"))
        } else {
            self.info("CPUExecutionProvider", "CPU".into())
        }
    }

    fn builder(&self) -> ort::Result<SessionBuilder> {
        let builder = Session::builder(&self.environment)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(ort::Error::<()>::from)?;
        match self.options.intra_threads {
            0 => Ok(builder),
            n => builder
                .with_intra_threads(n)
                .map_err(ort::Error::<()>::from),
        }
    }

    fn info(&self, provider: &str, device: String) -> ExecutionInfo {
        ExecutionInfo {
            provider: provider.into(),
            device,
            library: self.library.display().to_string(),
        }
    }
}

/// `ORT_DYLIB_PATH`, else the project-local copy that the set-up script installs.
pub fn find_library() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        return Some(PathBuf::from(path));
    }
    let local = Path::new(".local/onnxruntime/libonnxruntime.so");
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("libonnxruntime.so")));
    [Some(local.to_path_buf()), beside_exe]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
}
