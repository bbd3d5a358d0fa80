//! `vigil start`: run the supervisor.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use vigil_actors::station_clock::ClockSpec;
use vigil_actors::supervisor::{self, Service, SupervisorError, SupervisorOptions};
use vigil_store::StoreOptions;

use crate::cmd::common::{load_config, DataArgs};
use crate::exit::{CmdResult, Failure};

/// Arguments of `vigil start`.
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// Config file (default: the built-in fully simulated station).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    data: DataArgs,
    /// Stop cleanly after this much real time (e.g. `30s`, `5m`, `1h30m`).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Station clock: `real`, or `sim:2026-06-01T04:00:00Z@3600x` (an hour per second).
    #[arg(long, default_value = "real")]
    clock: ClockSpec,
}

/// Parse `90s`, `5m`, `1h30m`, `250ms`, `2d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("`{s}` is not a duration (examples: 30s, 5m, 1h30m, 250ms)");
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if digits == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(86_400)),
            _ => return Err(bad()),
        };
        total = total.saturating_add(unit);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

/// Run `vigil start`.
pub fn run(args: StartArgs) -> CmdResult {
    let loaded = load_config(args.config.as_deref())?;
    let data_dir = args
        .data
        .data
        .clone()
        .unwrap_or_else(|| loaded.config.station.data_dir.clone());
    let store = StoreOptions {
        key_file: loaded.config.store.key_file.clone(),
        encryption_key_file: loaded.config.store.encryption_key_file.clone(),
        ..StoreOptions::default()
    };
    let mut services: Vec<Service> = Vec::new();
    if loaded.config.api.enabled {
        let listen = loaded.config.api.listen;
        services.push(Box::new(move |running| {
            // A station keeps running without its API (e.g. the port is taken): say so loudly.
            match crate::api::serve(listen, running) {
                Ok(guard) => Ok(Box::new(guard) as Box<dyn std::any::Any>),
                Err(e) => {
                    tracing::error!(error = %e, "local API not served; stop the supervisor to query the log");
                    Ok(Box::new(()))
                }
            }
        }));
    }
    // Last, so READY=1 means the journal, the actors and the API are all up.
    services.push(crate::systemd::service());
    let opts = SupervisorOptions {
        config: loaded.config,
        config_text: loaded.text,
        config_path: loaded.path,
        data_dir: data_dir.clone(),
        clock: args.clock,
        duration: args.duration,
        store,
        services,
    };
    match supervisor::run(opts) {
        Ok(report) => {
            eprintln!(
                "vigil: stopped ({}), log durable up to seq {} in {}",
                report.reason,
                report.last_seq,
                data_dir.display()
            );
            Ok(())
        }
        // Locked by another supervisor, not writable, foreign or corrupt: all the user's to fix.
        Err(SupervisorError::Store(e)) => Err(Failure::BadInput(
            anyhow!(e).context(format!("cannot open the log in {}", data_dir.display())),
        )),
        Err(e) => Err(Failure::Failed(anyhow!(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_refuse() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["", "5", "m5", "5 minutes", "1.5s", "-3s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
