//! tracing-subscriber set-up: human format on a terminal, JSON on request; filter from `--log`
//! or `RUST_LOG` (default `info`). Logs go to stderr so stdout stays for data.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human, coloured when stderr is a terminal.
    Auto,
    /// Human, no colour.
    Human,
    /// One JSON object per line.
    Json,
}

/// Install the global subscriber.
pub fn init(filter: Option<&str>, format: LogFormat) {
    let filter = match filter {
        Some(f) => EnvFilter::try_new(f).unwrap_or_else(|e| {
            eprintln!("vigil: ignoring bad --log filter `{f}`: {e}");
            EnvFilter::new("info")
        }),
        // sled logs its I/O errors in Rust's debug format; the store reports each of them as
        // its own error (what, where, what to do), so sled stays quiet unless asked for.
        None => {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sled=off"))
        }
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Human => builder.with_ansi(false).init(),
        LogFormat::Auto => builder.with_ansi(std::io::stderr().is_terminal()).init(),
    }
}
