//! Progress of the long commands (`load`, `export`, `import`, `verify`, `replay`,
//! `timelapse`, `dataset synth`), drawn on stderr and only when stderr is a terminal: piped
//! or redirected, a command writes exactly what it wrote before, so scripts never read bar
//! garbage. stdout is never touched.
//!
//! Use [`Progress::bar`] when the amount of work is known and the command does it step by
//! step, [`Progress::bytes`] around a reader of a file of known size, and
//! [`Progress::spinner`] around one blocking call (it ticks on its own thread). Dropping a
//! progress clears it, so the command's own summary line is what stays on screen.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a spinner redraws while a blocking call runs.
const TICK: Duration = Duration::from_millis(120);

/// A progress indicator on stderr (hidden when stderr is not a terminal).
#[derive(Debug)]
pub struct Progress {
    bar: ProgressBar,
}

/// Whether progress is drawn: stderr is a terminal.
pub fn drawn() -> bool {
    std::io::stderr().is_terminal()
}

fn target() -> ProgressDrawTarget {
    if drawn() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    }
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this module; a bad one falls back to the default look.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

impl Progress {
    /// A bar of `len` steps labelled `what` (e.g. `"appending events"`).
    pub fn bar(what: &str, len: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(len), target()).with_style(style(
            "{msg} [{bar:32}] {human_pos}/{human_len} ({per_sec}, {eta} left)",
        ));
        bar.set_message(what.to_string());
        Progress { bar }
    }

    /// A bar over `len` bytes (e.g. the file an import reads).
    pub fn bytes(what: &str, len: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(len), target()).with_style(style(
            "{msg} [{bar:32}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        ));
        bar.set_message(what.to_string());
        Progress { bar }
    }

    /// A spinner with `what` and the elapsed time, ticking by itself until dropped; for one
    /// blocking call whose steps the command cannot see.
    pub fn spinner(what: &str) -> Self {
        let bar = ProgressBar::with_draw_target(None, target())
            .with_style(style("{spinner} {msg} ({elapsed})"));
        bar.set_message(what.to_string());
        if drawn() {
            bar.enable_steady_tick(TICK);
        }
        Progress { bar }
    }

    /// Move to step `pos`.
    pub fn set(&self, pos: u64) {
        self.bar.set_position(pos);
    }

    /// Advance by `n` steps.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Change the label.
    pub fn say(&self, what: &str) {
        self.bar.set_message(what.to_string());
    }

    /// Wrap a reader so that reading advances the bar (with [`Progress::bytes`]).
    pub fn wrap_read<R: std::io::Read>(&self, r: R) -> indicatif::ProgressBarIter<R> {
        self.bar.wrap_read(r)
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
