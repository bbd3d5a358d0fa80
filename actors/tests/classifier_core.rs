//! Given/when/then tests of the classifier core: given the recorded config, when frames and
//! detections are committed, then these commands and comparisons.

use vigil_actors::classifier::core::configured;
use vigil_actors::classifier::{ClassifierCommand, ClassifierCore, ClassifierRule};
use vigil_actors::replay::{Replay, ReplayCore};
use vigil_actors::{split, Core};
use vigil_events::kinds::{
    ConfigLoaded, Detection, DetectionCompared, SupervisorStarted, ThermalClass, ThermalFrame,
};
use vigil_events::{BoardOrigin, Envelope, Event, NewEvent, Source};

const CONFIG: &str = "[classifier]\nthreshold = 0.80\nhysteresis_frames = 2\n";

fn env(seq: u64, source: Source, ev: impl Into<Event>, boot: Option<u32>) -> Envelope {
    let mut e = NewEvent::new(seq as i64 * 1000, source, ev);
    if let Some(boot) = boot {
        e = e.with_origin(BoardOrigin {
            device: 1,
            boot,
            seq: seq as u32,
            device_ts: 0,
        });
    }
    let class = e.kind().default_class();
    Envelope::unchained(seq, class, e)
}

fn frame(seq: u64, n: u32, boot: u32) -> Envelope {
    env(
        seq,
        Source::Pico,
        ThermalFrame {
            frame: n,
            centi_c: vec![2000; 768],
        },
        Some(boot),
    )
}

fn det(
    seq: u64,
    source: Source,
    n: u32,
    class: ThermalClass,
    conf: u16,
    present: bool,
) -> Envelope {
    let engine = if source == Source::Pico {
        "pico-int8"
    } else {
        "host-int8"
    };
    let boot = (source == Source::Pico).then_some(1);
    env(
        seq,
        source,
        Detection {
            frame: n,
            class,
            confidence_permille: conf,
            engine: engine.into(),
            latency_us: 5,
            person_present: present,
        },
        boot,
    )
}

fn start() -> Vec<Envelope> {
    vec![
        env(
            1,
            Source::Ops,
            SupervisorStarted {
                version: "t".into(),
                clock: "sim".into(),
                pid: 1,
                host: "h".into(),
            },
            None,
        ),
        env(
            2,
            Source::Ops,
            ConfigLoaded {
                path: "t.toml".into(),
                hash: String::new(),
                text: CONFIG.into(),
            },
            None,
        ),
    ]
}

fn compared(intents: Vec<vigil_actors::Intent<ClassifierCommand>>) -> Vec<DetectionCompared> {
    split(intents)
        .0
        .into_iter()
        .filter_map(|e| match e {
            Event::DetectionCompared(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn a_thermal_frame_is_classified_with_the_configured_rule() {
    let mut core = configured();
    for e in start() {
        assert!(core.on_event(&e).is_empty());
    }
    let (events, cmds) = split(core.on_event(&frame(3, 7, 1)));
    assert!(events.is_empty());
    assert_eq!(
        cmds,
        vec![ClassifierCommand::Classify {
            frame: 7,
            centi: vec![2000; 768],
            rule: ClassifierRule {
                threshold_permille: 800,
                hysteresis_frames: 2
            },
        }]
    );
}

#[test]
fn both_detections_of_a_frame_give_one_comparison_in_either_order() {
    let mut core = ClassifierCore::new(
        ClassifierRule {
            threshold_permille: 800,
            hysteresis_frames: 1,
        },
        true,
    );
    assert!(
        compared(core.on_event(&det(1, Source::Pico, 5, ThermalClass::Person, 950, true)))
            .is_empty()
    );
    let c = compared(core.on_event(&det(
        2,
        Source::Classifier,
        5,
        ThermalClass::Person,
        950,
        true,
    )));
    assert_eq!(
        c,
        vec![DetectionCompared {
            frame: 5,
            pico: ThermalClass::Person,
            host: ThermalClass::Person,
            agree: true,
            pico_present: true,
            host_present: true
        }]
    );
    assert!(compared(core.on_event(&det(
        3,
        Source::Classifier,
        6,
        ThermalClass::Object,
        700,
        false
    )))
    .is_empty());
    let c = compared(core.on_event(&det(
        4,
        Source::Pico,
        6,
        ThermalClass::Background,
        600,
        true,
    )));
    assert_eq!(c.len(), 1);
    assert!(!c[0].agree);
    assert_eq!((c[0].pico_present, c[0].host_present), (true, false));
}

#[test]
fn host_person_state_needs_the_threshold_and_n_frames_in_a_row() {
    let mut core = ClassifierCore::new(
        ClassifierRule {
            threshold_permille: 900,
            hysteresis_frames: 3,
        },
        false,
    );
    let mut seq = 0;
    let mut feed = |core: &mut ClassifierCore, class, conf| {
        seq += 1;
        assert!(core
            .on_event(&det(
                seq,
                Source::Classifier,
                seq as u32,
                class,
                conf,
                false
            ))
            .is_empty());
        core.host_present()
    };
    // Below the threshold never counts; one noisy frame neither raises nor clears.
    assert!(!feed(&mut core, ThermalClass::Person, 899));
    assert!(!feed(&mut core, ThermalClass::Person, 950));
    assert!(!feed(&mut core, ThermalClass::Person, 950));
    assert!(!feed(&mut core, ThermalClass::Object, 990));
    assert!(!feed(&mut core, ThermalClass::Person, 950));
    assert!(!feed(&mut core, ThermalClass::Person, 950));
    assert!(feed(&mut core, ThermalClass::Person, 950));
    assert!(feed(&mut core, ThermalClass::Background, 990));
    assert!(feed(&mut core, ThermalClass::Person, 990));
    assert!(feed(&mut core, ThermalClass::Background, 990));
    assert!(feed(&mut core, ThermalClass::Background, 990));
    assert!(!feed(&mut core, ThermalClass::Background, 990));
}

#[test]
fn a_pico_restart_forgets_unpaired_frames() {
    let mut core = ClassifierCore::new(
        ClassifierRule {
            threshold_permille: 900,
            hysteresis_frames: 1,
        },
        true,
    );
    core.on_event(&frame(1, 5, 1));
    core.on_event(&det(2, Source::Pico, 5, ThermalClass::Person, 950, true));
    core.on_event(&frame(3, 1, 2)); // boot 2: frame numbers start again
    assert!(compared(core.on_event(&det(
        4,
        Source::Classifier,
        5,
        ThermalClass::Person,
        950,
        true
    )))
    .is_empty());
}

fn factory() -> Vec<Box<dyn ReplayCore>> {
    vigil_actors::classifier::thermal_replay_cores()
}

#[test]
fn replay_rederives_recorded_comparisons_and_names_a_forged_one() {
    let mut log = start();
    log.push(frame(3, 1, 1));
    log.push(det(4, Source::Pico, 1, ThermalClass::Person, 950, false));
    log.push(det(
        5,
        Source::Classifier,
        1,
        ThermalClass::Person,
        950,
        false,
    ));
    log.push(env(
        6,
        Source::Classifier,
        DetectionCompared {
            frame: 1,
            pico: ThermalClass::Person,
            host: ThermalClass::Person,
            agree: true,
            pico_present: false,
            host_present: false,
        },
        None,
    ));
    let f = factory;
    let mut replay = Replay::new(&f, 1);
    for e in &log {
        replay.feed(e);
    }
    let r = replay.finish();
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert_eq!(r.matched.get(&Source::Classifier), Some(&1));

    if let Event::DetectionCompared(c) = &mut log[5].payload {
        c.host_present = true;
    }
    let mut replay = Replay::new(&f, 1);
    for e in &log {
        replay.feed(e);
    }
    assert_eq!(replay.finish().mismatches.first().map(|m| m.seq), Some(6));
}
