//! The supervisor: opens the log, starts the journal and every configured actor, records the
//! start (after an `UncleanStopDetected` when the previous run ended without
//! `SupervisorStopped`), and stops everything cleanly (release hardware, final flush, `SupervisorStopped`) on
//! SIGINT, SIGTERM, the end of `--for`, or a journal failure.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use vigil_config::Config;
use vigil_events::kinds::{
    ConfigLoaded, SupervisorStarted, SupervisorStopped, TimeSourceRecorded, UncleanStopDetected,
};
use vigil_events::{EventKind, NewEvent, Source, UtcMicros};
use vigil_store::{Query, Store, StoreError};

use crate::journal::{Append, Flush, GroupCommit, Journal};
use crate::shell::Stop;
use crate::station::{spawn_actors, StationError};
use crate::station_clock::ClockSpec;

/// What a service started alongside the actors gets: the open log, the journal to append
/// through, and station time.
#[derive(Debug, Clone)]
pub struct Running {
    /// The open log (reads may run beside the journal's appends).
    pub store: Arc<Store>,
    /// The journal: append through it, never to the store directly.
    pub journal: Addr<Journal>,
    /// Station time.
    pub clock: crate::station_clock::StationClock,
}

/// A service started once the log is open (e.g. the local HTTP API). It returns a guard
/// that the supervisor drops when the station stops; an error stops the start.
pub type Service = Box<dyn FnOnce(&Running) -> Result<Box<dyn std::any::Any>, String> + Send>;

/// What the supervisor needs to run.
pub struct SupervisorOptions {
    /// The validated config.
    pub config: Config,
    /// Its text, recorded in `ConfigLoaded` so replay needs only the log.
    pub config_text: String,
    /// Where it came from (`builtin:default` when none was given).
    pub config_path: String,
    /// The data directory holding the log.
    pub data_dir: PathBuf,
    /// Station clock.
    pub clock: ClockSpec,
    /// Stop after this much real time.
    pub duration: Option<Duration>,
    /// Store options (key file).
    pub store: vigil_store::StoreOptions,
    /// Services to run beside the actors.
    pub services: Vec<Service>,
}

impl std::fmt::Debug for SupervisorOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SupervisorOptions")
            .field("config_path", &self.config_path)
            .field("data_dir", &self.data_dir)
            .field("clock", &self.clock)
            .field("duration", &self.duration)
            .field("services", &self.services.len())
            .finish_non_exhaustive()
    }
}

/// Why the supervisor could not run.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    /// The store could not be opened (locked by another process, not writable, corrupt).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An actor's hardware or config section cannot be used.
    #[error(transparent)]
    Station(#[from] StationError),
    /// A service (the local API) could not start, e.g. its address is taken.
    #[error("{0}")]
    Service(String),
    /// The actix runtime failed.
    #[error("runtime: {0}")]
    Runtime(String),
    /// Events could not be made durable; the supervisor stopped.
    #[error("journal failed: {0}")]
    Journal(String),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopReport {
    /// Why it stopped.
    pub reason: String,
    /// Last durable seq.
    pub last_seq: u64,
}

enum StopCause {
    ServiceFailed(String),
    Duration,
    Signal(&'static str),
    JournalFailed(String),
}

/// Where the event log lives inside a station's data directory. The data directory also
/// holds `frames/` and `videos/`; the log keeps a directory of its own.
pub fn log_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("log")
}

/// How the previous run ended, if not cleanly: the log's last `SupervisorStarted` has no
/// `SupervisorStopped` after it (the process was killed, crashed or lost power). Events that
/// tools append while no supervisor runs (`vigil load`) do not count as a run. `now` is this
/// start's station time.
pub fn unclean_stop(
    store: &Store,
    now: UtcMicros,
) -> Result<Option<UncleanStopDetected>, StoreError> {
    let last_of = |kind| {
        store
            .query(&Query {
                kind: Some(kind),
                backward: true,
                limit: 1,
                ..Query::default()
            })
            .map(|page| page.items.first().map(|e| e.seq))
    };
    let started = last_of(EventKind::SupervisorStarted)?;
    let stopped = last_of(EventKind::SupervisorStopped)?;
    if started.is_none() || stopped > started {
        return Ok(None);
    }
    let Some(last) = store.get(store.last_seq())? else {
        return Ok(None);
    };
    Ok(Some(UncleanStopDetected {
        last_seq: last.seq,
        last_kind: last.kind.name().to_string(),
        last_ts: last.ts,
        since_us: now.saturating_sub(last.ts),
        reapplied: store.reapplied_at_open(),
    }))
}

/// Run the station until stopped. Blocks the calling thread.
pub fn run(opts: SupervisorOptions) -> Result<StopReport, SupervisorError> {
    let system = System::new();
    let result = system.block_on(supervise(opts));
    System::current().stop();
    result
}

async fn supervise(opts: SupervisorOptions) -> Result<StopReport, SupervisorError> {
    // Signals are caught before the store is locked, so a SIGTERM at any moment after that
    // still stops cleanly.
    let mut signals = Signals::install();
    let store = Arc::new(Store::open(&log_dir(&opts.data_dir), opts.store.clone())?);
    let clock = opts.clock.start();
    let started_at = clock.now();
    let (fail_tx, mut fail_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let group = GroupCommit {
        max_batch: usize::try_from(opts.config.store.max_batch).unwrap_or(usize::MAX),
        max_delay: opts.config.store.max_delay,
    };
    let journal = Journal::new(store.clone(), opts.config.class_policy(), group)
        .on_failure(move |why| {
            let _ = fail_tx.send(why);
        })
        .start();

    // Actors subscribe before the first event is appended, so none misses the start.
    let stoppers = spawn_actors(&opts.config, &opts.data_dir, &journal, clock)?;

    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let now = clock.now();
    let (time_source, detail) = match opts.clock {
        ClockSpec::Real => ("system", "system wall clock".to_string()),
        ClockSpec::Sim { .. } => ("sim", opts.clock.to_string()),
    };
    let mut start_events = Vec::new();
    if let Some(unclean) = unclean_stop(&store, now)? {
        tracing::warn!(
            last_seq = unclean.last_seq,
            last_kind = %unclean.last_kind,
            reapplied = unclean.reapplied,
            "the previous run ended without SupervisorStopped (killed, crashed or power lost)"
        );
        start_events.push(NewEvent::new(now, Source::Ops, unclean));
    }
    start_events.extend([
        NewEvent::new(
            now,
            Source::Ops,
            SupervisorStarted {
                version: env!("CARGO_PKG_VERSION").to_string(),
                clock: opts.clock.to_string(),
                pid: std::process::id(),
                host,
            },
        ),
        NewEvent::new(
            now,
            Source::Ops,
            ConfigLoaded {
                path: opts.config_path.clone(),
                hash: blake3::hash(opts.config_text.as_bytes())
                    .to_hex()
                    .to_string(),
                text: opts.config_text.clone(),
            },
        ),
        NewEvent::new(
            now,
            Source::Clock,
            TimeSourceRecorded {
                source: time_source.to_string(),
                detail,
            },
        ),
    ]);
    // Services (the API) start once the start is durable, so the first thing a client can see
    // is a recorded start. A failed append also reaches `fail_rx` and stops the station.
    match journal.send(Append(start_events)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(error = %e, "the start was not recorded"),
        Err(e) => return Err(SupervisorError::Runtime(e.to_string())),
    }
    let running = Running {
        store: store.clone(),
        journal: journal.clone(),
        clock,
    };
    let mut guards = Vec::new();
    let mut service_error = None;
    for start in opts.services {
        match start(&running) {
            Ok(g) => guards.push(g),
            Err(e) => {
                service_error = Some(e);
                break;
            }
        }
    }
    tracing::info!(data = %opts.data_dir.display(), clock = %opts.clock, "supervisor started");

    let cause = match service_error {
        Some(e) => StopCause::ServiceFailed(e),
        None => wait_for_stop(opts.duration, &mut signals, &mut fail_rx).await,
    };
    drop(guards);
    let reason = match &cause {
        StopCause::Duration => "duration elapsed".to_string(),
        StopCause::Signal(s) => format!("signal {s}"),
        StopCause::JournalFailed(why) => format!("journal failed: {why}"),
        StopCause::ServiceFailed(why) => format!("service failed to start: {why}"),
    };
    tracing::info!(%reason, "stopping");
    // The stop instant is taken before the actors stop: each takes its deadlines due by then.
    let end = clock.now();
    for s in &stoppers {
        let _ = s.send(Stop).await;
    }
    journal.do_send(Append(vec![NewEvent::new(
        end,
        Source::Ops,
        SupervisorStopped {
            reason: reason.clone(),
            uptime_s: u64::try_from((end - started_at) / 1_000_000).unwrap_or(0),
        },
    )]));
    let flushed = journal
        .send(Flush)
        .await
        .map_err(|e| SupervisorError::Runtime(e.to_string()))?;
    match cause {
        StopCause::JournalFailed(why) => return Err(SupervisorError::Journal(why)),
        StopCause::ServiceFailed(why) => return Err(SupervisorError::Service(why)),
        _ => {}
    }
    let last_seq = flushed.map_err(|e| SupervisorError::Journal(e.to_string()))?;
    tracing::info!(last_seq, "stopped cleanly");
    Ok(StopReport { reason, last_seq })
}

struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn install() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            int: signal(SignalKind::interrupt()).ok(),
            term: signal(SignalKind::terminate()).ok(),
        }
    }
}

async fn next_signal(s: &mut Option<tokio::signal::unix::Signal>) {
    match s.as_mut() {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

async fn wait_for_stop(
    duration: Option<Duration>,
    signals: &mut Signals,
    failures: &mut tokio::sync::mpsc::UnboundedReceiver<String>,
) -> StopCause {
    let sleep = async {
        match duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = sleep => StopCause::Duration,
        _ = next_signal(&mut signals.int) => StopCause::Signal("SIGINT"),
        _ = next_signal(&mut signals.term) => StopCause::Signal("SIGTERM"),
        Some(why) = failures.recv() => StopCause::JournalFailed(why),
    }
}
