//! The link (its core under the one shell, its port performer) over a real pseudo-terminal with the Pico simulator on the other end:
//! frames arrive as events exactly once, acks reach the board after commit, and pulling the
//! cable (the pty hung up, its path gone) and plugging it back records LinkDown then LinkUp.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use vigil_actors::journal::{Flush, GroupCommit, Journal, Subscribe};
use vigil_actors::link::{LinkCore, LinkPort, LinkSpec, LinkTiming, SerialPath};
use vigil_actors::shell::Stop;
use vigil_actors::station_clock::StationClock;
use vigil_actors::testing::Collector;
use vigil_events::{ClassPolicy, Envelope, Event, EventKind, Source};
use vigil_sim::{model, PicoSim, PicoSimConfig, PtyPair, WallClock};
use vigil_store::{Store, StoreOptions};
use vigil_wire::{BoardRole, Message, PicoConfig};

type Log = Arc<Mutex<Vec<Arc<Envelope>>>>;

fn count(log: &Log, f: impl Fn(&Envelope) -> bool) -> usize {
    log.lock()
        .map(|v| v.iter().filter(|e| f(e)).count())
        .unwrap_or(0)
}

async fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn relink(link: &std::path::Path, target: &std::path::Path) {
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(target, link).expect("symlink");
}

#[test]
fn frames_arrive_once_acks_after_commit_and_replug_is_visible() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store =
        Arc::new(Store::open(&tmp.path().join("data"), StoreOptions::default()).expect("store"));
    let port = tmp.path().join("ttyPICO");
    let model = model::handmade().expect("model");
    System::new().block_on(async move {
        let journal = Journal::new(store, ClassPolicy::default(), GroupCommit::default()).start();
        let log: Log = Arc::default();
        let collector = Collector(log.clone()).start();
        journal.do_send(Subscribe {
            kinds: None,
            to: collector.recipient(),
        });

        let pair = PtyPair::open().expect("pty");
        relink(&port, pair.path());
        let (master, keep) = pair.into_parts();
        let sim = PicoSim::new(
            PicoSimConfig {
                refresh_hz: 16,
                max_real_fps: 40.0,
                ..PicoSimConfig::default()
            },
            model,
            Arc::new(WallClock),
        )
        .expect("sim")
        .spawn(master, Some(keep))
        .expect("spawn");

        let core = LinkCore::new(LinkSpec {
            board: Source::Pico,
            owner: Source::Classifier,
            role: BoardRole::Thermal,
            port: port.display().to_string(),
            pi_boot: 1,
            on_link_up: vec![Message::PicoConfig(PicoConfig::default())],
        });
        let timing = LinkTiming {
            heartbeat: Some(Duration::from_millis(200)),
            stats_every: Duration::from_millis(500),
            stats_min_real: Duration::from_millis(300),
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(400),
        };
        let opener = SerialPath {
            path: port.display().to_string(),
            baud: 115_200,
            exclusive: false,
        };
        let link = LinkPort::new(core, Box::new(opener), timing)
            .spawn(journal.clone(), StationClock::Real);

        let frames = |log: &Log| {
            count(log, |e| {
                e.kind == EventKind::ThermalFrame && e.source == Source::Pico
            })
        };
        wait_for("frames", Duration::from_secs(20), || frames(&log) >= 6).await;
        assert_eq!(count(&log, |e| e.kind == EventKind::LinkUp), 1);
        wait_for("acks at the board", Duration::from_secs(10), || {
            sim.stats().last_ack_seq.is_some()
        })
        .await;
        wait_for("config applied", Duration::from_secs(10), || {
            sim.stats().configs + sim.stats().rx_packets > 0
        })
        .await;

        // Pull the cable: the pty hangs up and its path is gone.
        sim.unplug();
        let _ = std::fs::remove_file(&port);
        wait_for("LinkDown", Duration::from_secs(10), || {
            count(&log, |e| e.kind == EventKind::LinkDown) >= 1
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = frames(&log);

        // Plug it back (a new pty, the same path).
        let pair = PtyPair::open().expect("pty");
        relink(&port, pair.path());
        let (master, keep) = pair.into_parts();
        sim.plug(master, Some(keep));
        wait_for("LinkUp again", Duration::from_secs(10), || {
            count(&log, |e| e.kind == EventKind::LinkUp) >= 2
        })
        .await;
        wait_for("frames again", Duration::from_secs(10), || {
            frames(&log) >= before + 4
        })
        .await;

        let _ = link.send(Stop).await;
        let _ = journal.send(Flush).await;
        sim.stop();

        let log = log.lock().expect("log").clone();
        // The gap is in the log: LinkDown, then LinkUp, in seq order.
        let down = log
            .iter()
            .find(|e| e.kind == EventKind::LinkDown)
            .map(|e| e.seq);
        let up2 = log
            .iter()
            .filter(|e| e.kind == EventKind::LinkUp)
            .nth(1)
            .map(|e| e.seq);
        assert!(down < up2, "{down:?} {up2:?}");
        if let Some(Event::LinkDown(d)) = log
            .iter()
            .find(|e| e.kind == EventKind::LinkDown)
            .map(|e| &e.payload)
        {
            assert!(d.retry_in_ms > 0);
        }
        // Every board event exactly once, with its origin.
        let mut origins: Vec<_> = log
            .iter()
            .filter(|e| e.source == Source::Pico)
            .map(|e| e.origin.expect("origin"))
            .collect();
        let n = origins.len();
        origins.sort();
        origins.dedup_by_key(|o| (o.device, o.boot, o.seq));
        assert_eq!(origins.len(), n, "a board event was appended twice");
        let stats: Vec<_> = log
            .iter()
            .filter_map(|e| match &e.payload {
                Event::LinkStats(s) => Some(s.clone()),
                _ => None,
            })
            .collect();
        let last = stats.last().expect("LinkStats recorded");
        assert_eq!(last.reconnects, 1);
        assert!(last.frames >= 10);
    });
}
