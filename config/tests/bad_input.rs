//! Every refused input names file, line and column and says what was expected.

mod common;

use common::{assert_refused, refuse};
use vigil_config::{Config, ConfigError, Problem};

const WINDOW_HEAD: &str =
    "[schedule]\ntimezone = \"Europe/Berlin\"\n[[schedule.window]]\nname = \"day\"\n";

#[test]
fn toml_syntax_error() {
    assert_refused("[schedule\n", 1, 10, "expected `]`");
}

#[test]
fn unknown_section_and_unknown_keys() {
    assert_refused(
        "[schedul]\n",
        1,
        2,
        "unknown field `schedul`, expected one of `station`, `schedule`",
    );
    assert_refused(
        "[power]\nbaud = 9600\nheartbeats = \"5s\"\n",
        3,
        1,
        "unknown field `heartbeats`",
    );
    assert_refused(
        &format!("{WINDOW_HEAD}strt = \"06:00\"\n"),
        5,
        1,
        "unknown field `strt`",
    );
    assert_refused(
        "[schedule]\nlocation = { lat = 1.0, lon = 2.0, alt = 3.0 }\n",
        2,
        36,
        "unknown field `alt`",
    );
}

#[test]
fn wrong_types() {
    assert_refused(
        "[power]\nbaud = \"fast\"\n",
        2,
        8,
        "invalid type: string \"fast\"",
    );
    assert_refused(
        "[camera]\ntimelapse = 1\n",
        2,
        13,
        "invalid type: integer `1`, expected a boolean",
    );
    assert_refused(
        "[schedule]\ntimezone = 5\n",
        2,
        12,
        "invalid type: integer `5`, expected a string",
    );
}

#[test]
fn missing_window_keys() {
    let e = refuse(&format!("{WINDOW_HEAD}start = \"06:00\"\n"));
    assert!(e.to_string().contains("missing field `end`"), "{e}");
    assert_eq!(e.position().map(|p| p.line), Some(3));
}

#[test]
fn unknown_time_zone_with_hint() {
    assert_refused(
        "[schedule]\ntimezone = \"Europe/Berln\"\n",
        2,
        12,
        "unknown time zone `Europe/Berln` (did you mean `Europe/Berlin`?), expected an IANA name",
    );
    let e = refuse("[schedule]\ntimezone = \"Mars/Olympus_Mons\"\n");
    assert!(
        matches!(&e, ConfigError::Invalid { problem, .. } if matches!(**problem, Problem::UnknownTimezone { suggestion: None, .. })),
        "{e}"
    );
}

#[test]
fn end_equal_to_start() {
    assert_refused(
        &format!("{WINDOW_HEAD}start = \"06:00\"\nend = \"06:00\"\n"),
        6,
        7,
        "window \"day\": end equals start (06:00); a window needs a length",
    );
    // Same instant written two ways.
    assert_refused(
        "[schedule]\nlocation = { lat = 52.5, lon = 13.4 }\n[[schedule.window]]\nname = \"d\"\nstart = \"sunset+60m\"\nend = \"sunset+1h\"\n",
        6,
        7,
        "end equals start (sunset+1h)",
    );
}

#[test]
fn misspelt_day() {
    assert_refused(
        &format!("{WINDOW_HEAD}days = [\"mon\", \"tues\"]\nstart = \"06:00\"\nend = \"07:00\"\n"),
        5,
        16,
        "unknown day \"tues\" (did you mean \"tue\"?), expected one of mon, tue, wed, thu, fri, sat, sun",
    );
    assert_refused(
        &format!("{WINDOW_HEAD}days = []\nstart = \"06:00\"\nend = \"07:00\"\n"),
        5,
        8,
        "window \"day\" has no days",
    );
}

#[test]
fn sun_relative_time_without_location() {
    assert_refused(
        &format!("{WINDOW_HEAD}start = \"sunset-30m\"\nend = \"23:00\"\n"),
        5,
        9,
        "\"sunset-30m\" is relative to the sun and needs [schedule] location",
    );
    assert_refused(
        &format!("{WINDOW_HEAD}start = \"05:00\"\nend = \"sunrise\"\n"),
        6,
        7,
        "\"sunrise\" is relative to the sun",
    );
}

#[test]
fn bad_times() {
    assert_refused(
        &format!("{WINDOW_HEAD}start = \"25:00\"\nend = \"07:00\"\n"),
        5,
        9,
        "invalid time \"25:00\": hour, minute or second out of range; expected \"HH:MM\"",
    );
    assert_refused(
        &format!("{WINDOW_HEAD}start = \"06:00\"\nend = \"sunset+15\"\n"),
        6,
        7,
        "invalid time \"sunset+15\": bad offset: a unit is missing after the number",
    );
}

#[test]
fn duplicate_window_name() {
    let text = format!("{WINDOW_HEAD}start = \"06:00\"\nend = \"07:00\"\n[[schedule.window]]\nname = \"day\"\nstart = \"08:00\"\nend = \"09:00\"\n");
    assert_refused(
        &text,
        8,
        8,
        "duplicate window name \"day\" (first at line 4)",
    );
}

#[test]
fn bad_durations() {
    for (value, reason) in [
        ("90", "a unit is missing after the number"),
        ("5 m", "a unit is missing after the number"),
        ("5mins", "unknown unit"),
        ("1h30", "a unit is missing after the number"),
        ("30m1h", "units must go from largest to smallest, each once"),
        ("1.5h", "a unit is missing after the number"),
        ("", "it is empty"),
    ] {
        assert_refused(
            &format!("[power]\nheartbeat = \"{value}\"\n"),
            2,
            13,
            &format!("invalid duration \"{value}\": {reason}; expected e.g. \"90s\""),
        );
    }
    assert_refused(
        "[power]\nheartbeat = 5\n",
        2,
        13,
        "a duration needs a unit: write \"5s\"",
    );
    assert_refused(
        "[camera]\ninterval = \"10ms\"\n",
        2,
        12,
        "duration 10ms is out of range, expected 100ms to 1d",
    );
}

#[test]
fn power_timing_order() {
    assert_refused(
        "[power]\nheartbeat = \"1m\"\nwatchdog = \"90s\"\n",
        3,
        12,
        "`power.watchdog` (1m30s) must be at least twice `power.heartbeat` (1m)",
    );
    assert_refused(
        "[power]\nhalt_grace = \"5m\"\nhard_deadline = \"2m\"\n",
        3,
        17,
        "`power.hard_deadline` (2m) must be longer than `power.halt_grace` (5m)",
    );
}

#[test]
fn out_of_range_values() {
    assert_refused(
        "[camera]\njpeg_quality = 0\n",
        2,
        16,
        "0 is out of range, expected an integer from 1 to 100",
    );
    assert_refused(
        "[camera]\nresolution = \"1280*720\"\n",
        2,
        14,
        "invalid resolution \"1280*720\"",
    );
    assert_refused(
        "[classifier]\nthreshold = 1.5\n",
        2,
        13,
        "1.5 is out of range, expected a number from 0.01 to 1",
    );
    assert_refused(
        "[classifier]\nengine = \"fp16\"\n",
        2,
        10,
        "unknown variant `fp16`, expected `int8` or `f32`",
    );
    assert_refused(
        "[schedule]\nlocation = { lat = 95.0, lon = 0 }\n",
        2,
        20,
        "95 is out of range",
    );
    assert_refused(
        "[api]\nlisten = \"localhost\"\n",
        2,
        10,
        "invalid listen address \"localhost\"",
    );
    assert_refused(
        "[power]\nport = \"COM3\"\n",
        2,
        8,
        "invalid port \"COM3\", expected \"sim\" or an absolute device path",
    );
    assert_refused(
        "[pico]\nrefresh_hz = 3\n",
        2,
        14,
        "refresh_hz 3 is not an MLX90640 rate",
    );
    assert_refused(
        "[station]\nname = \"  \"\n",
        2,
        8,
        "expected a non-empty string",
    );
    assert_refused(
        "[power]\npoweroff_command = []\n",
        2,
        20,
        "the command is empty",
    );
}

#[test]
fn retention_below_audit_minimum() {
    assert_refused(
        "[retention]\nimportant = 90\n",
        2,
        13,
        "retention.important = 90 days keeps audit-relevant events (",
    );
    assert_refused(
        "[retention]\nimportant = 90\n",
        2,
        13,
        "for less than the required 180 days",
    );
    assert_refused(
        "[retention.kinds]\nThermalFrame = 1\nWindowOpened = 30\n",
        3,
        16,
        "retention.kinds.WindowOpened = 30 days keeps audit-relevant events (WindowOpened)",
    );
    // Raising an audit kind into `core` makes core's retention apply to it.
    assert_refused(
        "[classes]\nWindowClosed = \"core\"\n[retention]\ncore = 100\n",
        4,
        8,
        "retention.core = 100 days keeps audit-relevant events (WindowClosed)",
    );
    // General may be short: no audit kind is general by default.
    common::parse("[retention]\ngeneral = 1\n");
    assert_refused(
        "[retention.kinds]\nWindowOpend = 200\n",
        2,
        1,
        "unknown event kind `WindowOpend` (did you mean `WindowOpened`?)",
    );
    assert_refused(
        "[retention]\ncore = 0\n",
        2,
        8,
        "0 is out of range, expected an integer from 1 to 36500",
    );
}

#[test]
fn retention_disk_pressure_keys() {
    let c = common::parse("[retention]\ndisk_floor_mb = 100\nevidence_span = \"2m\"\n");
    assert_eq!(c.retention.disk_floor_mb, Some(100));
    assert_eq!(c.retention.disk_target_mb, Some(200));
    assert_eq!(c.retention.evidence_span.as_secs(), 120);
    assert_refused(
        "[retention]\ndisk_floor_mb = 100\ndisk_target_mb = 50\n",
        3,
        18,
        "`retention.disk_target_mb` (50) must be at least `retention.disk_floor_mb` (100)",
    );
    assert_refused(
        "[retention]\ndisk_floor_mb = 0\n",
        2,
        17,
        "0 is out of range",
    );
}

#[test]
fn classes_never_lowered() {
    assert_refused(
        "[classes]\nWindowOpened = \"general\"\n",
        2,
        16,
        "class of WindowOpened may be raised, never lowered: default is important, config asks for general",
    );
    assert_refused(
        "[classes]\nDetection = \"secret\"\n",
        2,
        13,
        "unknown variant `secret`, expected one of `general`, `important`, `core`",
    );
    assert_refused(
        "[classes]\nDetections = \"core\"\n",
        2,
        1,
        "unknown event kind `Detections` (did you mean `Detection`?)",
    );
}

#[test]
fn core_needs_an_encryption_key_separate_from_the_chain_key() {
    assert_refused(
        "[classes]\nDetection = \"core\"\n",
        2,
        1,
        "Detection = \"core\": core payloads are encrypted at rest; set [store] encryption_key_file",
    );
    let ok = common::parse(
        "[store]\nencryption_key_file = \"/etc/vigil/data.key\"\n[classes]\nDetection = \"core\"\n",
    );
    assert_eq!(
        ok.store.encryption_key_file.as_deref(),
        Some(std::path::Path::new("/etc/vigil/data.key"))
    );
    let e = refuse("[store]\nkey_file = \"/k\"\nencryption_key_file = \"/k\"\n").to_string();
    assert!(
        e.contains("encryption_key_file and key_file are the same file (/k)"),
        "{e}"
    );
}

const LED: &str = "[[gpio.output]]\nname = \"led\"\npin = 18\n";

#[test]
fn gpio_pins_refused() {
    assert_refused(
        "[[gpio.input]]\nname = \"b\"\npin = \"board:2\"\n",
        3,
        7,
        "board:2 is a 5 V power pin, not a GPIO",
    );
    assert_refused(
        "[[gpio.input]]\nname = \"b\"\npin = \"board:9\"\n",
        3,
        7,
        "board:9 is a ground pin, not a GPIO",
    );
    assert_refused(
        "[[gpio.input]]\nname = \"b\"\npin = 40\n",
        3,
        7,
        "unknown pin: BCM 40 is not on the 40-pin header",
    );
    assert_refused(
        "[[gpio.input]]\nname = \"b\"\npin = \"board:41\"\n",
        3,
        7,
        "unknown pin: board:41",
    );
    assert_refused(
        "[[gpio.input]]\nname = \"b\"\npin = \"GPIO4\"\n",
        3,
        7,
        "invalid pin \"GPIO4\"",
    );
    assert_refused(
        "[[gpio.input]]\nname = \"b\"\npin = 4.5\n",
        3,
        7,
        "invalid type: floating point `4.5`, expected a BCM number (17)",
    );
    assert_refused(
        &format!("{LED}[[gpio.input]]\nname = \"b\"\npin = \"board:12\"\n"),
        6,
        7,
        "BCM 18 (board:12) is already used by output \"led\" (line 3)",
    );
    assert_refused(
        &format!("{LED}[[gpio.pwm]]\nname = \"led\"\npin = 13\n"),
        5,
        8,
        "duplicate pin name \"led\" (first at line 2)",
    );
    assert_refused(
        "[power]\nport = \"/dev/serial0\"\n[[gpio.output]]\nname = \"tx\"\npin = \"board:8\"\n",
        5,
        7,
        "BCM 14 (board:8) is the UART used by power.port = \"/dev/serial0\"",
    );
    assert_refused(
        "[[gpio.input]]\nname = \"b\"\npin = 4\npull = \"sideways\"\n",
        4,
        8,
        "unknown variant `sideways`",
    );
    assert_refused(
        "[[gpio.input]]\nname = \"b\"\npin = 4\nedge = \"up\"\n",
        4,
        8,
        "unknown variant `up`, expected one of `rising`, `falling`, `both`",
    );
    assert_refused(
        "[[gpio.pwm]]\nname = \"f\"\npin = 13\nduty = 120\n",
        4,
        8,
        "120 is out of range, expected a number from 0 to 100",
    );
}

#[test]
fn gpio_rules_refused() {
    let rule =
        |body: &str| format!("{LED}[[gpio.pwm]]\nname = \"fan\"\npin = 13\n[[gpio.rule]]\n{body}");
    // Rule body starts at line 8.
    assert_refused(
        &rule("on = \"Detect\"\nset = \"led\"\nlevel = \"high\"\n"),
        8,
        6,
        "unknown event kind `Detect`",
    );
    assert_refused(
        &rule(
            "on = \"Detection\"\nmatch = { klass = \"person\" }\nset = \"led\"\nlevel = \"high\"\n",
        ),
        9,
        11,
        "Detection has no field `klass` to match (fields: ",
    );
    assert_refused(
        &rule("on = \"Detection\"\nmatch = { class = 1 }\nset = \"led\"\nlevel = \"high\"\n"),
        9,
        19,
        "Detection.class is a string, the match value is not",
    );
    assert_refused(
        &rule("on = \"WindowClosed\"\nset = \"buzzer\"\nlevel = \"low\"\n"),
        9,
        7,
        "rule sets \"buzzer\", which is not a declared gpio output or pwm pin (declared: led, fan)",
    );
    assert_refused(
        &rule("on = \"WindowClosed\"\nset = \"fan\"\nduty = 101\n"),
        10,
        8,
        "duty 101 % is out of range, expected 0 to 100",
    );
    assert_refused(
        &rule("on = \"WindowClosed\"\nset = \"fan\"\nlevel = \"low\"\n"),
        10,
        9,
        "\"fan\" is a pwm pin: set `duty`",
    );
    assert_refused(
        &rule("on = \"WindowClosed\"\nset = \"led\"\nduty = 5\n"),
        10,
        8,
        "\"led\" is an output: set `level`",
    );
    assert_refused(
        &rule("on = \"WindowClosed\"\nset = \"led\"\n"),
        9,
        7,
        "needs `level = \"high\" or \"low\"`",
    );
    assert_refused(
        &rule("on = \"WindowClosed\"\nset = \"led\"\nlevel = \"high\"\nfor = \"5\"\n"),
        11,
        7,
        "invalid duration \"5\"",
    );
}

#[test]
fn unreadable_file() {
    let e = Config::load(std::path::Path::new("/nonexistent/vigil.toml"));
    match e {
        Err(ConfigError::Read { path, .. }) => {
            assert_eq!(path, std::path::PathBuf::from("/nonexistent/vigil.toml"))
        }
        other => panic!("expected a read error, got {other:?}"),
    }
}

#[test]
fn sim_presses_name_a_declared_input_a_sim_backend_and_an_rfc3339_time() {
    let pins = "[gpio]\nbackend = \"sim\"\n[[gpio.input]]\nname = \"button\"\npin = 17\n";
    let ok =
        format!("{pins}[[gpio.sim_press]]\ninput = \"button\"\nat = \"2026-06-01T05:00:00Z\"\n");
    let cfg = Config::parse(&ok, "t.toml").expect("valid");
    assert_eq!(cfg.gpio.sim_presses.len(), 1);
    assert_eq!(cfg.gpio.sim_presses[0].at_us, 1_780_290_000_000_000);
    assert_refused(
        &format!("{pins}[[gpio.sim_press]]\ninput = \"buton\"\nat = \"2026-06-01T05:00:00Z\"\n"),
        7,
        9,
        "not a declared gpio input (declared: button)",
    );
    assert_refused(
        &format!("{pins}[[gpio.sim_press]]\ninput = \"button\"\nat = \"5 o'clock\"\n"),
        8,
        6,
        "is not RFC 3339",
    );
    let real = "[gpio]\nbackend = \"rppal\"\n[[gpio.input]]\nname = \"button\"\npin = 17\n";
    assert_refused(
        &format!("{real}[[gpio.sim_press]]\ninput = \"button\"\nat = \"2026-06-01T05:00:00Z\"\n"),
        7,
        9,
        "needs `backend = \"sim\"`",
    );
}
