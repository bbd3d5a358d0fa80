//! How a command fails, and the exit code each failure gets (the CLI contract):
//! 0 success, 1 a check failed (chain broken, replay mismatch) or the run failed,
//! 2 bad input (arguments, config, files), with a message that says what and where.

use std::fmt;

/// A command's failure.
#[derive(Debug)]
pub enum Failure {
    /// Bad input: arguments, config, a corrupt or foreign file. Exit code 2.
    BadInput(anyhow::Error),
    /// A check failed: chain broken, replay mismatch, accuracy below target. Exit code 1.
    CheckFailed(anyhow::Error),
    /// The run itself failed (I/O, a device). Exit code 1.
    Failed(anyhow::Error),
}

impl Failure {
    /// Process exit code for this failure.
    pub fn code(&self) -> u8 {
        match self {
            Failure::BadInput(_) => 2,
            Failure::CheckFailed(_) | Failure::Failed(_) => 1,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = match self {
            Failure::BadInput(e) | Failure::CheckFailed(e) | Failure::Failed(e) => e,
        };
        write!(f, "{e:#}")
    }
}

/// Result of a command.
pub type CmdResult = Result<(), Failure>;

/// Shorthands to classify errors at the point where their meaning is known.
pub trait Classify<T> {
    /// This error is the user's input.
    fn bad_input(self) -> Result<T, Failure>;
    /// This error is a failed check.
    fn check_failed(self) -> Result<T, Failure>;
    /// This error is a failed run.
    fn failed(self) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> Classify<T> for Result<T, E> {
    fn bad_input(self) -> Result<T, Failure> {
        self.map_err(|e| Failure::BadInput(e.into()))
    }
    fn check_failed(self) -> Result<T, Failure> {
        self.map_err(|e| Failure::CheckFailed(e.into()))
    }
    fn failed(self) -> Result<T, Failure> {
        self.map_err(|e| Failure::Failed(e.into()))
    }
}
