//! `[gpio]` as written (the raw TOML shapes) and the checks that turn it into a
//! [`GpioConfig`]: names and pins used once, GPIO 14/15 free when a board link uses the header
//! UART, rules naming known kinds, fields and targets, `sim_press` naming declared inputs.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use serde::{de::Error as _, Deserialize, Deserializer};
use toml::Spanned;
use vigil_events::EventKind;

use super::header::PinRef;
use super::schema::{
    EdgeMode, GpioBackend, GpioConfig, GpioRule, InputPin, MatchValue, OutputPin, Pull, PwmPin,
    RuleAction, SimPress,
};
use crate::classes::lookup_kind;
use crate::error::{ConfigError, Ctx, Problem};
use crate::values::PortSpec;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawGpio {
    backend: GpioBackend,
    input: Vec<RawInput>,
    output: Vec<RawOutput>,
    pwm: Vec<RawPwm>,
    rule: Vec<RawRule>,
    sim_press: Vec<RawSimPress>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSimPress {
    input: Spanned<String>,
    at: Spanned<String>,
    #[serde(
        default = "default_hold",
        deserialize_with = "crate::duration::de_in::<_, 1, 86_400_000>"
    )]
    hold: Duration,
    #[serde(default, deserialize_with = "crate::values::u32_in::<_, 0, 100>")]
    bounces: u32,
}

fn default_hold() -> Duration {
    Duration::from_millis(200)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    name: Spanned<Name>,
    pin: Spanned<PinRef>,
    #[serde(default)]
    pull: Pull,
    #[serde(default)]
    edge: EdgeMode,
    #[serde(
        default = "default_debounce",
        deserialize_with = "crate::values::u32_in::<_, 0, 1000>"
    )]
    debounce_ms: u32,
}

fn default_debounce() -> u32 {
    20
}

#[derive(Debug, Deserialize, Clone, Copy, Default)]
#[serde(rename_all = "lowercase")]
enum Level {
    #[default]
    Low,
    High,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutput {
    name: Spanned<Name>,
    pin: Spanned<PinRef>,
    #[serde(default)]
    initial: Level,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPwm {
    name: Spanned<Name>,
    pin: Spanned<PinRef>,
    #[serde(
        default = "default_freq",
        deserialize_with = "crate::values::f64_in::<_, 100, 1_000_000_000>"
    )]
    frequency_hz: f64,
    #[serde(default, deserialize_with = "crate::values::f64_in::<_, 0, 100_000>")]
    duty: f64,
}

fn default_freq() -> f64 {
    1000.0
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    #[serde(default)]
    name: Option<Name>,
    on: Spanned<String>,
    #[serde(default, rename = "match")]
    matches: BTreeMap<Spanned<String>, Spanned<MatchValue>>,
    set: Spanned<String>,
    #[serde(default)]
    level: Option<Spanned<Level>>,
    #[serde(default)]
    duty: Option<Spanned<Percent>>,
    #[serde(default, deserialize_with = "opt_freq")]
    frequency_hz: Option<f64>,
    #[serde(
        default,
        rename = "for",
        deserialize_with = "crate::duration::de_opt_in::<_, 1, 86_400_000>"
    )]
    hold: Option<Duration>,
}

fn opt_freq<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    crate::values::f64_in::<D, 100, 1_000_000_000>(d).map(Some)
}

/// A duty cycle in percent.
#[derive(Debug)]
struct Percent(f64);

impl<'de> Deserialize<'de> for Percent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = crate::values::Number::deserialize(d)?.0;
        if !(0.0..=100.0).contains(&v) {
            return Err(D::Error::custom(format!(
                "duty {v} % is out of range, expected 0 to 100"
            )));
        }
        Ok(Percent(v))
    }
}

/// A non-empty name.
#[derive(Debug, Clone)]
struct Name(String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::values::non_empty(d).map(Name)
    }
}

/// The ports whose header UART use takes GPIO 14/15.
pub(crate) struct UartUsers<'a> {
    pub power: &'a PortSpec,
    pub pico: &'a PortSpec,
}

impl RawGpio {
    pub(crate) fn validate(
        self,
        ctx: &Ctx<'_>,
        uart: UartUsers<'_>,
    ) -> Result<GpioConfig, ConfigError> {
        // Every pin entry in file order: (role, name, pin).
        let mut entries: Vec<(&'static str, &Spanned<Name>, &Spanned<PinRef>)> = Vec::new();
        entries.extend(self.input.iter().map(|p| ("input", &p.name, &p.pin)));
        entries.extend(self.output.iter().map(|p| ("output", &p.name, &p.pin)));
        entries.extend(self.pwm.iter().map(|p| ("pwm", &p.name, &p.pin)));
        entries.sort_by_key(|(_, n, _)| n.span().start);

        let mut names: BTreeMap<&str, Range<usize>> = BTreeMap::new();
        let mut pins: BTreeMap<u8, (&'static str, &str, Range<usize>)> = BTreeMap::new();
        for (role, name, pin) in &entries {
            let n = name.get_ref().0.as_str();
            if let Some(first) = names.get(n) {
                return Err(ctx.invalid(
                    Some(&name.span()),
                    Problem::DuplicateName {
                        what: "pin",
                        name: n.to_string(),
                        first_line: ctx.line(first),
                    },
                ));
            }
            names.insert(n, name.span());
            let p = *pin.get_ref();
            if let Some((first_role, first, span)) = pins.get(&p.bcm) {
                return Err(ctx.invalid(
                    Some(&pin.span()),
                    Problem::PinUsedTwice {
                        pin: p.to_string(),
                        first: first.to_string(),
                        first_role,
                        first_line: ctx.line(span),
                    },
                ));
            }
            if p.bcm == 14 || p.bcm == 15 {
                for (key, port) in [("power.port", uart.power), ("pico.port", uart.pico)] {
                    if port.is_header_uart() {
                        return Err(ctx.invalid(
                            Some(&pin.span()),
                            Problem::PinOnUart {
                                pin: p.to_string(),
                                key,
                                port: port.to_string(),
                            },
                        ));
                    }
                }
            }
            pins.insert(p.bcm, (role, n, pin.span()));
        }

        let mut rules = Vec::with_capacity(self.rule.len());
        for r in &self.rule {
            rules.push(self.validate_rule(ctx, r)?);
        }
        let mut sim_presses = Vec::with_capacity(self.sim_press.len());
        for p in &self.sim_press {
            let bad =
                |span: Range<usize>, msg: String| ctx.invalid(Some(&span), Problem::SimPress(msg));
            if self.backend != GpioBackend::Sim {
                return Err(bad(
                    p.input.span(),
                    "sim_press scripts the simulated pins: it needs `backend = \"sim\"`".into(),
                ));
            }
            let name = p.input.get_ref();
            if !self.input.iter().any(|i| &i.name.get_ref().0 == name) {
                let declared: Vec<&str> = self
                    .input
                    .iter()
                    .map(|i| i.name.get_ref().0.as_str())
                    .collect();
                return Err(bad(
                    p.input.span(),
                    format!(
                        "sim_press names \"{name}\", which is not a declared gpio input (declared: {})",
                        if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
                    ),
                ));
            }
            let at = chrono::DateTime::parse_from_rfc3339(p.at.get_ref()).map_err(|e| {
                bad(
                    p.at.span(),
                    format!(
                        "sim_press time \"{}\" is not RFC 3339 (e.g. \"2026-06-01T05:00:00Z\"): {e}",
                        p.at.get_ref()
                    ),
                )
            })?;
            sim_presses.push(SimPress {
                input: name.clone(),
                at_us: at.timestamp_micros(),
                hold: p.hold,
                bounces: p.bounces,
            });
        }

        Ok(GpioConfig {
            backend: self.backend,
            inputs: self
                .input
                .iter()
                .map(|p| InputPin {
                    name: p.name.get_ref().0.clone(),
                    pin: *p.pin.get_ref(),
                    pull: p.pull,
                    edge: p.edge,
                    debounce: Duration::from_millis(u64::from(p.debounce_ms)),
                })
                .collect(),
            outputs: self
                .output
                .iter()
                .map(|p| OutputPin {
                    name: p.name.get_ref().0.clone(),
                    pin: *p.pin.get_ref(),
                    initial_high: matches!(p.initial, Level::High),
                })
                .collect(),
            pwms: self
                .pwm
                .iter()
                .map(|p| PwmPin {
                    name: p.name.get_ref().0.clone(),
                    pin: *p.pin.get_ref(),
                    frequency_hz: p.frequency_hz,
                    duty_percent: p.duty,
                })
                .collect(),
            rules,
            sim_presses,
        })
    }

    fn validate_rule(&self, ctx: &Ctx<'_>, r: &RawRule) -> Result<GpioRule, ConfigError> {
        let kind = lookup_kind(ctx, &r.on)?;
        let fields = payload_fields(kind);
        let mut matches = BTreeMap::new();
        for (field, value) in &r.matches {
            let Some(sample) = fields.get(field.get_ref()) else {
                return Err(ctx.invalid(
                    Some(&field.span()),
                    Problem::UnknownMatchField {
                        kind: kind.name(),
                        field: field.get_ref().clone(),
                        fields: fields.keys().cloned().collect::<Vec<_>>().join(", "),
                    },
                ));
            };
            let expected = json_type(sample);
            let ok = matches!(
                (value.get_ref(), sample),
                (MatchValue::Bool(_), serde_json::Value::Bool(_))
                    | (MatchValue::Str(_), serde_json::Value::String(_))
                    | (MatchValue::Int(_), serde_json::Value::Number(_))
            );
            if !ok {
                return Err(ctx.invalid(
                    Some(&value.span()),
                    Problem::MatchType {
                        kind: kind.name(),
                        field: field.get_ref().clone(),
                        expected,
                    },
                ));
            }
            matches.insert(field.get_ref().clone(), value.get_ref().clone());
        }

        let target = r.set.get_ref();
        let is_output = self.output.iter().any(|p| &p.name.get_ref().0 == target);
        let is_pwm = self.pwm.iter().any(|p| &p.name.get_ref().0 == target);
        if !is_output && !is_pwm {
            let declared: Vec<&str> = self
                .output
                .iter()
                .map(|p| p.name.get_ref().0.as_str())
                .chain(self.pwm.iter().map(|p| p.name.get_ref().0.as_str()))
                .collect();
            return Err(ctx.invalid(
                Some(&r.set.span()),
                Problem::UnknownRuleTarget {
                    target: target.clone(),
                    declared: if declared.is_empty() {
                        "none".to_string()
                    } else {
                        declared.join(", ")
                    },
                },
            ));
        }
        let action_err =
            |span: Range<usize>, msg: String| ctx.invalid(Some(&span), Problem::RuleAction(msg));
        let action = match (&r.level, &r.duty) {
            (Some(_), Some(duty)) => {
                return Err(action_err(
                    duty.span(),
                    "a rule sets either `level` (output) or `duty` (pwm), not both".to_string(),
                ))
            }
            (None, None) => {
                return Err(action_err(
                    r.set.span(),
                    format!(
                        "rule setting \"{target}\" needs `{}`",
                        if is_output {
                            "level = \"high\" or \"low\""
                        } else {
                            "duty = 0–100"
                        }
                    ),
                ))
            }
            (Some(level), None) => {
                if !is_output {
                    return Err(action_err(
                        level.span(),
                        format!("\"{target}\" is a pwm pin: set `duty` (0–100), not `level`"),
                    ));
                }
                if r.frequency_hz.is_some() {
                    return Err(action_err(
                        r.set.span(),
                        format!(
                            "\"{target}\" is an output: `frequency_hz` applies to pwm pins only"
                        ),
                    ));
                }
                RuleAction::Level {
                    output: target.clone(),
                    high: matches!(level.get_ref(), Level::High),
                }
            }
            (None, Some(duty)) => {
                if !is_pwm {
                    return Err(action_err(
                        duty.span(),
                        format!("\"{target}\" is an output: set `level`, not `duty`"),
                    ));
                }
                RuleAction::Pwm {
                    output: target.clone(),
                    duty_percent: duty.get_ref().0,
                    frequency_hz: r.frequency_hz,
                }
            }
        };
        Ok(GpioRule {
            name: r
                .name
                .as_ref()
                .map_or_else(|| format!("{}->{}", kind.name(), target), |n| n.0.clone()),
            on: kind,
            matches,
            action,
            hold: r.hold,
        })
    }
}

/// Top-level payload fields of `kind` with a sample value each (from the catalogue's samples).
fn payload_fields(kind: EventKind) -> BTreeMap<String, serde_json::Value> {
    match serde_json::to_value(vigil_events::samples::sample(kind)) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "integer",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "list (cannot be matched)",
        serde_json::Value::Object(_) => "table (cannot be matched)",
        serde_json::Value::Null => "optional value (cannot be matched)",
    }
}
