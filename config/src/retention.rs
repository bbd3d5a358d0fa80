//! `[retention]`: how long events are kept, per data class and per kind.
//!
//! Audit-relevant kinds ([`EventKind::is_audit`]) are kept at least
//! [`AUDIT_MIN_DAYS`] days: a config whose class or kind entry would keep any of them for
//! less is refused, pointing at that entry.
//!
//! Status: enforced by `vigil retention` (planner `vigil_actors::retention::plan`, executor
//! `vigil_actors::retention::run`): due records become redactions under a `RecordsDestroyed`
//! record, their frames and videos are deleted, and below `disk_floor_mb` the oldest
//! unprotected media go first (see `docs/store.md` "Retention and purge"). The periodic run
//! inside the supervisor (`run_every`) is not wired yet.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;
use vigil_events::{ClassPolicy, DataClass, EventKind};

use crate::classes::{lookup_kind, Classes};
use crate::error::{ConfigError, Ctx, Problem};

/// The least number of days audit-relevant events are kept.
pub const AUDIT_MIN_DAYS: u32 = 180;

/// `[retention]`.
///
/// ```toml
/// [retention]
/// general = 90          # days, per data class
/// important = 400
/// core = 1825
/// run_every = "6h"      # how often the retention job runs
/// disk_floor_mb = 512   # below this much free space, media go oldest and lowest class first
/// disk_target_mb = 1024 # ... until this much is free again
/// evidence_span = "5m"  # frames this close to a person detection are protected
/// [retention.kinds]     # per-kind overrides, in days
/// ThermalFrame = 7
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Days `general` events are kept. Default 90.
    pub general_days: u32,
    /// Days `important` events are kept. Default 400.
    pub important_days: u32,
    /// Days `core` events are kept. Default 1825.
    pub core_days: u32,
    /// Per-kind overrides (days), whatever the kind's class.
    pub kinds: BTreeMap<EventKind, u32>,
    /// How often the retention job runs. Default 6 h.
    pub run_every: Duration,
    /// Free space (MiB) below which disk pressure deletes media; `None`: no disk pressure rule.
    pub disk_floor_mb: Option<u64>,
    /// Free space (MiB) disk pressure deletes up to; at least the floor. Default twice it.
    pub disk_target_mb: Option<u64>,
    /// Frames this close (before or after) to a person detection are protected evidence,
    /// raised to class `important`. Default 5 min.
    pub evidence_span: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            general_days: 90,
            important_days: 400,
            core_days: 1825,
            kinds: BTreeMap::new(),
            run_every: Duration::from_secs(6 * 3600),
            disk_floor_mb: None,
            disk_target_mb: None,
            evidence_span: Duration::from_secs(300),
        }
    }
}

impl RetentionConfig {
    /// Days a class is kept (unless a kind override applies).
    pub fn class_days(&self, class: DataClass) -> u32 {
        match class {
            DataClass::General => self.general_days,
            DataClass::Important => self.important_days,
            DataClass::Core => self.core_days,
        }
    }

    /// Days events of `kind`, recorded with `class`, are kept: the kind override if any,
    /// else the class's days. Validation guarantees at least [`AUDIT_MIN_DAYS`] for audit
    /// kinds under the config's own class policy.
    pub fn keep_days(&self, kind: EventKind, class: DataClass) -> u32 {
        self.kinds
            .get(&kind)
            .copied()
            .unwrap_or_else(|| self.class_days(class))
    }
}

/// Days: 1 to 100 years.
#[derive(Debug, Clone, Copy)]
struct Days(u32);

impl<'de> Deserialize<'de> for Days {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::values::u32_in::<D, 1, 36_500>(d).map(Days)
    }
}

/// `[retention]` as written, with spans.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawRetention {
    general: Option<Spanned<Days>>,
    important: Option<Spanned<Days>>,
    core: Option<Spanned<Days>>,
    kinds: BTreeMap<Spanned<String>, Spanned<Days>>,
    #[serde(deserialize_with = "crate::duration::de_opt_in::<_, 60_000, 604_800_000>")]
    run_every: Option<Duration>,
    disk_floor_mb: Option<Spanned<Megabytes>>,
    disk_target_mb: Option<Spanned<Megabytes>>,
    #[serde(deserialize_with = "crate::duration::de_opt_in::<_, 0, 86_400_000>")]
    evidence_span: Option<Duration>,
}

/// Megabytes of free space: 1 MiB to 16 TiB.
#[derive(Debug, Clone, Copy)]
struct Megabytes(u64);

impl<'de> Deserialize<'de> for Megabytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::values::u32_in::<D, 1, 16_777_216>(d).map(|v| Megabytes(u64::from(v)))
    }
}

impl RawRetention {
    pub(crate) fn validate(
        self,
        ctx: &Ctx<'_>,
        classes: &Classes,
    ) -> Result<RetentionConfig, ConfigError> {
        let d = RetentionConfig::default();
        let get = |v: &Option<Spanned<Days>>, default: u32| match v {
            Some(s) => (s.get_ref().0, Some(s.span())),
            None => (default, None),
        };
        let (general_days, general_span) = get(&self.general, d.general_days);
        let (important_days, important_span) = get(&self.important, d.important_days);
        let (core_days, core_span) = get(&self.core, d.core_days);
        let mut kinds = BTreeMap::new();
        let mut kind_spans: BTreeMap<EventKind, Range<usize>> = BTreeMap::new();
        for (name, days) in &self.kinds {
            let kind = lookup_kind(ctx, name)?;
            kinds.insert(kind, days.get_ref().0);
            kind_spans.insert(kind, days.span());
        }
        let floor = self.disk_floor_mb.as_ref().map(|s| s.get_ref().0);
        let target = self.disk_target_mb.as_ref().map(|s| s.get_ref().0);
        if let (Some(f), Some(t)) = (floor, target) {
            if t < f {
                let span = self.disk_target_mb.as_ref().map(|s| s.span());
                return Err(ctx.invalid(
                    span.as_ref(),
                    Problem::OutOfOrder {
                        key: "retention.disk_target_mb",
                        value: t.to_string(),
                        relation: "at least",
                        other_key: "retention.disk_floor_mb",
                        other: f.to_string(),
                    },
                ));
            }
        }
        let out = RetentionConfig {
            general_days,
            important_days,
            core_days,
            kinds,
            run_every: self.run_every.unwrap_or(d.run_every),
            disk_floor_mb: floor,
            disk_target_mb: floor.map(|f| target.unwrap_or(f * 2)),
            evidence_span: self.evidence_span.unwrap_or(d.evidence_span),
        };
        check_audit_minimum(ctx, &out, &classes.policy, |kind, class| {
            if let Some(span) = kind_spans.get(&kind) {
                return (
                    format!("retention.kinds.{}", kind.name()),
                    Some(span.clone()),
                );
            }
            let span = match class {
                DataClass::General => general_span.clone(),
                DataClass::Important => important_span.clone(),
                DataClass::Core => core_span.clone(),
            };
            // A default class value is only too short because [classes] raised the kind
            // into it: point there.
            let span = span.or_else(|| classes.spans.get(&kind).cloned());
            (format!("retention.{}", class.as_str()), span)
        })?;
        Ok(out)
    }
}

/// Refuse any audit kind kept less than [`AUDIT_MIN_DAYS`]; `blame` names the key and span.
fn check_audit_minimum(
    ctx: &Ctx<'_>,
    r: &RetentionConfig,
    policy: &ClassPolicy,
    blame: impl Fn(EventKind, DataClass) -> (String, Option<Range<usize>>),
) -> Result<(), ConfigError> {
    let short: Vec<(EventKind, DataClass, u32)> = EventKind::ALL
        .iter()
        .filter(|k| k.is_audit())
        .map(|&k| {
            let class = policy.class_for(k);
            (k, class, r.keep_days(k, class))
        })
        .filter(|(_, _, days)| *days < AUDIT_MIN_DAYS)
        .collect();
    let Some(&(kind, class, days)) = short.first() else {
        return Ok(());
    };
    let (key, span) = blame(kind, class);
    let same: Vec<&str> = short
        .iter()
        .filter(|(k, c, _)| blame(*k, *c).0 == key)
        .map(|(k, _, _)| k.name())
        .collect();
    let kinds = if same.len() > 4 {
        format!("{} and {} more", same[..3].join(", "), same.len() - 3)
    } else {
        same.join(", ")
    };
    Err(ctx.invalid(
        span.as_ref(),
        Problem::AuditRetentionTooShort {
            key,
            days,
            min: AUDIT_MIN_DAYS,
            kinds,
        },
    ))
}
