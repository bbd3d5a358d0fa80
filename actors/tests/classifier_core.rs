//! Given/when/then tests of the classifier core: given the recorded config, when frames and
//! detections are committed, then these commands and comparisons.

use vigil_actors::classifier::core::configured;
use vigil_actors::classifier::{ClassifierCommand, ClassifierCore, ClassifierRule};
use vigil_actors::replay::ReplayCore;
use vigil_actors::split;
use vigil_actors::testing::{config_loaded, envelope, replay, started, TestFramework};
use vigil_events::kinds::{Detection, DetectionCompared, ThermalClass, ThermalFrame};
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
    envelope(seq, e)
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
    vec![started(1, 1000), config_loaded(2, 2000, CONFIG)]
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
    let mut core = TestFramework::with(configured());
    for e in start() {
        assert!(core.when(e).intents.is_empty());
    }
    let (events, cmds) = split(core.when(frame(3, 7, 1)).intents);
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
    let mut core = TestFramework::with(ClassifierCore::new(
        ClassifierRule {
            threshold_permille: 800,
            hysteresis_frames: 1,
        },
        true,
    ));
    assert!(compared(
        core.when(det(1, Source::Pico, 5, ThermalClass::Person, 950, true))
            .intents
    )
    .is_empty());
    let c = compared(
        core.when(det(
            2,
            Source::Classifier,
            5,
            ThermalClass::Person,
            950,
            true,
        ))
        .intents,
    );
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
    assert!(compared(
        core.when(det(
            3,
            Source::Classifier,
            6,
            ThermalClass::Object,
            700,
            false
        ))
        .intents
    )
    .is_empty());
    let c = compared(
        core.when(det(4, Source::Pico, 6, ThermalClass::Background, 600, true))
            .intents,
    );
    assert_eq!(c.len(), 1);
    assert!(!c[0].agree);
    assert_eq!((c[0].pico_present, c[0].host_present), (true, false));
}

#[test]
fn host_person_state_needs_the_threshold_and_n_frames_in_a_row() {
    let mut core = TestFramework::with(ClassifierCore::new(
        ClassifierRule {
            threshold_permille: 900,
            hysteresis_frames: 3,
        },
        false,
    ));
    let mut seq = 0;
    let mut feed = |core: &mut TestFramework<ClassifierCore>, class, conf| {
        seq += 1;
        assert!(core
            .when(det(seq, Source::Classifier, seq as u32, class, conf, false))
            .intents
            .is_empty());
        core.core().host_present()
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
    let mut core = TestFramework::with(ClassifierCore::new(
        ClassifierRule {
            threshold_permille: 900,
            hysteresis_frames: 1,
        },
        true,
    ));
    core.when(frame(1, 5, 1));
    core.when(det(2, Source::Pico, 5, ThermalClass::Person, 950, true));
    core.when(frame(3, 1, 2)); // boot 2: frame numbers start again
    assert!(compared(
        core.when(det(
            4,
            Source::Classifier,
            5,
            ThermalClass::Person,
            950,
            true
        ))
        .intents
    )
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
    let r = replay(&factory, &log, 1, false);
    assert!(r.mismatches.is_empty(), "{:?}", r.mismatches);
    assert_eq!(r.matched.get(&Source::Classifier), Some(&1));

    if let Event::DetectionCompared(c) = &mut log[5].payload {
        c.host_present = true;
    }
    assert_eq!(
        replay(&factory, &log, 1, false)
            .mismatches
            .first()
            .map(|m| m.seq),
        Some(6)
    );
}
