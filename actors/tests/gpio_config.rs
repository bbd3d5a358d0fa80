//! Validation of the `[gpio]` section: what is accepted and every refusal.

use std::time::Duration;

use vigil_actors::gpio::{
    EdgeMode, GpioConfigError, GpioPlan, GpioSettings, PinRefError, PinRole, PinSpec, Pull,
    RuleAction, RuleSpec,
};
use vigil_events::EventKind;

fn button(pin: &str) -> PinSpec {
    PinSpec {
        name: "button".into(),
        pin: pin.into(),
        role: PinRole::Input {
            pull: Pull::Up,
            edge: EdgeMode::Falling,
            debounce: Duration::from_millis(20),
        },
    }
}

fn led(pin: &str) -> PinSpec {
    PinSpec {
        name: "led".into(),
        pin: pin.into(),
        role: PinRole::Output { rest_high: false },
    }
}

fn fan(pin: &str) -> PinSpec {
    PinSpec {
        name: "fan".into(),
        pin: pin.into(),
        role: PinRole::Pwm {
            frequency_hz: 100.0,
            duty_percent: 0.0,
        },
    }
}

fn rule(on: &str, when: &[(&str, &str)], action: RuleAction) -> RuleSpec {
    RuleSpec {
        name: "r".into(),
        on: on.into(),
        when: when
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        action,
        hold: Some(Duration::from_secs(5)),
    }
}

fn led_on() -> RuleAction {
    RuleAction::Level {
        output: "led".into(),
        high: true,
    }
}

fn plan(pins: Vec<PinSpec>, rules: Vec<RuleSpec>) -> Result<GpioPlan, GpioConfigError> {
    GpioPlan::new(&GpioSettings {
        pins,
        rules,
        ..GpioSettings::default()
    })
}

#[test]
fn a_sound_section_resolves_board_pins_to_bcm() {
    let p = plan(
        vec![button("board:11"), led("27"), fan("bcm:18")],
        vec![
            rule("Detection", &[("class", "person")], led_on()),
            rule(
                "WindowClosed",
                &[],
                RuleAction::Pwm {
                    output: "fan".into(),
                    frequency_hz: Some(25.0),
                    duty_percent: 100.0,
                },
            ),
        ],
    )
    .expect("valid");
    assert_eq!(
        p.pins.iter().map(|p| p.bcm).collect::<Vec<_>>(),
        vec![17, 27, 18]
    );
    assert_eq!(p.rules[0].on, EventKind::Detection);
}

#[test]
fn a_pin_used_twice_is_refused_even_when_named_differently() {
    let err = plan(vec![button("17"), led("board:11")], vec![]).expect_err("twice");
    assert_eq!(
        err,
        GpioConfigError::PinUsedTwice {
            pin: 17,
            first: "button".into(),
            second: "led".into()
        }
    );
}

#[test]
fn power_ground_and_unknown_pins_are_refused() {
    let err = plan(vec![led("board:1")], vec![]).expect_err("3v3");
    assert!(matches!(
        err,
        GpioConfigError::Pin {
            source: PinRefError::Power { what: "3V3", .. },
            ..
        }
    ));
    let err = plan(vec![led("board:39")], vec![]).expect_err("gnd");
    assert!(err.to_string().contains("GND"), "{err}");
    let err = plan(vec![led("99")], vec![]).expect_err("unknown");
    assert!(err.to_string().contains("unknown pin `99`"), "{err}");
}

#[test]
fn rules_naming_unknown_kinds_fields_or_outputs_are_refused() {
    let err = plan(vec![led("27")], vec![rule("Detected", &[], led_on())]).expect_err("kind");
    assert!(
        err.to_string().contains("unknown event kind `Detected`"),
        "{err}"
    );
    let err = plan(
        vec![led("27")],
        vec![rule("Detection", &[("klass", "person")], led_on())],
    )
    .expect_err("field");
    assert!(
        err.to_string().contains("no field `klass`") && err.to_string().contains("class"),
        "{err}"
    );
    let err = plan(vec![button("17")], vec![rule("Detection", &[], led_on())]).expect_err("output");
    assert!(
        matches!(err, GpioConfigError::UnknownOutput { .. }),
        "{err}"
    );
    let err = plan(vec![led("27")], vec![rule("OutputChanged", &[], led_on())]).expect_err("loop");
    assert!(matches!(err, GpioConfigError::Feedback { .. }), "{err}");
}

#[test]
fn rules_driving_the_wrong_kind_of_pin_are_refused() {
    let pwm = RuleAction::Pwm {
        output: "led".into(),
        frequency_hz: None,
        duty_percent: 10.0,
    };
    let err = plan(vec![led("27")], vec![rule("WindowClosed", &[], pwm)]).expect_err("pwm on led");
    assert!(err.to_string().contains("not a pwm output"), "{err}");
    let set_fan = RuleAction::Level {
        output: "fan".into(),
        high: true,
    };
    let err =
        plan(vec![fan("18")], vec![rule("WindowClosed", &[], set_fan)]).expect_err("set on fan");
    assert!(err.to_string().contains("not an output"), "{err}");
}

#[test]
fn pwm_duty_outside_0_to_100_percent_is_refused() {
    for (duty, freq) in [
        (-0.5, None),
        (100.5, None),
        (f64::NAN, None),
        (50.0, Some(-1.0)),
    ] {
        let act = RuleAction::Pwm {
            output: "fan".into(),
            frequency_hz: freq,
            duty_percent: duty,
        };
        let err = plan(vec![fan("18")], vec![rule("WindowOpened", &[], act)]).expect_err("duty");
        assert!(matches!(err, GpioConfigError::PwmRange { .. }), "{err}");
    }
    let mut f = fan("18");
    f.role = PinRole::Pwm {
        frequency_hz: 0.0,
        duty_percent: 50.0,
    };
    assert!(matches!(
        plan(vec![f], vec![]),
        Err(GpioConfigError::PwmRange { .. })
    ));
}

#[test]
fn a_poll_interval_not_below_the_debounce_is_refused() {
    let err = GpioPlan::new(&GpioSettings {
        pins: vec![button("17")],
        rules: vec![],
        poll_interval: Duration::from_millis(20),
    })
    .expect_err("poll too slow");
    assert!(matches!(err, GpioConfigError::PollInterval { .. }), "{err}");
}

#[test]
fn pull_and_edge_words_parse() {
    assert_eq!("up".parse::<Pull>(), Ok(Pull::Up));
    assert_eq!("Falling".parse::<EdgeMode>(), Ok(EdgeMode::Falling));
    assert!("sideways".parse::<EdgeMode>().is_err());
}

const STATION_GPIO: &str = r#"
[gpio]
backend = "sim"

[[gpio.input]]
name = "button"
pin = "board:11"
debounce_ms = 20

[[gpio.output]]
name = "led"
pin = 27

[[gpio.pwm]]
name = "fan"
pin = "bcm:18"
frequency_hz = 25000
duty = 0

[[gpio.rule]]
name = "person-light"
on = "Detection"
match = { class = "person" }
set = "led"
level = "high"
for = "5s"
"#;

#[test]
fn a_validated_config_resolves_to_the_plan_without_being_parsed_again() {
    let cfg = vigil_config::Config::parse(STATION_GPIO, "test.toml").expect("config");
    let plan = GpioPlan::from_config(&cfg.gpio).expect("plan");
    assert_eq!(
        plan.pins.iter().map(|p| p.bcm).collect::<Vec<_>>(),
        vec![17, 27, 18]
    );
    assert_eq!(
        plan.pins[0].role,
        PinRole::Input {
            pull: Pull::Up,
            edge: EdgeMode::Falling,
            debounce: Duration::from_millis(20),
        }
    );
    assert_eq!(plan.rules[0].on, EventKind::Detection);
    assert_eq!(
        plan.rules[0].when,
        vec![("class".to_string(), "person".to_string())]
    );
    assert_eq!(
        plan.rules[0].action,
        RuleAction::Level {
            output: "led".into(),
            high: true
        }
    );
    assert_eq!(plan.rules[0].hold, Some(Duration::from_secs(5)));
    // The same section in plain words resolves to the same plan.
    let words = GpioPlan::new(&GpioSettings {
        pins: vec![
            PinSpec {
                name: "button".into(),
                pin: "board:11".into(),
                role: plan.pins[0].role.clone(),
            },
            PinSpec {
                name: "led".into(),
                pin: "27".into(),
                role: PinRole::Output { rest_high: false },
            },
            PinSpec {
                name: "fan".into(),
                pin: "bcm:18".into(),
                role: PinRole::Pwm {
                    frequency_hz: 25_000.0,
                    duty_percent: 0.0,
                },
            },
        ],
        rules: vec![RuleSpec {
            name: "person-light".into(),
            on: "Detection".into(),
            when: vec![("class".into(), "person".into())],
            action: plan.rules[0].action.clone(),
            hold: Some(Duration::from_secs(5)),
        }],
        ..GpioSettings::default()
    })
    .expect("plan from words");
    assert_eq!(words, plan);
}

#[test]
fn a_validated_rule_on_the_actors_own_decisions_is_still_refused() {
    let text = STATION_GPIO.replace(
        "on = \"Detection\"\nmatch = { class = \"person\" }",
        "on = \"OutputChanged\"",
    );
    let cfg = vigil_config::Config::parse(&text, "test.toml").expect("config");
    let err = GpioPlan::from_config(&cfg.gpio).expect_err("feedback");
    assert_eq!(
        err.to_string(),
        "gpio rule `person-light`: rules on OutputChanged are refused (they would trigger themselves)"
    );
}
