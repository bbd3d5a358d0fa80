//! The `[gpio]` section as the actor sees it: what a validated config resolves to, every
//! refusal of the same bad input (the config's, with the pin or field named), and the checks
//! that are the actor's own.

use std::time::Duration;

use vigil_actors::gpio::{EdgeMode, GpioConfigError, GpioPlan, PinRole, Pull, RuleAction};
use vigil_events::EventKind;

fn button(pin: &str) -> String {
    format!("[[gpio.input]]\nname = \"button\"\npin = {pin}\npull = \"up\"\nedge = \"falling\"\ndebounce_ms = 20\n")
}

fn led(pin: &str) -> String {
    format!("[[gpio.output]]\nname = \"led\"\npin = {pin}\n")
}

fn fan(pin: &str) -> String {
    format!("[[gpio.pwm]]\nname = \"fan\"\npin = {pin}\nfrequency_hz = 100\nduty = 0\n")
}

/// A rule named after its kind; `then` is the rule's match and action lines.
fn rule(on: &str, then: &str) -> String {
    format!("[[gpio.rule]]\nname = \"r-{on}\"\non = \"{on}\"\n{then}for = \"5s\"\n")
}

const LED_ON: &str = "set = \"led\"\nlevel = \"high\"\n";

/// The section's text resolved as the station does: validated config, then plan.
fn plan(parts: &[String]) -> Result<GpioPlan, GpioConfigError> {
    let cfg = vigil_config::Config::parse(&parts.concat(), "test.toml").expect("valid config");
    GpioPlan::from_config(&cfg.gpio)
}

/// What the config says about a section it refuses.
fn refused(parts: &[String]) -> String {
    vigil_config::Config::parse(&parts.concat(), "test.toml")
        .expect_err("refused")
        .to_string()
}

#[test]
fn a_sound_section_resolves_board_pins_to_bcm() {
    let p = plan(&[
        button("\"board:11\""),
        led("27"),
        fan("\"bcm:18\""),
        rule(
            "Detection",
            &format!("match = {{ class = \"person\" }}\n{LED_ON}"),
        ),
        rule(
            "WindowClosed",
            "set = \"fan\"\nfrequency_hz = 250\nduty = 100\n",
        ),
    ])
    .expect("valid");
    assert_eq!(
        p.pins.iter().map(|p| p.bcm).collect::<Vec<_>>(),
        vec![17, 27, 18]
    );
    assert_eq!(p.rules[0].on, EventKind::Detection);
}

#[test]
fn a_pin_used_twice_is_refused_even_when_named_differently() {
    let err = refused(&[button("17"), led("\"board:11\"")]);
    assert_eq!(
        err,
        "test.toml:9:7: BCM 17 (board:11) is already used by input \"button\" (line 3)"
    );
}

#[test]
fn power_ground_and_unknown_pins_are_refused() {
    let err = refused(&[led("\"board:1\"")]);
    assert!(
        err.contains("board:1 is a 3.3 V power pin, not a GPIO"),
        "{err}"
    );
    let err = refused(&[led("\"board:39\"")]);
    assert!(
        err.contains("board:39 is a ground pin, not a GPIO"),
        "{err}"
    );
    let err = refused(&[led("99")]);
    assert!(
        err.contains("unknown pin: BCM 99 is not on the 40-pin header"),
        "{err}"
    );
}

#[test]
fn rules_naming_unknown_kinds_fields_or_outputs_are_refused() {
    let err = refused(&[led("27"), rule("Detected", LED_ON)]);
    assert!(err.contains("unknown event kind `Detected`"), "{err}");
    let err = refused(&[
        led("27"),
        rule(
            "Detection",
            &format!("match = {{ klass = \"person\" }}\n{LED_ON}"),
        ),
    ]);
    assert!(err.contains("klass") && err.contains("class"), "{err}");
    let err = refused(&[button("17"), rule("Detection", LED_ON)]);
    assert!(
        err.contains("rule sets \"led\", which is not a declared gpio output or pwm pin"),
        "{err}"
    );
    let err = plan(&[led("27"), rule("OutputChanged", LED_ON)]).expect_err("loop");
    assert!(matches!(err, GpioConfigError::Feedback { .. }), "{err}");
}

#[test]
fn rules_driving_the_wrong_kind_of_pin_are_refused() {
    let err = refused(&[
        led("27"),
        rule("WindowClosed", "set = \"led\"\nduty = 10\n"),
    ]);
    assert!(
        err.contains("\"led\" is an output: set `level`, not `duty`"),
        "{err}"
    );
    let err = refused(&[
        fan("18"),
        rule("WindowClosed", "set = \"fan\"\nlevel = \"high\"\n"),
    ]);
    assert!(
        err.contains("\"fan\" is a pwm pin: set `duty` (0–100), not `level`"),
        "{err}"
    );
}

#[test]
fn pwm_duty_outside_0_to_100_percent_is_refused() {
    for (act, said) in [
        (
            "duty = -0.5\n",
            "10:8: duty -0.5 % is out of range, expected 0 to 100",
        ),
        (
            "duty = 100.5\n",
            "10:8: duty 100.5 % is out of range, expected 0 to 100",
        ),
        (
            "duty = nan\n",
            "10:8: duty NaN % is out of range, expected 0 to 100",
        ),
        (
            "duty = 50\nfrequency_hz = -1\n",
            "11:16: -1 is out of range, expected a number from 0.1 to 1000000",
        ),
    ] {
        let err = refused(&[
            fan("18"),
            rule("WindowOpened", &format!("set = \"fan\"\n{act}")),
        ]);
        assert_eq!(err, format!("test.toml:{said}"), "{act}");
    }
    let f = "[[gpio.pwm]]\nname = \"fan\"\npin = 18\nfrequency_hz = 0\nduty = 50\n";
    assert_eq!(
        refused(&[f.to_string()]),
        "test.toml:4:16: 0 is out of range, expected a number from 0.1 to 1000000"
    );
}

#[test]
fn a_poll_interval_not_below_the_debounce_is_refused() {
    let input = "[[gpio.input]]\nname = \"button\"\npin = 17\ndebounce_ms = 2\n".to_string();
    let err = plan(&[input]).expect_err("poll too slow");
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
input = [{ name = "button", pin = "board:11", debounce_ms = 20 }]
output = [{ name = "led", pin = 27 }]
pwm = [{ name = "fan", pin = "bcm:18", frequency_hz = 25000, duty = 0 }]
rule = [
    { name = "person-light", on = "Detection", match = { class = "person" }, set = "led", level = "high", for = "5s" },
]
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
}

#[test]
fn a_validated_rule_on_the_actors_own_decisions_is_still_refused() {
    let text = STATION_GPIO.replace(
        "on = \"Detection\", match = { class = \"person\" }",
        "on = \"OutputChanged\"",
    );
    let cfg = vigil_config::Config::parse(&text, "test.toml").expect("config");
    let err = GpioPlan::from_config(&cfg.gpio).expect_err("feedback");
    assert_eq!(
        err.to_string(),
        "gpio rule `person-light`: rules on OutputChanged are refused (they would trigger themselves)"
    );
}
