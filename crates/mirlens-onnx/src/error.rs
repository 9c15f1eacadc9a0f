//! Errors of the ONNX Runtime backend.

use std::path::PathBuf;

/// The command line that installs the ONNX Runtime library this crate is built against.
pub const INSTALL_HINT: &str = "install it with `python3 -m pip install onnxruntime==1.31.1` (any venv) and set \
ORT_DYLIB_PATH to .../site-packages/onnxruntime/capi/libonnxruntime.so.1.31.1 (or create the venv as `.venv` in \
the working directory or one of its parents, where it is found without ORT_DYLIB_PATH)";

/// How a runtime library path was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuntimeOrigin {
    /// Given by the caller ([`crate::RuntimeSearch::explicit`]).
    Explicit,
    /// Taken from the `ORT_DYLIB_PATH` environment variable.
    EnvVar,
    /// Found in the active virtual environment (`$VIRTUAL_ENV`).
    VirtualEnv,
    /// Found in a `.venv` folder of the working directory or one of its parents.
    LocalVenv,
}

impl std::fmt::Display for RuntimeOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RuntimeOrigin::Explicit => "the path given",
            RuntimeOrigin::EnvVar => "ORT_DYLIB_PATH",
            RuntimeOrigin::VirtualEnv => "$VIRTUAL_ENV",
            RuntimeOrigin::LocalVenv => "a .venv folder",
        })
    }
}

/// Errors of runtime discovery, model loading and inference through ONNX Runtime.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// No ONNX Runtime shared library was found anywhere the search looked.
    #[error("ONNX Runtime library not found (ORT_DYLIB_PATH is not set; searched {}); {INSTALL_HINT}", display_paths(.searched))]
    RuntimeNotFound {
        /// The `site-packages/onnxruntime/capi` folders (or venv roots) that were searched.
        searched: Vec<PathBuf>,
    },
    /// A runtime library path was given but no file exists there.
    #[error("ONNX Runtime library {path} (from {origin}) does not exist; {INSTALL_HINT}")]
    RuntimeFileMissing {
        /// The path that was given.
        path: PathBuf,
        /// Where the path came from.
        origin: RuntimeOrigin,
    },
    /// The library exists but could not be loaded (not a shared library, wrong version, missing symbols).
    #[error("could not load the ONNX Runtime library {path}: {message}; {INSTALL_HINT}")]
    RuntimeLoad {
        /// The library path.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// A different ONNX Runtime library is already loaded in this process (a process can hold only one).
    #[error(
        "ONNX Runtime is already loaded from {loaded}; cannot switch to {requested} in the same process"
    )]
    RuntimeConflict {
        /// The library in use.
        loaded: PathBuf,
        /// The library requested now.
        requested: PathBuf,
    },
    /// The model file does not exist.
    #[error("ONNX model {path} does not exist")]
    ModelNotFound {
        /// The path given (a `.onnx` file, or a folder expected to hold `model.onnx`).
        path: PathBuf,
    },
    /// ONNX Runtime refused the model or a session option.
    #[error("ONNX Runtime could not open {path}: {message}")]
    Session {
        /// The model path.
        path: PathBuf,
        /// ONNX Runtime's message.
        message: String,
    },
    /// The model's `mirlens.encoder` metadata is absent or malformed.
    #[error(
        "ONNX model {path}: metadata `mirlens.encoder` {problem} (export the model with tests/golden/onnx/generate.py or pass an ExportMeta)"
    )]
    Metadata {
        /// The model path.
        path: PathBuf,
        /// What is wrong, naming the field.
        problem: String,
    },
    /// The graph lacks an input or output the export contract requires.
    #[error("ONNX model {path} has no {kind} named `{name}` (it has: {available})")]
    MissingTensor {
        /// The model path.
        path: PathBuf,
        /// `input` or `output`.
        kind: &'static str,
        /// The name required by the export contract.
        name: String,
        /// The names the graph has, comma-separated.
        available: String,
    },
    /// An output had an unexpected shape.
    #[error("ONNX output `{output}` has shape {got:?}, expected {expected:?}")]
    OutputShape {
        /// Output name.
        output: String,
        /// Expected shape (`[batch, frames, width]`).
        expected: Vec<usize>,
        /// Shape returned by the runtime.
        got: Vec<i64>,
    },
    /// The waveform is shorter than the receptive field of the convolutional feature encoder.
    #[error(
        "input {index} has {samples} samples; the model needs at least {min_samples} (one frame)"
    )]
    InputTooShort {
        /// Position of the input in the batch (0 for a single input).
        index: usize,
        /// Samples given.
        samples: usize,
        /// Receptive field of the conv stack in samples.
        min_samples: usize,
    },
    /// The waveform contains NaN or infinity.
    #[error("input {index} has a non-finite sample ({value}) at position {position}")]
    NonFiniteInput {
        /// Position of the input in the batch.
        index: usize,
        /// Sample index of the first non-finite value.
        position: usize,
        /// The offending value.
        value: f32,
    },
    /// An option is out of range.
    #[error("invalid ONNX backend option `{name}` = {value}: expected {expected}")]
    InvalidOption {
        /// Option name.
        name: &'static str,
        /// Offending value.
        value: String,
        /// What would be accepted.
        expected: &'static str,
    },
    /// Inference failed inside ONNX Runtime.
    #[error("ONNX Runtime inference on {path} failed: {message}")]
    Inference {
        /// The model path.
        path: PathBuf,
        /// ONNX Runtime's message.
        message: String,
    },
    /// A shared-vocabulary error (e.g. a layer beyond the model's depth).
    #[error(transparent)]
    Core(#[from] mirlens_core::CoreError),
}

fn display_paths(p: &[PathBuf]) -> String {
    if p.is_empty() {
        return "no folders".into();
    }
    p.iter()
        .map(|x| x.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<OnnxError> for mirlens_models::ModelError {
    fn from(e: OnnxError) -> Self {
        match e {
            OnnxError::Core(c) => mirlens_models::ModelError::Core(c),
            OnnxError::InputTooShort {
                samples,
                min_samples,
                ..
            } => mirlens_models::ModelError::InputTooShort {
                samples,
                receptive_field: min_samples,
            },
            OnnxError::NonFiniteInput {
                position, value, ..
            } => mirlens_models::ModelError::NonFiniteInput {
                index: position,
                value,
            },
            other => mirlens_models::ModelError::Backend {
                backend: "onnx",
                message: other.to_string(),
            },
        }
    }
}
