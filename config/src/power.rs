//! `[power]`: the ESP32 power controller link and the halt handshake.

use std::time::Duration;

use serde::{de::Error as _, Deserialize, Deserializer};
use toml::Spanned;

use crate::duration::Human;
use crate::error::{ConfigError, Ctx, Problem};
use crate::values::PortSpec;

/// `[power]`.
///
/// ```toml
/// [power]
/// port = "sim"                 # or "/dev/serial0"
/// baud = 115200
/// heartbeat = "5s"             # Pi → ESP32 heartbeat period
/// watchdog = "2m"              # no heartbeat this long inside a window: power-cycle
/// halt_grace = "30s"           # after heartbeats stop, wait this long before cutting
/// hard_deadline = "3m"         # after the halt notice, cut at the latest after this
/// poweroff_command = "true"    # or ["systemctl", "poweroff"]
/// push_days = 7                # days of resolved windows pushed to the ESP32
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PowerConfig {
    /// Serial port of the ESP32, or `sim`. Default sim.
    pub port: PortSpec,
    /// Baud rate. Default 115200.
    pub baud: u32,
    /// Heartbeat period. Default 5 s.
    pub heartbeat: Duration,
    /// Missing heartbeats this long inside a window trip the board's watchdog; at least two
    /// heartbeat periods. Default 2 min.
    pub watchdog: Duration,
    /// Grace between the last heartbeat of a halting Pi and the power cut. Default 30 s.
    pub halt_grace: Duration,
    /// Latest cut after the halt notice, answer or not; longer than `halt_grace`.
    /// Default 3 min.
    pub hard_deadline: Duration,
    /// Program and arguments run to power the Pi off (`true` in the simulated default).
    pub poweroff_command: Vec<String>,
    /// Days of windows pushed to the ESP32 (1–30). Default 7.
    pub push_days: u32,
}

impl Default for PowerConfig {
    fn default() -> Self {
        PowerConfig {
            port: PortSpec::Sim,
            baud: 115_200,
            heartbeat: Duration::from_secs(5),
            watchdog: Duration::from_secs(120),
            halt_grace: Duration::from_secs(30),
            hard_deadline: Duration::from_secs(180),
            poweroff_command: vec!["true".to_string()],
            push_days: 7,
        }
    }
}

/// `[power]` as written, with spans for the cross-checks.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawPower {
    port: Option<PortSpec>,
    #[serde(deserialize_with = "opt_u32_in::<_, 1200, 4_000_000>")]
    baud: Option<u32>,
    heartbeat: Option<Spanned<Dur<100, 3_600_000>>>,
    watchdog: Option<Spanned<Dur<1_000, 86_400_000>>>,
    halt_grace: Option<Spanned<Dur<0, 3_600_000>>>,
    hard_deadline: Option<Spanned<Dur<1_000, 86_400_000>>>,
    poweroff_command: Option<Command>,
    #[serde(deserialize_with = "opt_u32_in::<_, 1, 30>")]
    push_days: Option<u32>,
}

fn opt_u32_in<'de, D: Deserializer<'de>, const MIN: u32, const MAX: u32>(
    d: D,
) -> Result<Option<u32>, D::Error> {
    crate::values::u32_in::<D, MIN, MAX>(d).map(Some)
}

/// A duration within bounds (ms), as a type so it can sit inside `Spanned`.
#[derive(Debug)]
struct Dur<const MIN: u64, const MAX: u64>(Duration);

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Dur<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::duration::de_in::<D, MIN, MAX>(d).map(Dur)
    }
}

/// A command line: a string split on whitespace, or an array of arguments.
#[derive(Debug)]
struct Command(Vec<String>);

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Line(String),
            Args(Vec<String>),
        }
        let argv = match Form::deserialize(d)
            .map_err(|_| D::Error::custom("expected a command: a string or an array of strings"))?
        {
            Form::Line(s) => s.split_whitespace().map(str::to_string).collect(),
            Form::Args(v) => v,
        };
        if argv.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(D::Error::custom(
                "the command is empty, expected a program such as \"true\" or [\"systemctl\", \"poweroff\"]",
            ));
        }
        Ok(Command(argv))
    }
}

impl RawPower {
    /// Where the file sets `halt_grace`, for checks against other sections.
    pub(crate) fn halt_grace_span(&self) -> Option<std::ops::Range<usize>> {
        self.halt_grace.as_ref().map(Spanned::span)
    }

    pub(crate) fn validate(self, ctx: &Ctx<'_>) -> Result<PowerConfig, ConfigError> {
        let d = PowerConfig::default();
        let (hb, hb_span) = unspan(self.heartbeat, d.heartbeat);
        let (wd, wd_span) = unspan(self.watchdog, d.watchdog);
        let (grace, grace_span) = unspan(self.halt_grace, d.halt_grace);
        let (deadline, deadline_span) = unspan(self.hard_deadline, d.hard_deadline);
        if wd < hb * 2 {
            return Err(ctx.invalid(
                wd_span.as_ref().or(hb_span.as_ref()),
                Problem::OutOfOrder {
                    key: "power.watchdog",
                    value: Human(wd).to_string(),
                    relation: "at least twice",
                    other_key: "power.heartbeat",
                    other: Human(hb).to_string(),
                },
            ));
        }
        if deadline <= grace {
            return Err(ctx.invalid(
                deadline_span.as_ref().or(grace_span.as_ref()),
                Problem::OutOfOrder {
                    key: "power.hard_deadline",
                    value: Human(deadline).to_string(),
                    relation: "longer than",
                    other_key: "power.halt_grace",
                    other: Human(grace).to_string(),
                },
            ));
        }
        Ok(PowerConfig {
            port: self.port.unwrap_or(d.port),
            baud: self.baud.unwrap_or(d.baud),
            heartbeat: hb,
            watchdog: wd,
            halt_grace: grace,
            hard_deadline: deadline,
            poweroff_command: self.poweroff_command.map_or(d.poweroff_command, |c| c.0),
            push_days: self.push_days.unwrap_or(d.push_days),
        })
    }
}

fn unspan<const MIN: u64, const MAX: u64>(
    v: Option<Spanned<Dur<MIN, MAX>>>,
    default: Duration,
) -> (Duration, Option<std::ops::Range<usize>>) {
    match v {
        Some(s) => (s.get_ref().0, Some(s.span())),
        None => (default, None),
    }
}
