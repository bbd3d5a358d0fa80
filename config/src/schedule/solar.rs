//! Sunrise and sunset from the NOAA solar equations (the NOAA "solar calculator"
//! spreadsheet: Meeus' low-precision sun position, equation of time, a zenith of 90.833° for
//! refraction and the solar disc). No network, no tables; about one minute of accuracy
//! between the polar circles, less close to them. Results are rounded to the minute.
//!
//! The sun events of a date are the ones around that date's solar noon (the solar noon
//! nearest local noon), so a sunset just after midnight near the midnight-sun season still
//! belongs to the date before. On a date where the sun stays above (polar day) or below
//! (polar night) the horizon all day there is no sunrise and no sunset: see [`SunDay`].

use chrono::{DateTime, Duration, Utc};

/// Geographic coordinates in degrees (north and east positive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Coordinates {
    /// Latitude, −90 to 90.
    pub lat: f64,
    /// Longitude, −180 to 180.
    pub lon: f64,
}

/// The sun on one date at one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SunDay {
    /// The sun rises and sets.
    Normal {
        /// Sunrise (upper limb on the horizon, with refraction).
        sunrise: DateTime<Utc>,
        /// Sunset.
        sunset: DateTime<Utc>,
    },
    /// The sun never sets that day (midnight sun).
    PolarDay,
    /// The sun never rises that day.
    PolarNight,
}

const ZENITH_DEG: f64 = 90.833;

/// Sun position quantities at one instant.
struct Sun {
    /// Declination, radians.
    decl: f64,
    /// Equation of time, minutes.
    eqt_min: f64,
}

fn julian_day(t: DateTime<Utc>) -> f64 {
    t.timestamp() as f64 / 86_400.0 + 2_440_587.5
}

fn sun_at(t: DateTime<Utc>) -> Sun {
    let jc = (julian_day(t) - 2_451_545.0) / 36_525.0;
    let l0 = (280.466_46 + jc * (36_000.769_83 + jc * 0.000_303_2)).rem_euclid(360.0);
    let m = 357.529_11 + jc * (35_999.050_29 - 0.000_153_7 * jc);
    let e = 0.016_708_634 - jc * (0.000_042_037 + 0.000_000_126_7 * jc);
    let mr = m.to_radians();
    let c = mr.sin() * (1.914_602 - jc * (0.004_817 + 0.000_014 * jc))
        + (2.0 * mr).sin() * (0.019_993 - 0.000_101 * jc)
        + (3.0 * mr).sin() * 0.000_289;
    let true_long = l0 + c;
    let omega = (125.04 - 1_934.136 * jc).to_radians();
    let app_long = true_long - 0.005_69 - 0.004_78 * omega.sin();
    let eps0 =
        23.0 + (26.0 + (21.448 - jc * (46.815 + jc * (0.000_59 - jc * 0.001_813))) / 60.0) / 60.0;
    let eps = (eps0 + 0.002_56 * omega.cos()).to_radians();
    let decl = (eps.sin() * app_long.to_radians().sin()).asin();
    let y = (eps / 2.0).tan().powi(2);
    let l0r = l0.to_radians();
    let eqt = y * (2.0 * l0r).sin() - 2.0 * e * mr.sin()
        + 4.0 * e * y * mr.sin() * (2.0 * l0r).cos()
        - 0.5 * y * y * (4.0 * l0r).sin()
        - 1.25 * e * e * (2.0 * mr).sin();
    Sun {
        decl,
        eqt_min: 4.0 * eqt.to_degrees(),
    }
}

/// cos of the hour angle of sunrise/sunset; outside [−1, 1] means no event.
fn cos_hour_angle(lat: f64, decl: f64) -> f64 {
    let lat = lat.to_radians();
    ZENITH_DEG.to_radians().cos() / (lat.cos() * decl.cos()) - lat.tan() * decl.tan()
}

fn minutes(m: f64) -> Duration {
    Duration::milliseconds((m * 60_000.0).round() as i64)
}

/// Solar noon nearest `near`.
fn solar_noon(near: DateTime<Utc>, lon: f64) -> DateTime<Utc> {
    let mut noon = near;
    for _ in 0..3 {
        let sun = sun_at(noon);
        let secs = noon.timestamp().rem_euclid(86_400) as f64;
        // True solar time in minutes; noon is 720.
        let tst = (secs / 60.0 + sun.eqt_min + 4.0 * lon).rem_euclid(1440.0);
        let mut shift = 720.0 - tst;
        if shift > 720.0 {
            shift -= 1440.0;
        } else if shift <= -720.0 {
            shift += 1440.0;
        }
        noon += minutes(shift);
    }
    noon
}

fn round_to_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp();
    let rounded = (secs + 30).div_euclid(60) * 60;
    DateTime::<Utc>::from_timestamp(rounded, 0).unwrap_or(t)
}

/// Sunrise and sunset around the solar noon nearest `local_noon` (the date's local noon as
/// a UTC instant) at `at`.
pub fn sun_day(local_noon: DateTime<Utc>, at: Coordinates) -> SunDay {
    let noon = solar_noon(local_noon, at.lon);
    let c = cos_hour_angle(at.lat, sun_at(noon).decl);
    if c > 1.0 {
        return SunDay::PolarNight;
    }
    if c < -1.0 {
        return SunDay::PolarDay;
    }
    let event = |sign: f64| {
        // Start from the noon estimate, then re-evaluate the sun at the event itself.
        let mut t = noon + minutes(sign * 4.0 * c.acos().to_degrees());
        for _ in 0..2 {
            let ch = cos_hour_angle(at.lat, sun_at(t).decl).clamp(-1.0, 1.0);
            t = noon + minutes(sign * 4.0 * ch.acos().to_degrees());
        }
        round_to_minute(t)
    };
    SunDay::Normal {
        sunrise: event(-1.0),
        sunset: event(1.0),
    }
}
