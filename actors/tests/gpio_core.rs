//! Given/when/then tests of the GPIO core: rules → OutputChanged/PwmChanged + pin commands.

use vigil_actors::gpio::{GpioCommand, GpioCore, GpioPlan};
use vigil_actors::{Core, Intent};
use vigil_events::kinds::{
    Detection, Edge, GpioEdge, OutputChanged, PwmChanged, ThermalClass, WindowClosed,
};
use vigil_events::{DataClass, Envelope, Event, EventKind, NewEvent, Source, UtcMicros};

const T0: i64 = 1_780_286_400_000_000;
const SEC: i64 = 1_000_000;

const GPIO: &str = r#"
[gpio]
input = [{ name = "button", pin = 17, pull = "up", edge = "falling", debounce_ms = 20 }]
output = [
    { name = "led", pin = 27 },
    { name = "relay", pin = "board:16", initial = "high" },
]
pwm = [{ name = "fan", pin = 18, frequency_hz = 100, duty = 0 }]
rule = [
    { name = "person-led", on = "Detection", match = { class = "person" }, set = "led", level = "high", for = "5s" },
    { name = "window-led", on = "WindowOpened", set = "led", level = "high" },
    { name = "night-relay", on = "WindowClosed", set = "relay", level = "low" },
    { name = "button-fan", on = "GpioEdge", match = { name = "button", edge = "falling" }, set = "fan", duty = 40, for = "60s" },
]
"#;

fn plan() -> GpioPlan {
    let cfg = vigil_config::Config::parse(GPIO, "gpio_core.toml").expect("valid config");
    GpioPlan::from_config(&cfg.gpio).expect("valid plan")
}

/// The button (BCM 17) reporting `edge` at T0.
fn button(edge: Edge) -> GpioEdge {
    GpioEdge {
        name: "button".into(),
        pin: 17,
        edge,
        at_us: T0,
    }
}

fn env(ts: UtcMicros, source: Source, ev: impl Into<Event>) -> Envelope {
    Envelope::unchained(1, DataClass::General, NewEvent::new(ts, source, ev))
}

fn detection(class: ThermalClass) -> Detection {
    Detection {
        frame: 1,
        class,
        confidence_permille: 900,
        engine: "host-int8".into(),
        latency_us: 100,
        person_present: class == ThermalClass::Person,
    }
}

fn led(high: bool, rule: &str) -> Vec<Intent<GpioCommand>> {
    vec![
        Intent::Emit(
            OutputChanged {
                name: "led".into(),
                pin: 27,
                high,
                rule: rule.into(),
            }
            .into(),
        ),
        Intent::Do(GpioCommand::SetLevel {
            name: "led".into(),
            pin: 27,
            high,
        }),
    ]
}

#[test]
fn given_a_person_the_led_goes_high_for_five_seconds() {
    let mut c = GpioCore::new(&plan());
    let out = c.on_event(&env(
        T0,
        Source::Classifier,
        detection(ThermalClass::Person),
    ));
    assert_eq!(out, led(true, "person-led"));
    assert_eq!(c.next_deadline(), Some(T0 + 5 * SEC));
    assert_eq!(
        c.on_tick(T0 + 5 * SEC),
        led(false, "person-led (hold ended)")
    );
    assert_eq!(c.next_deadline(), None);
    assert_eq!(c.level("led"), Some(false));
}

#[test]
fn an_object_does_not_match_the_person_rule() {
    let mut c = GpioCore::new(&plan());
    assert!(c
        .on_event(&env(
            T0,
            Source::Classifier,
            detection(ThermalClass::Object)
        ))
        .is_empty());
}

#[test]
fn a_second_person_extends_the_hold_without_a_duplicate_change() {
    let mut c = GpioCore::new(&plan());
    c.on_event(&env(
        T0,
        Source::Classifier,
        detection(ThermalClass::Person),
    ));
    let out = c.on_event(&env(
        T0 + 3 * SEC,
        Source::Classifier,
        detection(ThermalClass::Person),
    ));
    assert!(out.is_empty(), "already high: no event, no command");
    assert_eq!(c.next_deadline(), Some(T0 + 8 * SEC));
    assert!(
        c.on_tick(T0 + 5 * SEC).is_empty(),
        "the first hold no longer applies"
    );
    assert_eq!(c.level("led"), Some(true));
    assert_eq!(
        c.on_tick(T0 + 8 * SEC),
        led(false, "person-led (hold ended)")
    );
}

#[test]
fn window_closed_drops_the_relay_for_good() {
    let mut c = GpioCore::new(&plan());
    let w = WindowClosed {
        name: "day".into(),
        start_us: T0 - 3600 * SEC,
        end_us: T0,
    };
    let out = c.on_event(&env(T0, Source::Clock, w));
    assert_eq!(
        out,
        vec![
            Intent::Emit(
                OutputChanged {
                    name: "relay".into(),
                    pin: 23,
                    high: false,
                    rule: "night-relay".into()
                }
                .into()
            ),
            Intent::Do(GpioCommand::SetLevel {
                name: "relay".into(),
                pin: 23,
                high: false
            }),
        ]
    );
    assert_eq!(c.next_deadline(), None);
}

#[test]
fn a_button_edge_sets_the_fan_pwm_once() {
    let mut c = GpioCore::new(&plan());
    let edge = button(Edge::Falling);
    let out = c.on_event(&env(T0 + 20_000, Source::Gpio, edge.clone()));
    assert_eq!(
        out,
        vec![
            Intent::Emit(
                PwmChanged {
                    name: "fan".into(),
                    pin: 18,
                    frequency_hz: 100.0,
                    duty_percent: 40.0,
                    rule: "button-fan".into()
                }
                .into()
            ),
            Intent::Do(GpioCommand::SetPwm {
                name: "fan".into(),
                pin: 18,
                frequency_hz: 100.0,
                duty_percent: 40.0
            }),
        ]
    );
    assert!(c.on_event(&env(T0 + 40_000, Source::Gpio, edge)).is_empty());
    let rising = button(Edge::Rising);
    let mut fresh = GpioCore::new(&plan());
    assert!(fresh.on_event(&env(T0, Source::Gpio, rising)).is_empty());
}

#[test]
fn the_core_declares_its_decisions() {
    let c = GpioCore::new(&plan());
    assert_eq!(
        c.decisions(),
        &[EventKind::OutputChanged, EventKind::PwmChanged]
    );
    assert_eq!(c.source(), Source::Gpio);
    assert!(c.subscriptions().contains(&EventKind::Detection));
}

#[test]
fn a_pwm_hold_returns_to_the_previous_duty_and_keeps_the_frequency() {
    let mut c = GpioCore::new(&plan());
    let edge = button(Edge::Falling);
    c.on_event(&env(T0, Source::Gpio, edge));
    assert_eq!(c.pwm("fan"), Some((100.0, 40.0)));
    let out = c.on_tick(T0 + 60 * SEC);
    assert!(
        matches!(&out[..], [Intent::Emit(Event::PwmChanged(p)), Intent::Do(GpioCommand::SetPwm { .. })]
        if p.duty_percent == 0.0 && p.frequency_hz == 100.0 && p.rule == "button-fan (hold ended)")
    );
}

#[test]
fn a_rule_without_hold_cancels_a_pending_hold() {
    let mut c = GpioCore::new(&plan());
    c.on_event(&env(
        T0,
        Source::Classifier,
        detection(ThermalClass::Person),
    ));
    let opened = vigil_events::kinds::WindowOpened {
        name: "day".into(),
        start_us: T0,
        end_us: T0 + 3600 * SEC,
        local_start: String::new(),
        local_end: String::new(),
        timezone: "UTC".into(),
    };
    assert!(
        c.on_event(&env(T0 + SEC, Source::Clock, opened)).is_empty(),
        "already high"
    );
    assert_eq!(c.next_deadline(), None, "the led now stays high");
    assert_eq!(c.level("led"), Some(true));
}
