//! Training for vigil's thermal classifier — the only crate of the workspace that depends on
//! burn.
//!
//! - [`arch`]: the network plan, made only of layers the int8 engine has;
//! - [`net`]: the burn network, its forward pass (optionally fake-quantized) and the exact
//!   export to (and import from) `vigil-thermal`'s f32 model file;
//! - [`data`]: frames as input tensors, the seeded split and batches;
//! - [`train`](mod@train): the seeded training loop and quantization-aware fine-tuning;
//! - [`bench`]: host latency (int8 engine vs burn f32) and the RP2040 cycle estimate.
//!
//! The `vigil-train` binary wraps these (`train`, `qat`, `bench`); `vigil train …` runs it.

use std::path::{Path, PathBuf};

pub mod arch;
pub mod bench;
pub mod data;
pub mod net;
pub mod train;

pub use arch::{Arch, Block};
pub use net::{FakeQuant, Net};
pub use train::{qat, train, QatOptions, QatOutcome, TrainOptions, TrainOutcome};

/// Why training, fine-tuning or benchmarking could not run.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A dataset file or directory is unusable (names the file, line and column).
    #[error(transparent)]
    Dataset(#[from] vigil_thermal::DatasetError),
    /// An f32 model file is unusable (another format or version, truncated, inconsistent).
    #[error(transparent)]
    ModelFile(#[from] vigil_int8::f32model::F32ModelError),
    /// An int8 model file is unusable.
    #[error("{path}: {source}")]
    Int8File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: vigil_int8::ModelError,
    },
    /// The network plan does not fit the frames or the classes.
    #[error("{0}")]
    Arch(#[from] arch::ArchError),
    /// The f32 reference refused the model or a frame.
    #[error("{0}")]
    Reference(#[from] vigil_int8::reference::ReferenceError),
    /// Quantization failed.
    #[error("quantization: {0}")]
    Quantize(#[from] vigil_thermal::quantize::QuantizeError),
    /// The int8 engine refused the quantized model or a frame.
    #[error("int8 engine: {0}")]
    Int8(String),
    /// A bad argument (zero epochs, too few frames, …).
    #[error("{0}")]
    BadArgument(String),
    /// burn returned data in an unexpected form.
    #[error("burn: {0}")]
    Burn(String),
    /// Writing an output failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl TrainError {
    /// Whether the user's input is at fault (exit code 2) rather than the run (exit code 1).
    pub fn is_bad_input(&self) -> bool {
        match self {
            TrainError::Dataset(vigil_thermal::DatasetError::Io { .. }) => true,
            TrainError::Dataset(_)
            | TrainError::ModelFile(_)
            | TrainError::Int8File { .. }
            | TrainError::Arch(_)
            | TrainError::Reference(_)
            | TrainError::BadArgument(_) => true,
            TrainError::Quantize(_)
            | TrainError::Int8(_)
            | TrainError::Burn(_)
            | TrainError::Io { .. } => false,
        }
    }
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, then a
/// rename, so a failed run leaves nothing half-written.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), TrainError> {
    let io = |source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .ok_or_else(|| TrainError::BadArgument(format!("{}: not a file name", path.display())))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// Checks before a long run that `path` can be written later: its directory exists.
pub fn check_writable(path: &Path) -> Result<(), TrainError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(TrainError::BadArgument(format!(
            "{}: directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    if path.is_dir() {
        return Err(TrainError::BadArgument(format!(
            "{}: is a directory",
            path.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
