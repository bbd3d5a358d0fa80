//! `[gpio]`: input, output and PWM pins, and the rules that drive outputs from events.
//!
//! Pins are named by BCM number (`pin = 17`, or `"bcm:17"`) or by physical header pin
//! (`pin = "board:11"`); both forms are mapped to a [`PinRef`] carrying both numbers. A pin
//! used twice, a power or ground header pin, BCM 0/1 (reserved for the HAT ID EEPROM), a
//! number that is not on the 40-pin header, and GPIO 14/15 while a board link uses the
//! header UART are all refused.
//!
//! ```toml
//! [gpio]
//! backend = "sim"                  # or "rppal" (cargo feature `rpi`)
//!
//! [[gpio.input]]
//! name = "button"
//! pin = "board:11"                 # = BCM 17
//! pull = "up"                      # up | down | none
//! edge = "falling"                 # rising | falling | both
//! debounce_ms = 20
//!
//! [[gpio.output]]
//! name = "led"
//! pin = 18
//! initial = "low"
//!
//! [[gpio.pwm]]
//! name = "fan"
//! pin = 13
//! frequency_hz = 25000
//! duty = 0                         # percent, 0–100
//!
//! [[gpio.rule]]
//! on = "Detection"                 # an event kind
//! match = { class = "person" }     # optional: payload fields that must be equal
//! set = "led"
//! level = "high"                   # outputs: level; PWM pins: duty (and frequency_hz)
//! for = "5s"                       # optional: back to the previous state after this
//! ```
//!
//! ## Troubleshooting
//!
//! - "is a 5 V power pin" / "is a ground pin": the physical pin number is not a GPIO; see the
//!   header map in the docs of [`PinRef::from_board`].
//! - "is the UART used by power.port": GPIO 14/15 carry the serial link to the ESP32 when
//!   `power.port` (or `pico.port`) is `/dev/serial0`; pick another pin.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::time::Duration;

use serde::{de::Error as _, Deserialize, Deserializer};
use toml::Spanned;
use vigil_events::EventKind;

use crate::classes::lookup_kind;
use crate::error::{ConfigError, Ctx, Problem};
use crate::values::PortSpec;

/// Which pin driver runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GpioBackend {
    /// Simulated pins that tests can script (runs anywhere).
    #[default]
    Sim,
    /// The Pi's GPIO through rppal (cargo feature `rpi`).
    Rppal,
}

/// What a physical pin of the 40-pin header is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Header {
    V3,
    V5,
    Gnd,
    Gpio(u8),
}

/// The 40-pin header, physical pin 1 first.
const HEADER: [Header; 40] = {
    use Header::*;
    [
        V3,
        V5,
        Gpio(2),
        V5,
        Gpio(3),
        Gnd,
        Gpio(4),
        Gpio(14),
        Gnd,
        Gpio(15), // 1–10
        Gpio(17),
        Gpio(18),
        Gpio(27),
        Gnd,
        Gpio(22),
        Gpio(23),
        V3,
        Gpio(24),
        Gpio(10),
        Gnd, // 11–20
        Gpio(9),
        Gpio(25),
        Gpio(11),
        Gpio(8),
        Gnd,
        Gpio(7),
        Gpio(0),
        Gpio(1),
        Gpio(5),
        Gnd, // 21–30
        Gpio(6),
        Gpio(12),
        Gpio(13),
        Gnd,
        Gpio(19),
        Gpio(16),
        Gpio(26),
        Gpio(20),
        Gnd,
        Gpio(21), // 31–40
    ]
};

/// A GPIO on the 40-pin header, with both its numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PinRef {
    /// Broadcom (BCM) GPIO number, what rppal uses.
    pub bcm: u8,
    /// Physical header pin (1–40).
    pub physical: u8,
}

/// Why a pin spec was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    /// The spec is neither an integer nor `board:N` / `bcm:N`.
    #[error("invalid pin \"{0}\", expected a BCM number (17), \"bcm:17\" or a physical header pin \"board:11\"")]
    Syntax(String),
    /// A BCM number that is not on the 40-pin header.
    #[error("unknown pin: BCM {0} is not on the 40-pin header (BCM 2–27)")]
    UnknownBcm(i64),
    /// A physical number outside 1–40.
    #[error("unknown pin: board:{0} is not on the 40-pin header (board:1 to board:40)")]
    UnknownBoard(i64),
    /// A power or ground header pin.
    #[error("board:{physical} is a {what} pin, not a GPIO")]
    NotGpio {
        /// Physical pin.
        physical: u8,
        /// `3.3 V power`, `5 V power`, `ground`.
        what: &'static str,
    },
    /// GPIO 0/1 (ID_SD/ID_SC).
    #[error("BCM {bcm} (board:{physical}) is reserved for the HAT ID EEPROM")]
    Reserved {
        /// BCM number.
        bcm: u8,
        /// Physical pin.
        physical: u8,
    },
}

impl PinRef {
    /// The pin with BCM number `bcm`.
    pub fn from_bcm(bcm: i64) -> Result<PinRef, PinError> {
        let physical = HEADER
            .iter()
            .position(|h| matches!(h, Header::Gpio(b) if i64::from(*b) == bcm))
            .ok_or(PinError::UnknownBcm(bcm))?;
        Self::checked(bcm as u8, physical as u8 + 1)
    }

    /// The GPIO at physical header pin `physical` (1–40). Header map (physical → BCM):
    /// 3→2, 5→3, 7→4, 8→14, 10→15, 11→17, 12→18, 13→27, 15→22, 16→23, 18→24, 19→10, 21→9,
    /// 22→25, 23→11, 24→8, 26→7, 29→5, 31→6, 32→12, 33→13, 35→19, 36→16, 37→26, 38→20,
    /// 40→21; 1 and 17 are 3.3 V, 2 and 4 are 5 V; 6, 9, 14, 20, 25, 30, 34, 39 are ground;
    /// 27/28 are BCM 0/1 (HAT ID EEPROM, refused).
    pub fn from_board(physical: i64) -> Result<PinRef, PinError> {
        let idx = usize::try_from(physical - 1)
            .ok()
            .filter(|i| *i < HEADER.len())
            .ok_or(PinError::UnknownBoard(physical))?;
        let p = physical as u8;
        match HEADER[idx] {
            Header::Gpio(bcm) => Self::checked(bcm, p),
            Header::V3 => Err(PinError::NotGpio {
                physical: p,
                what: "3.3 V power",
            }),
            Header::V5 => Err(PinError::NotGpio {
                physical: p,
                what: "5 V power",
            }),
            Header::Gnd => Err(PinError::NotGpio {
                physical: p,
                what: "ground",
            }),
        }
    }

    fn checked(bcm: u8, physical: u8) -> Result<PinRef, PinError> {
        if bcm <= 1 {
            return Err(PinError::Reserved { bcm, physical });
        }
        Ok(PinRef { bcm, physical })
    }

    /// Parse `17`, `"bcm:17"` or `"board:11"` (as text).
    pub fn parse(spec: &str) -> Result<PinRef, PinError> {
        let num = |t: &str| {
            t.parse::<i64>()
                .map_err(|_| PinError::Syntax(spec.to_string()))
        };
        if let Some(n) = spec.strip_prefix("board:") {
            Self::from_board(num(n)?)
        } else if let Some(n) = spec.strip_prefix("bcm:") {
            Self::from_bcm(num(n)?)
        } else {
            Self::from_bcm(num(spec)?)
        }
    }
}

impl fmt::Display for PinRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BCM {} (board:{})", self.bcm, self.physical)
    }
}

impl<'de> Deserialize<'de> for PinRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PinRef;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a BCM number (17), \"bcm:17\" or a physical header pin \"board:11\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PinRef, E> {
                PinRef::from_bcm(v).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PinRef, E> {
                PinRef::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Input bias.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pull {
    /// Internal pull-up (button to ground).
    #[default]
    Up,
    /// Internal pull-down.
    Down,
    /// No bias (external resistor).
    None,
}

/// Which debounced edges become `GpioEdge` events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeMode {
    /// Low → high.
    Rising,
    /// High → low.
    #[default]
    Falling,
    /// Both.
    Both,
}

/// An input pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputPin {
    /// Name (unique among all pins), used in events and rules.
    pub name: String,
    /// The pin.
    pub pin: PinRef,
    /// Bias. Default up.
    pub pull: Pull,
    /// Edges reported. Default falling.
    pub edge: EdgeMode,
    /// Debounce time (0–1000 ms). Default 20 ms.
    pub debounce: Duration,
}

/// An output pin, driven only by rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputPin {
    /// Name (unique among all pins).
    pub name: String,
    /// The pin.
    pub pin: PinRef,
    /// Level at start (and after a rule's hold time). Default low.
    pub initial_high: bool,
}

/// A PWM output, driven only by rules.
#[derive(Clone, Debug, PartialEq)]
pub struct PwmPin {
    /// Name (unique among all pins).
    pub name: String,
    /// The pin.
    pub pin: PinRef,
    /// Frequency in Hz (0.1 Hz – 1 MHz). Default 1000.
    pub frequency_hz: f64,
    /// Duty cycle at start, percent 0–100. Default 0.
    pub duty_percent: f64,
}

/// A value a rule's `match` compares a payload field with.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum MatchValue {
    /// A boolean field.
    Bool(bool),
    /// An integer field.
    Int(i64),
    /// A string field (also enum fields such as a detection's `class`).
    Str(String),
}

impl MatchValue {
    /// Whether `value` (a payload field as JSON, e.g. from `serde_json::to_value(&event)`)
    /// equals this.
    pub fn matches(&self, value: &serde_json::Value) -> bool {
        match (self, value) {
            (MatchValue::Bool(a), serde_json::Value::Bool(b)) => a == b,
            (MatchValue::Int(a), serde_json::Value::Number(n)) => n.as_i64() == Some(*a),
            (MatchValue::Str(a), serde_json::Value::String(b)) => a == b,
            _ => false,
        }
    }
}

/// What a rule does.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleAction {
    /// Set an output pin's level.
    Level {
        /// Output name.
        output: String,
        /// High or low.
        high: bool,
    },
    /// Set a PWM pin.
    Pwm {
        /// PWM pin name.
        output: String,
        /// Duty, percent 0–100.
        duty_percent: f64,
        /// New frequency, if given.
        frequency_hz: Option<f64>,
    },
}

/// A `[[gpio.rule]]`: on an event of `on` whose payload matches, perform `action`.
#[derive(Clone, Debug, PartialEq)]
pub struct GpioRule {
    /// Rule name (recorded in `OutputChanged`/`PwmChanged`). Default `<kind>-><pin>`.
    pub name: String,
    /// The event kind that triggers it.
    pub on: EventKind,
    /// Payload fields that must equal these values (all of them).
    pub matches: BTreeMap<String, MatchValue>,
    /// What it does.
    pub action: RuleAction,
    /// If set, the pin returns to its previous state after this long.
    pub hold: Option<Duration>,
}

impl GpioRule {
    /// Whether an event of `kind` with payload `payload` (as JSON) triggers this rule.
    pub fn applies(&self, kind: EventKind, payload: &serde_json::Value) -> bool {
        kind == self.on
            && self
                .matches
                .iter()
                .all(|(field, want)| payload.get(field).is_some_and(|v| want.matches(v)))
    }
}

/// `[gpio]`, validated.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GpioConfig {
    /// Pin driver. Default sim.
    pub backend: GpioBackend,
    /// Inputs.
    pub inputs: Vec<InputPin>,
    /// Outputs.
    pub outputs: Vec<OutputPin>,
    /// PWM pins.
    pub pwms: Vec<PwmPin>,
    /// Rules, in file order.
    pub rules: Vec<GpioRule>,
    /// Scripted presses of simulated inputs (`backend = "sim"` only), in file order.
    pub sim_presses: Vec<SimPress>,
}

/// A `[[gpio.sim_press]]`: the simulated backend presses an input at a station time, so a
/// simulated station (and its tests) can exercise buttons, debounce and rules.
///
/// ```toml
/// [[gpio.sim_press]]
/// input = "button"
/// at = "2026-06-01T05:00:00Z"   # station time, RFC 3339
/// hold = "200ms"                 # how long it is held (default 200ms)
/// bounces = 3                    # contact chatter at press and release (default 0)
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimPress {
    /// Input name.
    pub input: String,
    /// When the press starts, UTC µs.
    pub at_us: i64,
    /// How long it is held.
    pub hold: Duration,
    /// Chatter at press and at release.
    pub bounces: u32,
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_and_bcm_numbers_map_both_ways() {
        assert_eq!(
            PinRef::parse("board:11"),
            Ok(PinRef {
                bcm: 17,
                physical: 11
            })
        );
        assert_eq!(
            PinRef::parse("17"),
            Ok(PinRef {
                bcm: 17,
                physical: 11
            })
        );
        assert_eq!(
            PinRef::parse("bcm:21"),
            Ok(PinRef {
                bcm: 21,
                physical: 40
            })
        );
        // Every BCM 2–27 is on the header exactly once, and round-trips.
        for bcm in 2..=27 {
            let p = PinRef::from_bcm(bcm).unwrap_or(PinRef {
                bcm: 0,
                physical: 0,
            });
            assert_eq!(i64::from(p.bcm), bcm);
            assert_eq!(PinRef::from_board(i64::from(p.physical)), Ok(p));
        }
    }

    #[test]
    fn power_ground_reserved_and_unknown_pins_are_refused() {
        assert_eq!(
            PinRef::parse("board:2"),
            Err(PinError::NotGpio {
                physical: 2,
                what: "5 V power"
            })
        );
        assert_eq!(
            PinRef::parse("board:17"),
            Err(PinError::NotGpio {
                physical: 17,
                what: "3.3 V power"
            })
        );
        assert_eq!(
            PinRef::parse("board:39"),
            Err(PinError::NotGpio {
                physical: 39,
                what: "ground"
            })
        );
        assert_eq!(PinRef::parse("board:41"), Err(PinError::UnknownBoard(41)));
        assert_eq!(PinRef::parse("board:0"), Err(PinError::UnknownBoard(0)));
        assert_eq!(PinRef::parse("28"), Err(PinError::UnknownBcm(28)));
        assert_eq!(PinRef::parse("-3"), Err(PinError::UnknownBcm(-3)));
        assert_eq!(
            PinRef::parse("0"),
            Err(PinError::Reserved {
                bcm: 0,
                physical: 27
            })
        );
        assert_eq!(
            PinRef::parse("GPIO17"),
            Err(PinError::Syntax("GPIO17".into()))
        );
    }
}
