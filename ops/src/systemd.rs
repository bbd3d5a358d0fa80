//! `vigil start` under systemd (`ops/systemd/vigil.service`, `Type=notify`): readiness,
//! watchdog and stopping notifications through `NOTIFY_SOCKET` (the `sd-notify` crate).
//!
//! - `READY=1` once the start is durable and the journal, every actor and the API run (this
//!   service starts after them).
//! - `WATCHDOG=1` every half of `WATCHDOG_USEC`, but only after the journal has answered a
//!   flush in that time: a writer thread that has failed or hangs in fsync stops the pings,
//!   and systemd restarts the supervisor (`Restart=on-failure`).
//! - `STOPPING=1` when the stop begins (the service's guard is dropped first).
//!
//! Without `NOTIFY_SOCKET` (run by hand, in tests) every call is a no-op.

use std::time::Duration;

use sd_notify::NotifyState;
use vigil_actors::journal::Flush;
use vigil_actors::supervisor::{Running, Service};

/// The watchdog interval systemd asks for: `WATCHDOG_USEC`, honoured when `WATCHDOG_PID` is
/// unset or names this process (as `sd_watchdog_enabled(3)` does). `None` when there is no
/// watchdog.
pub fn watchdog_interval(usec: Option<&str>, pid: Option<&str>) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|u| *u > 0)?;
    match pid {
        Some(p) if p.trim().parse::<u32>().ok() != Some(std::process::id()) => None,
        _ => Some(Duration::from_micros(usec)),
    }
}

fn notify(states: &[NotifyState<'_>]) {
    // A lost notification is systemd's to notice (a start timeout, a watchdog kill); the
    // station keeps running either way.
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!(error = %e, "cannot notify systemd (NOTIFY_SOCKET)");
    }
}

/// Sends `STOPPING=1` and ends the watchdog pings when the supervisor drops it.
#[derive(Debug)]
struct Notifier {
    pings: Option<actix_web::rt::task::JoinHandle<()>>,
}

impl Drop for Notifier {
    fn drop(&mut self) {
        if let Some(task) = self.pings.take() {
            task.abort();
        }
        notify(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
    }
}

/// The service that tells systemd how the supervisor is doing. Start it last, after the API.
pub fn service() -> Service {
    Box::new(|running: &Running| {
        let interval = watchdog_interval(
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
        );
        notify(&[
            NotifyState::Ready,
            NotifyState::Status("running: journal and actors up"),
        ]);
        let pings = interval.map(|every| {
            let journal = running.journal.clone();
            let half = every / 2;
            actix_web::rt::spawn(async move {
                loop {
                    actix_web::rt::time::sleep(half).await;
                    // Healthy = the writer thread answered a flush within the half interval.
                    let answer = actix_web::rt::time::timeout(half, journal.send(Flush)).await;
                    match answer {
                        Ok(Ok(Ok(_))) => notify(&[NotifyState::Watchdog]),
                        Ok(Ok(Err(e))) => {
                            tracing::error!(error = %e, "journal unhealthy: no watchdog ping")
                        }
                        Ok(Err(e)) => {
                            tracing::error!(error = %e, "journal gone: no watchdog ping")
                        }
                        Err(_) => tracing::error!(
                            waited_ms = half.as_millis() as u64,
                            "journal did not answer a flush: no watchdog ping"
                        ),
                    }
                }
            })
        });
        Ok(Box::new(Notifier { pings }) as Box<dyn std::any::Any>)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_interval_follows_sd_watchdog_enabled() {
        let me = std::process::id().to_string();
        assert_eq!(
            watchdog_interval(Some("30000000"), None),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            watchdog_interval(Some("500000"), Some(&me)),
            Some(Duration::from_millis(500))
        );
        assert_eq!(watchdog_interval(Some("500000"), Some("1")), None);
        assert_eq!(watchdog_interval(None, None), None);
        assert_eq!(watchdog_interval(Some("0"), None), None);
        assert_eq!(watchdog_interval(Some("soon"), None), None);
    }
}
