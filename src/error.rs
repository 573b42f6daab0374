//! The crate's one error type. Every message carries the offending value and, for invalid
//! input, the field and the valid range.

use std::path::PathBuf;

/// Everything that can go wrong in optsde.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The experiment file is not valid TOML / JSON (the message carries line and column).
    #[error("{path}: syntax error: {message}")]
    Syntax { path: String, message: String },
    /// A key the experiment format does not know.
    #[error("{path}: unknown key `{key}`; valid keys here: {valid}")]
    UnknownKey { path: String, key: String, valid: String },
    /// A required key (or table) of the experiment format is absent.
    #[error("{path}: missing required key `{key}` ({expected})")]
    Missing { path: String, key: String, expected: String },
    /// A model/objective/noise/backend name that does not exist.
    #[error("{field} = \"{value}\" is not known; valid: {valid}")]
    UnknownName { field: String, value: String, valid: String },
    /// A field whose value is outside its valid range.
    #[error("{field} = {value} is invalid: {expected}")]
    Invalid { field: String, value: String, expected: String },
    /// `backend = "gpu"` but no adapter exists.
    #[error(
        "backend = \"gpu\" but no GPU adapter was found ({detail}); use backend = \"cpu\" or \"auto\", or install a Vulkan/Metal/DX12 driver (on Linux without a GPU: mesa-vulkan-drivers)"
    )]
    NoAdapter { detail: String },
    /// A failure inside the GPU backend (device lost, validation error, ...).
    #[error("GPU backend: {0}")]
    Gpu(String),
    /// One grid point of a sweep failed validation.
    #[error("sweep point ({point}): {source}")]
    SweepPoint {
        point: String,
        #[source]
        source: Box<Error>,
    },
    /// A stop was asked for (SIGINT, SIGTERM) and a last snapshot written.
    #[error("interrupted at step {step} ({paths} paths had reached it); the outputs hold the snapshot taken then")]
    Interrupted { step: u64, paths: u64 },
    /// [`Error::Interrupted`], with the folder that holds the snapshot.
    #[error(
        "stopped by a signal at step {step} ({paths} paths had reached it); {dir} holds the consistent snapshot taken then (\"complete\": false in summary.json)"
    )]
    Stopped { step: u64, paths: u64, dir: PathBuf },
    /// An output folder whose files are not one whole snapshot.
    #[error("{dir} does not hold one consistent set of outputs: {reason}")]
    MixedOutputs { dir: PathBuf, reason: String },
    /// An output folder that holds another experiment's files.
    #[error("{dir}: {reason}")]
    OutputInUse { dir: PathBuf, reason: String },
    /// Every path of a run (or of a sweep point) diverged: the outputs are written, but hold no
    /// estimate.
    #[error("{0}")]
    AllDiverged(String),
    /// A run whose estimated memory, output or time exceeds this machine's ([`crate::guard`]).
    #[error("refusing to start: {excess} (estimate: {estimate}); --force to run anyway")]
    Resources { excess: String, estimate: String },
    /// An example name that is not built in.
    #[error("no built-in example named \"{name}\"; available: {available}")]
    UnknownExample { name: String, available: String },
}

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, value: impl ToString, expected: impl Into<String>) -> Self {
        Error::Invalid { field: field.into(), value: value.to_string(), expected: expected.into() }
    }
}
