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
        f.write_str(&render_chain(e))
    }
}

/// An error and its causes as one line, `outer: cause: root`. Many errors already show their
/// cause in their own message (`#[error("{path}: {source}")]` with `source` also returned by
/// `Error::source`); printing the chain as-is then says the OS error twice
/// (`… (os error 2): No such file or directory (os error 2)`). A cause whose text the line
/// already holds is left out.
pub fn render_chain(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.ends_with(&text) || (text.len() >= 12 && line.contains(&text)) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{path}: {source}")]
    struct Shown {
        path: String,
        source: std::io::Error,
    }

    #[test]
    fn an_os_error_shown_by_its_wrapper_is_printed_once() {
        let io = std::io::Error::from_raw_os_error(2);
        let e = anyhow::Error::new(Shown {
            path: "/nope/x.csv".into(),
            source: io,
        })
        .context("cannot read the frame");
        assert_eq!(
            Failure::BadInput(e).to_string(),
            "cannot read the frame: /nope/x.csv: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn causes_not_shown_by_their_wrapper_are_kept() {
        let e = anyhow::anyhow!("disk gone").context("writing the video");
        assert_eq!(render_chain(&e), "writing the video: disk gone");
    }
}
