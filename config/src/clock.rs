//! `[clock]`: wall-clock jump detection.

use std::time::Duration;

use serde::Deserialize;

/// `[clock]`.
///
/// ```toml
/// [clock]
/// jump_tolerance = "2s"   # wall vs monotonic drift that counts as a jump
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClockConfig {
    /// A wall-clock move against the monotonic clock larger than this is a `ClockJumped`
    /// event (10 ms to 1 h). Default 2 s.
    #[serde(deserialize_with = "crate::duration::de_in::<_, 10, 3_600_000>")]
    pub jump_tolerance: Duration,
}

impl Default for ClockConfig {
    fn default() -> Self {
        ClockConfig {
            jump_tolerance: Duration::from_secs(2),
        }
    }
}
