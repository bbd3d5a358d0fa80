//! `[supervisor] stop_timeout` against `[power] halt_grace`: the ESP32 must never cut the
//! power of a Pi whose supervisor systemd still lets stop.

mod common;

use std::time::Duration;

use common::{assert_refused, parse};
use vigil_config::DEFAULT_STOP_TIMEOUT;

#[test]
fn the_default_stop_timeout_is_shorter_than_the_default_halt_grace() {
    let c = parse("");
    assert_eq!(c.supervisor.stop_timeout, DEFAULT_STOP_TIMEOUT);
    assert!(c.supervisor.stop_timeout < c.power.halt_grace);
}

#[test]
fn a_stop_timeout_is_read() {
    let c = parse("[supervisor]\nstop_timeout = \"25s\"\n");
    assert_eq!(c.supervisor.stop_timeout, Duration::from_secs(25));
}

#[test]
fn a_halt_grace_not_longer_than_the_stop_timeout_is_refused_naming_both_keys() {
    // Equal is refused too: the board would cut at the very instant systemd kills.
    assert_refused(
        "[power]\nhalt_grace = \"30s\"\n\n[supervisor]\nstop_timeout = \"30s\"\n",
        5,
        16,
        "`power.halt_grace` (30s) must be longer than `supervisor.stop_timeout` (30s)",
    );
    // Only the halt grace written: the error points at it and names the default timeout.
    assert_refused(
        "[power]\nhalt_grace = \"5s\"\n",
        2,
        14,
        "`power.halt_grace` (5s) must be longer than `supervisor.stop_timeout` (10s)",
    );
}

#[test]
fn a_stop_timeout_out_of_range_is_refused() {
    assert_refused(
        "[supervisor]\nstop_timeout = \"0s\"\n",
        2,
        16,
        "duration 0s is out of range, expected 1s to 1h",
    );
}
