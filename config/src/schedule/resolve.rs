//! Local wall-clock time → UTC instant, with the DST rules of DESIGN.md:
//! a time in a gap (spring forward) maps to the instant the gap ends; an ambiguous time
//! (fall back) maps to its earlier instant for a start and its later instant for an end, so
//! a window never shrinks because of DST.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Which end of a window a time is (decides ambiguous times).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// Window start: ambiguous → earlier instant.
    Start,
    /// Window end: ambiguous → later instant.
    End,
}

/// The earliest instant schedules resolve: 0001-01-01T00:00:00Z.
pub const MIN_SUPPORTED: DateTime<Utc> = match DateTime::from_timestamp(-62_135_596_800, 0) {
    Some(t) => t,
    None => DateTime::<Utc>::MIN_UTC,
};
/// The latest instant schedules resolve: 9999-12-31T00:00:00Z.
pub const MAX_SUPPORTED: DateTime<Utc> = match DateTime::from_timestamp(253_402_214_400, 0) {
    Some(t) => t,
    None => DateTime::<Utc>::MAX_UTC,
};

/// The UTC instant of wall time `local` in `tz` under the DST rules above. Wall times
/// beyond years 1–9999 are clamped into that range (no zone arithmetic can overflow).
pub(crate) fn local_to_utc(tz: Tz, local: NaiveDateTime, bound: Bound) -> DateTime<Utc> {
    let local = local.clamp(MIN_SUPPORTED.naive_utc(), MAX_SUPPORTED.naive_utc());
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => {
            let (a, b) = (a.with_timezone(&Utc), b.with_timezone(&Utc));
            match bound {
                Bound::Start => a.min(b),
                Bound::End => a.max(b),
            }
        }
        LocalResult::None => gap_end(tz, local),
    }
}

/// The first instant whose local time is later than `local`, which sits in a gap: that is
/// the instant the gap ends (the transition). Offsets are within ±16 h of UTC, so the
/// instant lies in `[local − 16 h, local + 16 h]` read as UTC; wall time only moves
/// forward there (a gap and an overlap are never within hours of each other), so a binary
/// search over whole seconds finds it.
fn gap_end(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    let later = |secs: i64| {
        DateTime::<Utc>::from_timestamp(secs, 0)
            .is_some_and(|t| t.with_timezone(&tz).naive_local() > local)
    };
    let base = local.and_utc().timestamp();
    let (mut lo, mut hi) = (base - 16 * 3600, base + 16 * 3600); // later(lo) false, later(hi) true
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if later(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::<Utc>::from_timestamp(hi, 0).unwrap_or(local.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .unwrap_or_default()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn berlin_gap_maps_to_gap_end_for_both_bounds() {
        // 2026-03-29 02:00 CET → 03:00 CEST at 01:00Z.
        let tz = chrono_tz::Europe::Berlin;
        for b in [Bound::Start, Bound::End] {
            assert_eq!(
                local_to_utc(tz, at(2026, 3, 29, 2, 30), b),
                utc("2026-03-29T01:00:00Z")
            );
            assert_eq!(
                local_to_utc(tz, at(2026, 3, 29, 2, 0), b),
                utc("2026-03-29T01:00:00Z")
            );
        }
        assert_eq!(
            local_to_utc(tz, at(2026, 3, 29, 3, 0), Bound::Start),
            utc("2026-03-29T01:00:00Z")
        );
    }

    #[test]
    fn berlin_overlap_earlier_for_start_later_for_end() {
        // 2026-10-25 03:00 CEST → 02:00 CET at 01:00Z; 02:30 happens at 00:30Z and 01:30Z.
        let tz = chrono_tz::Europe::Berlin;
        assert_eq!(
            local_to_utc(tz, at(2026, 10, 25, 2, 30), Bound::Start),
            utc("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            local_to_utc(tz, at(2026, 10, 25, 2, 30), Bound::End),
            utc("2026-10-25T01:30:00Z")
        );
    }

    #[test]
    fn lord_howe_half_hour_gap() {
        // 2026-10-04 02:00 +10:30 → 02:30 +11:00 at 2026-10-03T15:30Z.
        let tz = chrono_tz::Australia::Lord_Howe;
        assert_eq!(
            local_to_utc(tz, at(2026, 10, 4, 2, 15), Bound::Start),
            utc("2026-10-03T15:30:00Z")
        );
    }
}
