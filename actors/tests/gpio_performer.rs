//! The GPIO performer on the simulated backend: scripted presses, bounce, outputs, release,
//! and a button press that goes edge → rule → output through core and performer.

use std::time::Duration;

use vigil_actors::gpio::sim::{SimMode, SimWrite};
use vigil_actors::gpio::{
    EdgeMode, GpioCommand, GpioCore, GpioPerformer, GpioPlan, Pull, RuleAction, SimHandle, SimPins,
};
use vigil_actors::{split, Core, Performer};
use vigil_config::gpio::header::PinRef;
use vigil_config::gpio::{GpioConfig, GpioRule, InputPin, MatchValue, OutputPin, PwmPin};
use vigil_events::kinds::{Edge, GpioEdge, OutputChanged};
use vigil_events::{DataClass, Envelope, Event, EventKind, NewEvent};

const T0: i64 = 1_780_286_400_000_000;
const MS: i64 = 1000;

/// The `[gpio]` section as the validated config types the station hands over.
fn config(edge: EdgeMode) -> GpioConfig {
    let pin = |spec: &str| PinRef::parse(spec).expect("pin");
    GpioConfig {
        inputs: vec![InputPin {
            name: "button".into(),
            pin: pin("board:11"),
            pull: Pull::Up,
            edge,
            debounce: Duration::from_millis(20),
        }],
        outputs: vec![OutputPin {
            name: "led".into(),
            pin: pin("27"),
            initial_high: false,
        }],
        pwms: vec![PwmPin {
            name: "fan".into(),
            pin: pin("18"),
            frequency_hz: 50.0,
            duty_percent: 30.0,
        }],
        rules: vec![GpioRule {
            name: "button-led".into(),
            on: EventKind::GpioEdge,
            matches: [("edge".to_string(), MatchValue::Str("falling".into()))].into(),
            action: RuleAction::Level {
                output: "led".into(),
                high: true,
            },
            hold: Some(Duration::from_secs(5)),
        }],
        ..GpioConfig::default()
    }
}

fn plan(edge: EdgeMode) -> GpioPlan {
    GpioPlan::from_config(&config(edge)).expect("plan")
}

fn setup(edge: EdgeMode) -> (GpioPlan, GpioPerformer, SimHandle) {
    let plan = plan(edge);
    let pins = SimPins::new();
    let handle = pins.handle();
    let perf = GpioPerformer::new(Box::new(pins), &plan).expect("setup");
    (plan, perf, handle)
}

/// Poll every millisecond over [from, to] ms after T0; collect the edges.
fn poll_ms(perf: &mut GpioPerformer, from: i64, to: i64) -> Vec<GpioEdge> {
    (from..=to)
        .flat_map(|ms| perf.poll(T0 + ms * MS))
        .filter_map(|e| match e.event {
            Event::GpioEdge(g) => Some(g),
            _ => None,
        })
        .collect()
}

#[test]
fn pins_are_set_up_from_the_plan() {
    let (_, _, sim) = setup(EdgeMode::Both);
    assert_eq!(sim.mode(17), Some(SimMode::Input(Pull::Up)));
    assert_eq!(sim.mode(27), Some(SimMode::Output(false)));
    assert_eq!(
        sim.mode(18),
        Some(SimMode::Pwm {
            frequency_hz: 50.0,
            duty_percent: 30.0
        })
    );
}

#[test]
fn a_bouncing_40ms_press_gives_one_falling_and_one_rising_edge() {
    let (_, mut perf, sim) = setup(EdgeMode::Both);
    sim.press_with_bounce(
        17,
        T0 + 100 * MS,
        Duration::from_millis(40),
        3,
        Duration::from_millis(1),
    );
    let edges = poll_ms(&mut perf, 0, 300);
    let got: Vec<(Edge, i64)> = edges
        .iter()
        .map(|e| (e.edge, (e.at_us - T0) / MS))
        .collect();
    assert_eq!(got, vec![(Edge::Falling, 100), (Edge::Rising, 140)]);
    assert!(edges.iter().all(|e| e.name == "button" && e.pin == 17));
}

#[test]
fn the_edge_mode_filters_what_is_reported() {
    let (_, mut perf, sim) = setup(EdgeMode::Falling);
    sim.press(17, T0 + 50 * MS, Duration::from_millis(40));
    let edges = poll_ms(&mut perf, 0, 200);
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0].edge, Edge::Falling);
}

#[test]
fn a_10ms_spike_is_not_an_edge() {
    let (_, mut perf, sim) = setup(EdgeMode::Both);
    sim.press(17, T0 + 50 * MS, Duration::from_millis(10));
    assert!(poll_ms(&mut perf, 0, 200).is_empty());
}

#[test]
fn pwm_outside_range_is_refused_by_the_performer() {
    let (_, mut perf, sim) = setup(EdgeMode::Both);
    let before = sim.writes().len();
    perf.perform(
        GpioCommand::SetPwm {
            name: "fan".into(),
            pin: 18,
            frequency_hz: 50.0,
            duty_percent: 120.0,
        },
        T0,
    );
    assert_eq!(sim.writes().len(), before, "nothing driven");
    assert_eq!(
        sim.mode(18),
        Some(SimMode::Pwm {
            frequency_hz: 50.0,
            duty_percent: 30.0
        })
    );
}

#[test]
fn on_release_every_pin_goes_back_to_an_input_and_it_is_recorded() {
    let (_, mut perf, sim) = setup(EdgeMode::Both);
    perf.perform(
        GpioCommand::SetLevel {
            name: "led".into(),
            pin: 27,
            high: true,
        },
        T0,
    );
    let events = perf.release(T0 + 1000);
    for pin in [17, 27, 18] {
        assert_eq!(sim.mode(pin), Some(SimMode::Input(Pull::None)), "BCM {pin}");
    }
    let rec: Vec<OutputChanged> = events
        .into_iter()
        .filter_map(|e| match e.event {
            Event::OutputChanged(o) => Some(o),
            _ => None,
        })
        .collect();
    assert_eq!(rec.len(), 2);
    assert!(rec.iter().all(|o| o.rule == "release" && !o.high));
    assert!(
        perf.release(T0 + 2000).is_empty(),
        "second release is a no-op"
    );
    assert!(perf.poll(T0 + 3000).is_empty());
}

#[test]
fn a_busy_pin_fails_setup_and_releases_what_was_set_up() {
    let plan = plan(EdgeMode::Both);
    let pins = SimPins::new();
    let sim = pins.handle();
    sim.make_busy(18);
    let err = GpioPerformer::new(Box::new(pins), &plan).expect_err("busy");
    assert_eq!((err.name.as_str(), err.pin), ("fan", 18));
    assert_eq!(sim.mode(27), Some(SimMode::Input(Pull::None)));
}

#[test]
fn a_scripted_press_drives_the_led_through_the_core_and_back() {
    let (plan, mut perf, sim) = setup(EdgeMode::Both);
    let mut core = GpioCore::new(&plan);
    sim.press(17, T0 + 100 * MS, Duration::from_millis(40));
    let mut seq = 0;
    let mut log: Vec<NewEvent> = Vec::new();
    // A miniature shell: poll inputs, feed events to the core, perform its commands.
    let mut deliver =
        |core: &mut GpioCore, perf: &mut GpioPerformer, ev: NewEvent, log: &mut Vec<NewEvent>| {
            seq += 1;
            let env = Envelope::unchained(seq, DataClass::General, ev.clone());
            log.push(ev);
            let (emitted, cmds) = split(core.on_event(&env));
            for c in cmds {
                perf.perform(c, env.ts);
            }
            emitted
        };
    for ms in 0..=6000 {
        let now = T0 + ms * MS;
        if core.next_deadline().is_some_and(|d| d <= now) {
            let (emitted, cmds) = split(core.on_tick(now));
            for c in cmds {
                perf.perform(c, now);
            }
            log.extend(
                emitted
                    .into_iter()
                    .map(|e| NewEvent::new(now, core.source(), e)),
            );
        }
        for ev in perf.poll(now) {
            let emitted = deliver(&mut core, &mut perf, ev, &mut log);
            log.extend(
                emitted
                    .into_iter()
                    .map(|e| NewEvent::new(now, core.source(), e)),
            );
        }
    }
    let kinds: Vec<String> = log
        .iter()
        .map(|e| match &e.event {
            Event::GpioEdge(g) => format!("edge {:?} @{}", g.edge, (g.at_us - T0) / MS),
            Event::OutputChanged(o) => {
                format!("led {} by {} @{}", o.high, o.rule, (e.ts - T0) / MS)
            }
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "edge Falling @100",
            "led true by button-led @120",
            "edge Rising @140",
            "led false by button-led (hold ended) @5120",
        ]
    );
    let led_writes: Vec<SimWrite> = sim.writes().into_iter().filter(|w| w.pin == 27).collect();
    assert_eq!(
        led_writes.iter().map(|w| w.mode).collect::<Vec<_>>(),
        vec![
            SimMode::Output(false),
            SimMode::Output(true),
            SimMode::Output(false)
        ]
    );
}
