//! The GPIO actor's plan: the validated `[gpio]` section ([`vigil_config::GpioConfig`])
//! resolved to BCM pins and rules on kinds ([`GpioPlan::from_config`]), with the checks that
//! are the actor's own. Pins, names, kinds, fields and targets are the config's to check.

use std::collections::BTreeMap;
use std::time::Duration;

use vigil_config::gpio as cfg;
pub use vigil_config::gpio::RuleAction;
use vigil_events::{Event, EventKind};

use super::pins::{EdgeMode, Pull};

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

/// The interval at which the performer samples inputs.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(2);

/// A validated `[gpio]` section the actor still cannot run. Each variant names what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GpioConfigError {
    /// A rule on the GPIO actor's own decisions would feed on itself.
    #[error("gpio rule `{rule}`: rules on {kind} are refused (they would trigger themselves)")]
    Feedback {
        /// Rule name.
        rule: String,
        /// The kind.
        kind: String,
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
    /// Pins: inputs, then outputs, then PWM pins, each in config order.
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
    /// sampling against each debounce (at [`DEFAULT_POLL_INTERVAL`]).
    pub fn from_config(g: &cfg::GpioConfig) -> Result<Self, GpioConfigError> {
        let poll_interval = DEFAULT_POLL_INTERVAL;
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
