//! `[gpio]` as validated: the pins, their roles and the rules. These are the GPIO actor's input
//! (it resolves them to a plan, it never parses them again).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use vigil_events::EventKind;

use super::header::PinRef;

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

/// A word that is not one of the expected names (`Pull` and `EdgeMode` from text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{got}` (expected {expected})")]
pub struct UnknownName {
    /// What was parsed.
    pub what: &'static str,
    /// As written.
    pub got: String,
    /// The accepted words.
    pub expected: &'static str,
}

impl FromStr for Pull {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "none" | "off" => Ok(Pull::None),
            "up" => Ok(Pull::Up),
            "down" => Ok(Pull::Down),
            _ => Err(UnknownName {
                what: "pull",
                got: s.to_string(),
                expected: "none, up or down",
            }),
        }
    }
}

impl fmt::Display for Pull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pull::None => "none",
            Pull::Up => "up",
            Pull::Down => "down",
        })
    }
}

impl EdgeMode {
    /// Whether `edge` is reported in this mode.
    pub fn reports(self, edge: vigil_events::kinds::Edge) -> bool {
        use vigil_events::kinds::Edge;
        matches!(
            (self, edge),
            (EdgeMode::Both, _)
                | (EdgeMode::Rising, Edge::Rising)
                | (EdgeMode::Falling, Edge::Falling)
        )
    }
}

impl FromStr for EdgeMode {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "rising" => Ok(EdgeMode::Rising),
            "falling" => Ok(EdgeMode::Falling),
            "both" => Ok(EdgeMode::Both),
            _ => Err(UnknownName {
                what: "edge",
                got: s.to_string(),
                expected: "rising, falling or both",
            }),
        }
    }
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

/// What a rule does (the GPIO actor's rules take it as it is).
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
        /// New frequency, Hz (above zero); `None` keeps the current one.
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
