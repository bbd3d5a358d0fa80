//! `[supervisor]`: how the supervisor process is run by its service manager.

use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::duration::Human;
use crate::error::{ConfigError, Ctx, Problem};
use crate::power::PowerConfig;

/// The stop timeout the shipped unit (`ops/systemd/vigil.service`, `TimeoutStopSec=`) gives
/// the supervisor. A test keeps the two in agreement.
pub const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// `[supervisor]`.
///
/// ```toml
/// [supervisor]
/// stop_timeout = "10s"   # the unit's TimeoutStopSec; shorter than [power] halt_grace
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupervisorConfig {
    /// The longest the service manager waits for a clean stop before it kills the
    /// supervisor (systemd's `TimeoutStopSec=`; set both alike). It must be shorter than
    /// `[power] halt_grace`, so the ESP32 never cuts the power of a Pi that is still
    /// stopping. Default [`DEFAULT_STOP_TIMEOUT`].
    pub stop_timeout: Duration,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        SupervisorConfig {
            stop_timeout: DEFAULT_STOP_TIMEOUT,
        }
    }
}

/// `[supervisor]` as written, with the span for the cross-check against `[power]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawSupervisor {
    stop_timeout: Option<Spanned<StopTimeout>>,
}

/// 1 s to 1 h.
#[derive(Debug)]
struct StopTimeout(Duration);

impl<'de> Deserialize<'de> for StopTimeout {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::duration::de_in::<D, 1_000, 3_600_000>(d).map(StopTimeout)
    }
}

impl RawSupervisor {
    /// Refuses a stop timeout that is not shorter than the power board's halt grace.
    /// `halt_grace_span` is where the file sets `[power] halt_grace`, if it does.
    pub(crate) fn validate(
        self,
        ctx: &Ctx<'_>,
        power: &PowerConfig,
        halt_grace_span: Option<Range<usize>>,
    ) -> Result<SupervisorConfig, ConfigError> {
        let (stop_timeout, span) = match self.stop_timeout {
            Some(s) => (s.get_ref().0, Some(s.span())),
            None => (DEFAULT_STOP_TIMEOUT, None),
        };
        if power.halt_grace <= stop_timeout {
            return Err(ctx.invalid(
                span.as_ref().or(halt_grace_span.as_ref()),
                Problem::OutOfOrder {
                    key: "power.halt_grace",
                    value: Human(power.halt_grace).to_string(),
                    relation: "longer than",
                    other_key: "supervisor.stop_timeout",
                    other: Human(stop_timeout).to_string(),
                },
            ));
        }
        Ok(SupervisorConfig { stop_timeout })
    }
}
