//! The GPIO actor's plan: the `[gpio]` section resolved to BCM pins and rules on kinds, from
//! the validated config ([`GpioPlan::from_config`], what the station runs) or from plain
//! words ([`GpioSettings`], for tools and tests), with the actor's own checks.

use std::collections::BTreeMap;
use std::time::Duration;

use vigil_config::gpio as cfg;
pub use vigil_config::gpio::RuleAction;
use vigil_events::{Event, EventKind};

use super::pins::{parse_pin, EdgeMode, PinRefError, Pull};

/// What a configured pin is for.
#[derive(Clone, Debug, PartialEq)]
pub enum PinRole {
    /// A debounced input.
    Input {
        /// Bias.
        pull: Pull,
        /// Which edges become events.
        edge: EdgeMode,
        /// Debounce time (see [`debounce`] for the rule).
        debounce: Duration,
    },
    /// A plain output.
    Output {
        /// Level at start.
        rest_high: bool,
    },
    /// A software PWM output.
    Pwm {
        /// Frequency at start, Hz.
        frequency_hz: f64,
        /// Duty at start, percent (0 = off).
        duty_percent: f64,
    },
}

/// One `[[gpio.pins]]` entry, in plain types.
#[derive(Clone, Debug, PartialEq)]
pub struct PinSpec {
    /// Name used by rules and events.
    pub name: String,
    /// `17`, `bcm:17`, `gpio17` or `board:11`.
    pub pin: String,
    /// Role.
    pub role: PinRole,
}

/// One `[[gpio.rules]]` entry, in plain types.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSpec {
    /// Rule name (recorded in `OutputChanged.rule`).
    pub name: String,
    /// Event kind name, e.g. `Detection`.
    pub on: String,
    /// Payload fields that must have these values (all of them), e.g. `("class", "person")`.
    /// Strings compare ASCII case-insensitively; numbers and booleans by their text.
    pub when: Vec<(String, String)>,
    /// What to do.
    pub action: RuleAction,
    /// Return to the state before the rule after this long (`None`: stay).
    pub hold: Option<Duration>,
}

/// The `[gpio]` section in plain words (pins as `17`, `bcm:17`, `board:11`; kinds by name),
/// for tools and tests; the station resolves the validated config ([`GpioPlan::from_config`]).
#[derive(Clone, Debug, PartialEq)]
pub struct GpioSettings {
    /// Pins.
    pub pins: Vec<PinSpec>,
    /// Rules.
    pub rules: Vec<RuleSpec>,
    /// How often the performer samples inputs (must be below every input's debounce, unless
    /// that is zero).
    pub poll_interval: Duration,
}

impl Default for GpioSettings {
    fn default() -> Self {
        GpioSettings {
            pins: Vec::new(),
            rules: Vec::new(),
            poll_interval: Duration::from_millis(2),
        }
    }
}

/// A `[gpio]` section that cannot work. Each variant names what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpioConfigError {
    /// A pin reference is not a GPIO.
    #[error("gpio pin `{name}`: {source}")]
    Pin {
        /// Pin name.
        name: String,
        /// Why.
        source: PinRefError,
    },
    /// Two entries name the same BCM pin.
    #[error("BCM {pin} is used twice: by `{first}` and by `{second}`")]
    PinUsedTwice {
        /// BCM number.
        pin: u8,
        /// First entry.
        first: String,
        /// Second entry.
        second: String,
    },
    /// Two pins share a name.
    #[error("gpio pin name `{0}` is used twice")]
    DuplicateName(String),
    /// A rule's `on` is not an event kind.
    #[error("gpio rule `{rule}`: unknown event kind `{kind}`")]
    UnknownKind {
        /// Rule name.
        rule: String,
        /// As written.
        kind: String,
    },
    /// A rule on the GPIO actor's own decisions would feed on itself.
    #[error("gpio rule `{rule}`: rules on {kind} are refused (they would trigger themselves)")]
    Feedback {
        /// Rule name.
        rule: String,
        /// The kind.
        kind: String,
    },
    /// A `when` field that the kind's payload does not have (or that is not a plain value).
    #[error("gpio rule `{rule}`: {kind} has no field `{field}` (fields: {known})")]
    UnknownField {
        /// Rule name.
        rule: String,
        /// Kind.
        kind: String,
        /// As written.
        field: String,
        /// The kind's plain fields.
        known: String,
    },
    /// A rule names an output that is not configured.
    #[error("gpio rule `{rule}`: no pin named `{output}`")]
    UnknownOutput {
        /// Rule name.
        rule: String,
        /// As written.
        output: String,
    },
    /// A rule drives a pin of the wrong role (set on an input or PWM pin, PWM on a plain
    /// output or input).
    #[error("gpio rule `{rule}`: pin `{output}` is not {expected}")]
    WrongRole {
        /// Rule name.
        rule: String,
        /// Pin.
        output: String,
        /// `an output`, `a pwm output`.
        expected: &'static str,
    },
    /// Duty outside 0–100 % or frequency not above zero.
    #[error("gpio `{who}`: PWM {frequency_hz} Hz at {duty_percent} % refused (duty 0–100 %, frequency above 0)")]
    PwmRange {
        /// Pin or rule.
        who: String,
        /// Frequency.
        frequency_hz: f64,
        /// Duty.
        duty_percent: f64,
    },
    /// The poll interval is zero, or not below an input's non-zero debounce.
    #[error("gpio poll interval {poll:?} must be above zero and below the debounce of `{input}` ({debounce:?})")]
    PollInterval {
        /// Poll interval.
        poll: Duration,
        /// Input concerned.
        input: String,
        /// Its debounce.
        debounce: Duration,
    },
}

/// A configured pin after validation.
#[derive(Clone, Debug, PartialEq)]
pub struct ResolvedPin {
    /// Name.
    pub name: String,
    /// BCM number.
    pub bcm: u8,
    /// Role.
    pub role: PinRole,
}

/// A rule after validation.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Name.
    pub name: String,
    /// Kind it fires on.
    pub on: EventKind,
    /// Field conditions.
    pub when: Vec<(String, String)>,
    /// Action (names checked against the pins).
    pub action: RuleAction,
    /// Hold time.
    pub hold: Option<Duration>,
}

/// A validated `[gpio]` section: what the core and the performer are built from.
#[derive(Clone, Debug, PartialEq)]
pub struct GpioPlan {
    /// Pins, in config order.
    pub pins: Vec<ResolvedPin>,
    /// Rules, in config order.
    pub rules: Vec<Rule>,
    /// Input sampling interval.
    pub poll_interval: Duration,
}

/// The plain (non-nested) payload fields of an event as text, by name.
pub(super) fn plain_fields(event: &Event) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(event) {
        for (k, v) in map {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Bool(b) => b.to_string(),
                serde_json::Value::Number(n) => n.to_string(),
                _ => continue,
            };
            out.insert(k, text);
        }
    }
    out
}

impl GpioPlan {
    /// Validate `settings`. See the module docs for what is refused.
    pub fn new(settings: &GpioSettings) -> Result<Self, GpioConfigError> {
        let mut pins: Vec<ResolvedPin> = Vec::new();
        for spec in &settings.pins {
            let bcm = parse_pin(&spec.pin).map_err(|source| GpioConfigError::Pin {
                name: spec.name.clone(),
                source,
            })?;
            if pins.iter().any(|p| p.name == spec.name) {
                return Err(GpioConfigError::DuplicateName(spec.name.clone()));
            }
            if let Some(first) = pins.iter().find(|p| p.bcm == bcm) {
                return Err(GpioConfigError::PinUsedTwice {
                    pin: bcm,
                    first: first.name.clone(),
                    second: spec.name.clone(),
                });
            }
            check_role(&spec.name, &spec.role, settings.poll_interval)?;
            pins.push(ResolvedPin {
                name: spec.name.clone(),
                bcm,
                role: spec.role.clone(),
            });
        }
        let mut rules = Vec::new();
        for spec in &settings.rules {
            let on = EventKind::from_name(spec.on.trim()).ok_or_else(|| {
                GpioConfigError::UnknownKind {
                    rule: spec.name.clone(),
                    kind: spec.on.clone(),
                }
            })?;
            check_not_feedback(&spec.name, on)?;
            let fields = plain_fields(&vigil_events::samples::sample(on));
            for (field, _) in &spec.when {
                if !fields.contains_key(field) {
                    return Err(GpioConfigError::UnknownField {
                        rule: spec.name.clone(),
                        kind: on.name().to_string(),
                        field: field.clone(),
                        known: fields.keys().cloned().collect::<Vec<_>>().join(", "),
                    });
                }
            }
            let (output, wants_pwm) = match &spec.action {
                RuleAction::Level { output, .. } => (output, false),
                RuleAction::Pwm {
                    output,
                    frequency_hz,
                    duty_percent,
                } => {
                    check_rule_pwm(&spec.name, *frequency_hz, *duty_percent)?;
                    (output, true)
                }
            };
            let pin = pins.iter().find(|p| &p.name == output).ok_or_else(|| {
                GpioConfigError::UnknownOutput {
                    rule: spec.name.clone(),
                    output: output.clone(),
                }
            })?;
            match (&pin.role, wants_pwm) {
                (PinRole::Output { .. }, false) | (PinRole::Pwm { .. }, true) => {}
                (_, false) => {
                    return Err(GpioConfigError::WrongRole {
                        rule: spec.name.clone(),
                        output: output.clone(),
                        expected: "an output",
                    })
                }
                (_, true) => {
                    return Err(GpioConfigError::WrongRole {
                        rule: spec.name.clone(),
                        output: output.clone(),
                        expected: "a pwm output",
                    })
                }
            }
            rules.push(Rule {
                name: spec.name.clone(),
                on,
                when: spec.when.clone(),
                action: spec.action.clone(),
                hold: spec.hold,
            });
        }
        Ok(GpioPlan {
            pins,
            rules,
            poll_interval: settings.poll_interval,
        })
    }
}

/// A pin's own settings: PWM in range, inputs sampled faster than they are debounced.
fn check_role(name: &str, role: &PinRole, poll: Duration) -> Result<(), GpioConfigError> {
    match *role {
        PinRole::Pwm {
            frequency_hz,
            duty_percent,
        } if !super::pins::pwm_in_range(frequency_hz, duty_percent) => {
            Err(GpioConfigError::PwmRange {
                who: name.to_string(),
                frequency_hz,
                duty_percent,
            })
        }
        PinRole::Input { debounce, .. }
            if poll.is_zero() || (!debounce.is_zero() && poll >= debounce) =>
        {
            Err(GpioConfigError::PollInterval {
                poll,
                input: name.to_string(),
                debounce,
            })
        }
        _ => Ok(()),
    }
}

/// A rule on the GPIO actor's own decisions would feed on itself.
fn check_not_feedback(rule: &str, on: EventKind) -> Result<(), GpioConfigError> {
    if matches!(on, EventKind::OutputChanged | EventKind::PwmChanged) {
        return Err(GpioConfigError::Feedback {
            rule: rule.to_string(),
            kind: on.name().to_string(),
        });
    }
    Ok(())
}

/// A rule's PWM setting in range.
fn check_rule_pwm(
    rule: &str,
    frequency_hz: Option<f64>,
    duty_percent: f64,
) -> Result<(), GpioConfigError> {
    // Any valid frequency stands in when the rule keeps the current one.
    let f = frequency_hz.unwrap_or(1.0);
    if !super::pins::pwm_in_range(f, duty_percent) {
        return Err(GpioConfigError::PwmRange {
            who: rule.to_string(),
            frequency_hz: f,
            duty_percent,
        });
    }
    Ok(())
}

/// A rule's `match` value as the text the core compares payload fields with.
fn match_text(v: &cfg::MatchValue) -> String {
    match v {
        cfg::MatchValue::Bool(b) => b.to_string(),
        cfg::MatchValue::Int(i) => i.to_string(),
        cfg::MatchValue::Str(s) => s.clone(),
    }
}

impl GpioPlan {
    /// The plan for a validated `[gpio]` section, as the station runs it: pins by the BCM
    /// numbers the config resolved (inputs, then outputs, then PWM pins), rules on the kinds it
    /// resolved. The config already refused unknown, reserved and twice-used pins, names used
    /// twice, unknown kinds, fields and targets, and rules driving the wrong kind of pin; what
    /// is left to the actor is its own: rules on its decisions, PWM in range, and the input
    /// sampling against each debounce (at the default poll interval).
    pub fn from_config(g: &cfg::GpioConfig) -> Result<Self, GpioConfigError> {
        let poll_interval = GpioSettings::default().poll_interval;
        let mut pins = Vec::new();
        let inputs = g.inputs.iter().map(|i| {
            let role = PinRole::Input {
                pull: i.pull,
                edge: i.edge,
                debounce: i.debounce,
            };
            (&i.name, i.pin.bcm, role)
        });
        let outputs = g.outputs.iter().map(|o| {
            let role = PinRole::Output {
                rest_high: o.initial_high,
            };
            (&o.name, o.pin.bcm, role)
        });
        let pwms = g.pwms.iter().map(|p| {
            let role = PinRole::Pwm {
                frequency_hz: p.frequency_hz,
                duty_percent: p.duty_percent,
            };
            (&p.name, p.pin.bcm, role)
        });
        for (name, bcm, role) in inputs.chain(outputs).chain(pwms) {
            check_role(name, &role, poll_interval)?;
            pins.push(ResolvedPin {
                name: name.clone(),
                bcm,
                role,
            });
        }
        let mut rules = Vec::new();
        for r in &g.rules {
            check_not_feedback(&r.name, r.on)?;
            if let RuleAction::Pwm {
                duty_percent,
                frequency_hz,
                ..
            } = &r.action
            {
                check_rule_pwm(&r.name, *frequency_hz, *duty_percent)?;
            }
            rules.push(Rule {
                name: r.name.clone(),
                on: r.on,
                when: r
                    .matches
                    .iter()
                    .map(|(k, v)| (k.clone(), match_text(v)))
                    .collect(),
                action: r.action.clone(),
                hold: r.hold,
            });
        }
        Ok(GpioPlan {
            pins,
            rules,
            poll_interval,
        })
    }
}
