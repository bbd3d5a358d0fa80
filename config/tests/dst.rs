//! DST transitions in six zones (north and south, 60- and 30-minute shifts), windows across
//! midnight over a transition, and merging.

mod common;

use common::{resolved, row, schedule, t};

#[test]
fn berlin_spring_forward() {
    // 2026-03-29: 02:00 CET → 03:00 CEST at 01:00Z.
    let s = schedule(
        "Europe/Berlin",
        "",
        &[
            ("gap-start", "02:30", "04:00"),
            ("gap-both", "02:10", "02:50"),
            ("night", "22:00", "02:30"),
        ],
    );
    assert_eq!(
        resolved(&s, "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z"),
        vec![
            // Saturday night into the gap: the end is the instant the gap ends.
            row(
                "night",
                "2026-03-28T21:00:00Z",
                "2026-03-29T01:00:00Z",
                "2026-03-28T22:00:00+01:00",
                "2026-03-29T03:00:00+02:00"
            ),
            // gap-both has no instant on the 29th (both bounds → 03:00): skipped.
            row(
                "gap-start",
                "2026-03-29T01:00:00Z",
                "2026-03-29T02:00:00Z",
                "2026-03-29T03:00:00+02:00",
                "2026-03-29T04:00:00+02:00"
            ),
        ]
    );
    // The next day is normal again, in summer time.
    let next = resolved(&s, "2026-03-30T00:00:00Z", "2026-03-30T12:00:00Z");
    assert!(next.contains(&row(
        "gap-both",
        "2026-03-30T00:10:00Z",
        "2026-03-30T00:50:00Z",
        "2026-03-30T02:10:00+02:00",
        "2026-03-30T02:50:00+02:00"
    )));
}

#[test]
fn berlin_fall_back() {
    // 2026-10-25: 03:00 CEST → 02:00 CET at 01:00Z; 02:00–03:00 happens twice.
    let s = schedule(
        "Europe/Berlin",
        "",
        &[("twice", "02:30", "02:45"), ("night", "23:00", "02:30")],
    );
    assert_eq!(
        resolved(&s, "2026-10-24T12:00:00Z", "2026-10-25T12:00:00Z"),
        vec![
            // Crosses midnight over the transition: later 02:30 for the end.
            row(
                "night",
                "2026-10-24T21:00:00Z",
                "2026-10-25T01:30:00Z",
                "2026-10-24T23:00:00+02:00",
                "2026-10-25T02:30:00+01:00"
            ),
            // Earlier instant for the start, later for the end: 1 h 15 min, never shorter.
            row(
                "twice",
                "2026-10-25T00:30:00Z",
                "2026-10-25T01:45:00Z",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:45:00+01:00"
            ),
        ]
    );
}

#[test]
fn new_york_both_transitions() {
    let s = schedule(
        "America/New_York",
        "",
        &[
            ("gap", "02:15", "03:15"),
            ("twice", "01:30", "01:45"),
            ("night", "22:00", "06:00"),
        ],
    );
    // 2026-03-08: 02:00 EST → 03:00 EDT at 07:00Z.
    let spring = resolved(&s, "2026-03-08T06:00:00Z", "2026-03-08T08:00:00Z");
    assert!(
        spring.contains(&row(
            "gap",
            "2026-03-08T07:00:00Z",
            "2026-03-08T07:15:00Z",
            "2026-03-08T03:00:00-04:00",
            "2026-03-08T03:15:00-04:00"
        )),
        "{spring:?}"
    );
    // 2026-11-01: 02:00 EDT → 01:00 EST at 06:00Z.
    let fall = resolved(&s, "2026-11-01T04:00:00Z", "2026-11-01T12:00:00Z");
    assert_eq!(
        fall,
        vec![
            // Saturday 22:00 EDT to Sunday 06:00 EST: nine real hours.
            row(
                "night",
                "2026-11-01T02:00:00Z",
                "2026-11-01T11:00:00Z",
                "2026-10-31T22:00:00-04:00",
                "2026-11-01T06:00:00-05:00"
            ),
            row(
                "twice",
                "2026-11-01T05:30:00Z",
                "2026-11-01T06:45:00Z",
                "2026-11-01T01:30:00-04:00",
                "2026-11-01T01:45:00-05:00"
            ),
            row(
                "gap",
                "2026-11-01T07:15:00Z",
                "2026-11-01T08:15:00Z",
                "2026-11-01T02:15:00-05:00",
                "2026-11-01T03:15:00-05:00"
            ),
        ]
    );
}

#[test]
fn sydney_southern_hemisphere() {
    let s = schedule(
        "Australia/Sydney",
        "",
        &[("twice", "02:30", "02:45"), ("late", "21:00", "02:30")],
    );
    // DST ends 2026-04-05 03:00 AEDT → 02:00 AEST (16:00Z on the 4th).
    let april = resolved(&s, "2026-04-04T10:00:00Z", "2026-04-04T18:00:00Z");
    assert_eq!(
        april,
        vec![
            row(
                "late",
                "2026-04-04T10:00:00Z",
                "2026-04-04T16:30:00Z",
                "2026-04-04T21:00:00+11:00",
                "2026-04-05T02:30:00+10:00"
            ),
            row(
                "twice",
                "2026-04-04T15:30:00Z",
                "2026-04-04T16:45:00Z",
                "2026-04-05T02:30:00+11:00",
                "2026-04-05T02:45:00+10:00"
            ),
        ]
    );
    // DST starts 2026-10-04 02:00 AEST → 03:00 AEDT (16:00Z on the 3rd).
    let october = resolved(&s, "2026-10-03T10:00:00Z", "2026-10-03T18:00:00Z");
    assert_eq!(
        october,
        vec![
            // Into the gap: ends when the gap ends.
            row(
                "late",
                "2026-10-03T11:00:00Z",
                "2026-10-03T16:00:00Z",
                "2026-10-03T21:00:00+10:00",
                "2026-10-04T03:00:00+11:00"
            ),
            // 02:30–02:45 does not exist that night: no instance.
        ]
    );
}

#[test]
fn lord_howe_thirty_minute_shift() {
    let s = schedule(
        "Australia/Lord_Howe",
        "",
        &[("gap", "02:10", "02:40"), ("twice", "01:40", "01:50")],
    );
    // 2026-10-04: 02:00 +10:30 → 02:30 +11:00 at 15:30Z on the 3rd.
    let october = resolved(&s, "2026-10-03T14:00:00Z", "2026-10-03T16:00:00Z");
    assert_eq!(
        october,
        vec![
            row(
                "twice",
                "2026-10-03T15:10:00Z",
                "2026-10-03T15:20:00Z",
                "2026-10-04T01:40:00+10:30",
                "2026-10-04T01:50:00+10:30"
            ),
            row(
                "gap",
                "2026-10-03T15:30:00Z",
                "2026-10-03T15:40:00Z",
                "2026-10-04T02:30:00+11:00",
                "2026-10-04T02:40:00+11:00"
            ),
        ]
    );
    // 2026-04-05: 02:00 +11:00 → 01:30 +10:30 at 15:00Z on the 4th; 01:30–02:00 twice.
    let april = resolved(&s, "2026-04-04T14:00:00Z", "2026-04-04T16:00:00Z");
    assert_eq!(
        april,
        vec![
            row(
                "twice",
                "2026-04-04T14:40:00Z",
                "2026-04-04T15:20:00Z",
                "2026-04-05T01:40:00+11:00",
                "2026-04-05T01:50:00+10:30"
            ),
            row(
                "gap",
                "2026-04-04T15:40:00Z",
                "2026-04-04T16:10:00Z",
                "2026-04-05T02:10:00+10:30",
                "2026-04-05T02:40:00+10:30"
            ),
        ]
    );
}

#[test]
fn santiago_midnight_transitions() {
    // Chile changes at midnight: 2026-09-06 00:00 −04 → 01:00 −03 (04:00Z), and
    // 2026-04-05 00:00 −03 → 2026-04-04 23:00 −04 (03:00Z).
    let s = schedule(
        "America/Santiago",
        "",
        &[("midnight", "00:00", "02:00"), ("eve", "23:30", "23:45")],
    );
    let sept = resolved(&s, "2026-09-06T00:00:00Z", "2026-09-06T06:00:00Z");
    assert_eq!(
        sept,
        vec![
            row(
                "eve",
                "2026-09-06T03:30:00Z",
                "2026-09-06T03:45:00Z",
                "2026-09-05T23:30:00-04:00",
                "2026-09-05T23:45:00-04:00"
            ),
            // Midnight does not exist on the 6th: the window starts when the gap ends.
            row(
                "midnight",
                "2026-09-06T04:00:00Z",
                "2026-09-06T05:00:00Z",
                "2026-09-06T01:00:00-03:00",
                "2026-09-06T02:00:00-03:00"
            ),
        ]
    );
    let april = resolved(&s, "2026-04-05T01:00:00Z", "2026-04-05T05:00:00Z");
    assert_eq!(
        april,
        vec![
            // 23:30 and 23:45 on the 4th happen twice: earlier start, later end.
            row(
                "eve",
                "2026-04-05T02:30:00Z",
                "2026-04-05T03:45:00Z",
                "2026-04-04T23:30:00-03:00",
                "2026-04-04T23:45:00-04:00"
            ),
            row(
                "midnight",
                "2026-04-05T04:00:00Z",
                "2026-04-05T06:00:00Z",
                "2026-04-05T00:00:00-04:00",
                "2026-04-05T02:00:00-04:00"
            ),
        ]
    );
}

#[test]
fn windows_belong_to_the_day_they_start() {
    // Friday-only night window: runs Fri 22:00 → Sat 06:00, not Thu → Fri.
    let s = common::parse(
        "[schedule]\ntimezone = \"Europe/Berlin\"\n[[schedule.window]]\nname = \"fri-night\"\ndays = [\"fri\"]\nstart = \"22:00\"\nend = \"06:00\"\n",
    )
    .schedule;
    // 2026-06-05 is a Friday.
    assert_eq!(
        resolved(&s, "2026-06-01T00:00:00Z", "2026-06-08T00:00:00Z"),
        vec![row(
            "fri-night",
            "2026-06-05T20:00:00Z",
            "2026-06-06T04:00:00Z",
            "2026-06-05T22:00:00+02:00",
            "2026-06-06T06:00:00+02:00"
        )]
    );
    // A range starting Saturday 01:00 still sees it (overlap), one that ends at its start does not.
    assert_eq!(
        s.windows(t("2026-06-05T23:00:00Z"), t("2026-06-05T23:30:00Z"))
            .len(),
        1
    );
    assert!(s
        .windows(t("2026-06-05T10:00:00Z"), t("2026-06-05T20:00:00Z"))
        .is_empty());
    assert!(s
        .windows(t("2026-06-06T04:00:00Z"), t("2026-06-06T05:00:00Z"))
        .is_empty());
}

#[test]
fn overlapping_and_touching_windows_merge_into_on_periods() {
    let s = schedule(
        "Europe/Berlin",
        "",
        &[
            ("a", "06:00", "12:00"),
            ("b", "11:00", "14:00"),
            ("c", "14:00", "15:00"),
            ("d", "20:00", "21:00"),
            ("e", "20:15", "20:30"),
        ],
    );
    let p = s.on_periods(t("2026-06-01T00:00:00Z"), t("2026-06-01T22:00:00Z"));
    let got: Vec<(String, String, Vec<String>)> = p
        .into_iter()
        .map(|p| (common::utc(p.start), common::utc(p.end), p.names))
        .collect();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            (
                "2026-06-01T04:00:00Z".into(),
                "2026-06-01T13:00:00Z".into(),
                names(&["a", "b", "c"])
            ),
            (
                "2026-06-01T18:00:00Z".into(),
                "2026-06-01T19:00:00Z".into(),
                names(&["d", "e"])
            ),
        ]
    );
}

#[test]
fn on_periods_merge_across_midnight_and_days() {
    // An evening window and a night window touching at 22:00 every day, over fall-back.
    let s = schedule(
        "Europe/Berlin",
        "",
        &[("evening", "18:00", "22:00"), ("night", "22:00", "02:30")],
    );
    let p = s.on_periods(t("2026-10-24T12:00:00Z"), t("2026-10-25T12:00:00Z"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(
        (common::utc(p[0].start), common::utc(p[0].end)),
        ("2026-10-24T16:00:00Z".into(), "2026-10-25T01:30:00Z".into())
    );
    assert_eq!(p[0].names, vec!["evening".to_string(), "night".to_string()]);
}

#[test]
fn sliding_ranges_see_the_same_instances() {
    // The clock actor calls windows() with a sliding range: every instance found in a long
    // range is found, identical, by the hour-long ranges that overlap it, through a whole
    // year of DST changes.
    let s = schedule(
        "Australia/Lord_Howe",
        "",
        &[
            ("a", "01:45", "02:15"),
            ("b", "23:00", "00:30"),
            ("c", "12:00", "12:01"),
        ],
    );
    let (from, to) = (t("2026-01-01T00:00:00Z"), t("2027-01-01T00:00:00Z"));
    let all = s.windows(from, to);
    assert!(all.len() > 3 * 360, "{}", all.len());
    assert!(
        all.windows(2).all(|w| w[0].start <= w[1].start),
        "sorted by start"
    );
    assert!(all.iter().all(|w| w.end > w.start));
    let mut seen = Vec::new();
    let mut cur = from;
    while cur < to {
        let next = (cur + chrono::Duration::hours(7)).min(to);
        for w in s.windows(cur, next) {
            if !seen.contains(&w) {
                seen.push(w);
            }
        }
        cur = next;
    }
    seen.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
    let mut all_sorted = all.clone();
    all_sorted.sort_by(|a, b| (a.start, &a.name).cmp(&(b.start, &b.name)));
    let missing: Vec<_> = all_sorted.iter().filter(|w| !seen.contains(w)).collect();
    let extra: Vec<_> = seen.iter().filter(|w| !all_sorted.contains(w)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
}

#[test]
fn extreme_ranges_do_not_panic() {
    use chrono::{DateTime, Utc};
    let s = common::parse(
        "[schedule]\ntimezone = \"Pacific/Kiritimati\"\nlocation = { lat = 1.87, lon = -157.4 }\nwindow = [{ name = \"a\", start = \"sunset-12h\", end = \"sunrise+12h\" }, { name = \"b\", start = \"23:00\", end = \"01:00\" }]\n",
    )
    .schedule;
    let day = chrono::Duration::days(10);
    for (from, to) in [
        (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MIN_UTC + day),
        (DateTime::<Utc>::MAX_UTC - day, DateTime::<Utc>::MAX_UTC),
        (
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC.min(DateTime::<Utc>::MIN_UTC + day),
        ),
    ] {
        let w = s.windows(from, to);
        assert!(w.iter().all(|w| w.start < w.end));
        let _ = s.on_periods(from, to);
    }
    assert!(s
        .windows(t("2026-01-02T00:00:00Z"), t("2026-01-01T00:00:00Z"))
        .is_empty());
    let far = chrono::NaiveDate::MAX;
    let _ = s.start_of_day(far);
    let _ = s.resolve_local(
        far.and_hms_opt(23, 0, 0).unwrap_or_default(),
        vigil_config::schedule::Bound::End,
    );
    let _ = s.sun_day(chrono::NaiveDate::MIN);
}

#[test]
fn start_of_day_and_local_times_follow_the_same_rules() {
    use chrono::NaiveDate;
    use vigil_config::schedule::Bound;
    let santiago = schedule("America/Santiago", "", &[]);
    let d = NaiveDate::from_ymd_opt(2026, 9, 6).unwrap_or_default();
    // Midnight is in the gap: the day starts when the gap ends.
    assert_eq!(
        common::utc(santiago.start_of_day(d)),
        "2026-09-06T04:00:00Z"
    );
    let berlin = schedule("Europe/Berlin", "", &[]);
    let twice = NaiveDate::from_ymd_opt(2026, 10, 25)
        .and_then(|d| d.and_hms_opt(2, 30, 0))
        .unwrap_or_default();
    assert_eq!(
        common::utc(berlin.resolve_local(twice, Bound::Start)),
        "2026-10-25T00:30:00Z"
    );
    assert_eq!(
        common::utc(berlin.resolve_local(twice, Bound::End)),
        "2026-10-25T01:30:00Z"
    );
}
