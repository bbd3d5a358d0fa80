//! End to end over a pseudo-terminal: `spawn_thermal` with `[pico] port = "sim"` runs the Pico
//! simulator (the real Pico core) and the classifier; the person walking through is detected,
//! the empty room is not, and the Pi records that it agrees with the Pico frame by frame.
//!
//! The model is the stand-in of vigil-sim (a weak classifier), so the threshold is set to
//! 0.60; the scene seed is the simulator's default (1).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use vigil_actors::classifier::spawn_thermal;
use vigil_actors::journal::{Append, Flush};
use vigil_actors::shell::Stop;
use vigil_actors::station_clock::StationClock;
use vigil_actors::testing::{collecting_journal, session_start, Collector};
use vigil_config::Config;
use vigil_events::{Event, Source};
use vigil_sim::model;
use vigil_store::{Store, StoreOptions};

const CONFIG: &str = "[pico]\nport = \"sim\"\nrefresh_hz = 16\n\n[classifier]\nthreshold = 0.60\nhysteresis_frames = 3\n";

#[test]
fn person_walk_is_detected_empty_room_is_not_and_agreement_is_recorded() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store =
        Arc::new(Store::open(&tmp.path().join("data"), StoreOptions::default()).expect("store"));
    let cfg = Config::parse(CONFIG, "test.toml").expect("config");
    let model = model::handmade().expect("model");
    let log = Collector::default();
    let seen = log.clone();
    System::new().block_on(async move {
        let journal = collecting_journal(store, &seen);
        let clock = StationClock::Real;
        let stoppers = spawn_thermal(&cfg, &model, &journal, clock).expect("spawn");
        journal.do_send(Append(session_start(clock.now(), "real", CONFIG)));
        let t0 = Instant::now();
        loop {
            let compared = seen
                .0
                .lock()
                .map(|v| {
                    v.iter()
                        .filter(
                            |e| matches!(&e.payload, Event::DetectionCompared(c) if c.frame >= 62),
                        )
                        .count()
                })
                .unwrap_or(0);
            if compared > 0 {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "no comparison of frame 62 in time"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for s in &stoppers {
            let _ = s.send(Stop).await;
        }
        let _ = journal.send(Flush).await;
    });

    let log = log.0.lock().expect("log").clone();
    let mut pico = BTreeMap::new();
    let mut host = BTreeMap::new();
    let mut compared = BTreeMap::new();
    for e in &log {
        match (&e.payload, e.source) {
            (Event::Detection(d), Source::Pico) => {
                assert_eq!(d.engine, "pico-int8");
                assert!(e.origin.is_some());
                pico.insert(d.frame, d.clone());
            }
            (Event::Detection(d), Source::Classifier) => {
                assert_eq!(d.engine, "host-int8");
                host.insert(d.frame, d.clone());
            }
            (Event::DetectionCompared(c), Source::Classifier) => {
                compared.insert(c.frame, c.clone());
            }
            _ => {}
        }
    }
    // Frames 1–30 show the person walking through, 31–46 the empty room (scene cycle).
    let present = |r: std::ops::RangeInclusive<u32>| {
        r.filter(|f| pico.get(f).is_some_and(|d| d.person_present))
            .count()
    };
    assert!(present(1..=30) >= 5, "the walker is detected: {pico:?}");
    // With 3-frame hysteresis a person seen on frame 30 may stay present for two more frames.
    assert_eq!(
        present(33..=46),
        0,
        "nobody in the empty room once the hysteresis has cleared"
    );
    // The Pi classifies every frame bit-identically and records agreement.
    for (f, d) in &host {
        if let Some(p) = pico.get(f) {
            assert_eq!(
                (p.class, p.confidence_permille),
                (d.class, d.confidence_permille),
                "frame {f}"
            );
        }
    }
    assert!(compared.len() >= 50, "{} comparisons", compared.len());
    assert!(compared.values().all(|c| c.agree));
    assert!(
        compared
            .range(10..)
            .all(|(_, c)| c.pico_present == c.host_present),
        "{compared:?}"
    );
    assert!(log
        .iter()
        .any(|e| matches!(&e.payload, Event::LinkUp(u) if u.port.starts_with("sim:"))));
}
