//! The link as a core under the one shell: it primes its duplicate filter from a journal query
//! (never reading the store itself), acks only committed board events, and has no decisions
//! for replay to check.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix::prelude::*;
use vigil_actors::core::{Core, Intent, Performer};
use vigil_actors::journal::{Append, GroupCommit, Journal};
use vigil_actors::link::{Link, LinkCommand, LinkSpec, DEDUP_PRIMING};
use vigil_actors::shell::{Shell, Stop};
use vigil_actors::station_clock::StationClock;
use vigil_events::kinds::{LinkUp, ThermalFrame};
use vigil_events::{BoardOrigin, ClassPolicy, Envelope, NewEvent, Source};
use vigil_store::{Store, StoreOptions};
use vigil_wire::BoardRole;

fn pico_link() -> Link {
    Link::new(&LinkSpec {
        board: Source::Pico,
        owner: Source::Classifier,
        role: BoardRole::Thermal,
        port: "sim:/dev/pts/9".into(),
        pi_boot: 1,
        on_link_up: Vec::new(),
    })
}

fn origin(seq: u32) -> BoardOrigin {
    BoardOrigin {
        device: 7,
        boot: 2,
        seq,
        device_ts: 1_000 + i64::from(seq),
    }
}

fn frame(seq: u32) -> NewEvent {
    NewEvent::new(
        1_000 + i64::from(seq),
        Source::Pico,
        ThermalFrame {
            frame: seq,
            centi_c: vec![2_000; 768],
        },
    )
    .with_origin(origin(seq))
}

fn committed(seq: u64, ev: NewEvent) -> Envelope {
    Envelope::unchained(seq, vigil_events::DataClass::General, ev)
}

#[test]
fn a_committed_board_event_becomes_an_ack_command_and_nothing_else_does() {
    let mut link = pico_link();
    assert_eq!(
        link.on_event(&committed(5, frame(3))),
        vec![Intent::Do(LinkCommand::Durable(origin(3)))]
    );
    let up = NewEvent::new(
        1_000,
        Source::Classifier,
        LinkUp {
            port: "p".into(),
            device: 7,
            boot: 2,
            protocol: 1,
        },
    );
    assert!(link.on_event(&committed(6, up)).is_empty());
    assert!(
        link.decisions().is_empty(),
        "the link records observations only"
    );
    assert_eq!(link.next_deadline(), None);
}

#[test]
fn the_link_asks_for_its_board_history_and_starts_from_it() {
    let mut link = pico_link();
    let q = link.history().expect("the link needs history");
    assert_eq!(q.source, Some(Source::Pico));
    assert!(q.backward);
    assert_eq!(q.limit, DEDUP_PRIMING);
    let history = vec![committed(9, frame(4)), committed(8, frame(3))];
    assert_eq!(
        link.on_history(history),
        vec![Intent::Do(LinkCommand::Start(vec![origin(4), origin(3)]))]
    );
}

/// Records what the link core asks of its port.
struct Recorder(Arc<Mutex<Vec<LinkCommand>>>);

impl Performer for Recorder {
    type Command = LinkCommand;
    fn perform(&mut self, cmd: LinkCommand, _now: i64) -> Vec<NewEvent> {
        if let Ok(mut v) = self.0.lock() {
            v.push(cmd);
        }
        Vec::new()
    }
}

#[test]
fn the_shell_primes_the_link_from_the_journal_before_the_port_opens() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store =
        Arc::new(Store::open(&tmp.path().join("data"), StoreOptions::default()).expect("store"));
    // A previous run left three board events in the log.
    store
        .append(&[frame(1), frame(2), frame(3)], &ClassPolicy::default())
        .expect("append");
    let seen: Arc<Mutex<Vec<LinkCommand>>> = Arc::default();
    System::new().block_on({
        let seen = seen.clone();
        async move {
            let journal =
                Journal::new(store, ClassPolicy::default(), GroupCommit::default()).start();
            let link = Shell::new(
                pico_link(),
                Recorder(seen.clone()),
                journal.clone(),
                StationClock::Real,
            )
            .spawn();
            let t0 = Instant::now();
            while seen.lock().map(|v| v.is_empty()).unwrap_or(true) {
                assert!(t0.elapsed() < Duration::from_secs(10), "no Start");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // A new board event committed now is handed over as durable.
            journal.do_send(Append(vec![frame(4)]));
            while seen.lock().map(|v| v.len() < 2).unwrap_or(true) {
                assert!(t0.elapsed() < Duration::from_secs(10), "no Durable");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            let _ = link.send(Stop).await;
        }
    });
    let seen = seen.lock().expect("seen").clone();
    assert_eq!(
        seen,
        vec![
            LinkCommand::Start(vec![origin(3), origin(2), origin(1)]),
            LinkCommand::Durable(origin(4)),
        ]
    );
}
