//! Sunrise/sunset against published values, and the polar day/night rule.

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use common::{parse, t};
use vigil_config::schedule::SunDay;
use vigil_config::Schedule;

fn at(tz: &str, lat: f64, lon: f64, windows: &str) -> Schedule {
    parse(&format!("[schedule]\ntimezone = \"{tz}\"\nlocation = {{ lat = {lat}, lon = {lon} }}\nwindow = [{windows}]\n")).schedule
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

#[track_caller]
fn near(got: DateTime<Utc>, want: &str, tolerance_min: i64) {
    let diff = (got - t(want)).num_seconds().abs();
    assert!(
        diff <= tolerance_min * 60,
        "got {got}, published {want} (off by {diff} s)"
    );
}

#[track_caller]
fn normal(s: &Schedule, d: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    match s.sun_day(d) {
        Some(SunDay::Normal { sunrise, sunset }) => (sunrise, sunset),
        other => panic!("expected sunrise and sunset on {d}, got {other:?}"),
    }
}

#[test]
fn matches_published_times_within_two_minutes() {
    // Berlin, midsummer: 04:43 / 21:33 CEST.
    let berlin = at("Europe/Berlin", 52.52, 13.405, "");
    let (rise, set) = normal(&berlin, date(2026, 6, 21));
    near(rise, "2026-06-21T04:43:00+02:00", 2);
    near(set, "2026-06-21T21:33:00+02:00", 2);
    // New York, midwinter: 07:17 / 16:32 EST.
    let ny = at("America/New_York", 40.7128, -74.006, "");
    let (rise, set) = normal(&ny, date(2026, 12, 21));
    near(rise, "2026-12-21T07:17:00-05:00", 2);
    near(set, "2026-12-21T16:32:00-05:00", 2);
    // Sydney, southern midsummer: 05:41 / 20:05 AEDT.
    let sydney = at("Australia/Sydney", -33.8688, 151.2093, "");
    let (rise, set) = normal(&sydney, date(2026, 12, 21));
    near(rise, "2026-12-21T05:41:00+11:00", 2);
    near(set, "2026-12-21T20:05:00+11:00", 2);
    // Sun times are whole minutes.
    assert_eq!(rise.timestamp() % 60, 0);
}

#[test]
fn sun_relative_windows_resolve_to_offset_instants() {
    let s = at(
        "Europe/Berlin",
        52.52,
        13.405,
        "{ name = \"dusk\", start = \"sunset-30m\", end = \"sunset+45m\" }, { name = \"night\", start = \"sunset\", end = \"sunrise\" }",
    );
    let w = s.windows(t("2026-06-21T12:00:00Z"), t("2026-06-21T20:00:00Z"));
    let (_, set) = normal(&s, date(2026, 6, 21));
    let (rise_next, _) = normal(&s, date(2026, 6, 22));
    let dusk = w
        .iter()
        .find(|w| w.name == "dusk")
        .unwrap_or_else(|| panic!("{w:?}"));
    assert_eq!(dusk.start, set - chrono::Duration::minutes(30));
    assert_eq!(dusk.end, set + chrono::Duration::minutes(45));
    // sunset → sunrise: the end is the next date's sunrise (first one after the start).
    let night = w
        .iter()
        .find(|w| w.name == "night")
        .unwrap_or_else(|| panic!("{w:?}"));
    assert_eq!((night.start, night.end), (set, rise_next));
    assert_eq!(night.local_end.offset().local_minus_utc(), 7200);
}

const TROMSO: (f64, f64) = (69.6492, 18.9553);
const LONGYEARBYEN: (f64, f64) = (78.2232, 15.6267);

#[test]
fn polar_day_and_night_are_reported() {
    for (tz, (lat, lon)) in [
        ("Europe/Oslo", TROMSO),
        ("Arctic/Longyearbyen", LONGYEARBYEN),
    ] {
        let s = at(tz, lat, lon, "");
        assert_eq!(
            s.sun_day(date(2026, 6, 21)),
            Some(SunDay::PolarDay),
            "{tz} June"
        );
        assert_eq!(
            s.sun_day(date(2026, 12, 21)),
            Some(SunDay::PolarNight),
            "{tz} December"
        );
        let (rise, set) = normal(&s, date(2026, 3, 21));
        let hours = (set - rise).num_minutes() as f64 / 60.0;
        assert!(
            (11.5..13.5).contains(&hours),
            "{tz} equinox day length {hours} h"
        );
    }
    // Longyearbyen is further north: midnight sun already in late April, dark in November,
    // while Tromsø still has a sunrise and sunset on those dates.
    let lyr = at("Arctic/Longyearbyen", LONGYEARBYEN.0, LONGYEARBYEN.1, "");
    let tos = at("Europe/Oslo", TROMSO.0, TROMSO.1, "");
    assert_eq!(lyr.sun_day(date(2026, 4, 25)), Some(SunDay::PolarDay));
    assert_eq!(lyr.sun_day(date(2026, 11, 15)), Some(SunDay::PolarNight));
    assert!(matches!(
        tos.sun_day(date(2026, 4, 25)),
        Some(SunDay::Normal { .. })
    ));
    // Southern polar night in June at McMurdo.
    let mcm = at("Antarctica/McMurdo", -77.846, 166.676, "");
    assert_eq!(mcm.sun_day(date(2026, 6, 21)), Some(SunDay::PolarNight));
    assert_eq!(mcm.sun_day(date(2026, 12, 21)), Some(SunDay::PolarDay));
}

#[test]
fn sun_windows_are_skipped_on_polar_days_and_nights() {
    // The rule: on a date without sunrise/sunset, a window needing one has no instance;
    // clock-time windows are not affected.
    let windows = "{ name = \"dusk\", start = \"sunset-30m\", end = \"sunset+30m\" }, { name = \"morning\", start = \"sunrise\", end = \"12:00\" }, { name = \"noon\", start = \"11:00\", end = \"13:00\" }";
    for (tz, (lat, lon)) in [
        ("Europe/Oslo", TROMSO),
        ("Arctic/Longyearbyen", LONGYEARBYEN),
    ] {
        let s = at(tz, lat, lon, windows);
        let count = |from: &str, to: &str, name: &str| {
            s.windows(t(from), t(to))
                .iter()
                .filter(|w| w.name == name)
                .count()
        };
        // (week from, week to, window, instances): midsummer week, midnight sun, no sunset
        // or sunrise; midwinter week, polar night; equinox week, every day has all three.
        let weeks = [
            ("2026-06-15T00:00:00Z", "2026-06-22T00:00:00Z", "dusk", 0),
            ("2026-06-15T00:00:00Z", "2026-06-22T00:00:00Z", "morning", 0),
            ("2026-06-15T00:00:00Z", "2026-06-22T00:00:00Z", "noon", 7),
            ("2026-12-15T00:00:00Z", "2026-12-22T00:00:00Z", "dusk", 0),
            ("2026-12-15T00:00:00Z", "2026-12-22T00:00:00Z", "morning", 0),
            ("2026-12-15T00:00:00Z", "2026-12-22T00:00:00Z", "noon", 7),
            ("2026-03-16T00:00:00Z", "2026-03-23T00:00:00Z", "dusk", 7),
            ("2026-03-16T00:00:00Z", "2026-03-23T00:00:00Z", "morning", 7),
        ];
        for (from, to, name, want) in weeks {
            assert_eq!(
                count(from, to, name),
                want,
                "{tz}: {name} in the week from {from}"
            );
        }
    }
}

#[test]
fn approaching_midnight_sun_the_last_sunsets_then_none() {
    // Tromsø: the sun stops setting around 18–20 May. Before, every date has a dusk window;
    // from early June on, none; the count over May is between the two.
    let s = at(
        "Europe/Oslo",
        TROMSO.0,
        TROMSO.1,
        "{ name = \"dusk\", start = \"sunset-30m\", end = \"sunset+30m\" }",
    );
    let dusk = |from: &str, to: &str| s.windows(t(from), t(to)).len();
    assert_eq!(dusk("2026-04-01T12:00:00Z", "2026-04-08T12:00:00Z"), 7);
    assert_eq!(dusk("2026-06-01T12:00:00Z", "2026-07-15T12:00:00Z"), 0);
    let may = dusk("2026-05-01T12:00:00Z", "2026-06-01T12:00:00Z");
    assert!((14..=22).contains(&may), "{may}");
    // Instances still come in order and have length.
    let w = s.windows(t("2026-05-01T12:00:00Z"), t("2026-06-01T12:00:00Z"));
    assert!(w
        .windows(2)
        .all(|p| p[0].start < p[1].start && p[0].end <= p[1].start));
}
