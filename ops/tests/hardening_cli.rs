//! Issue 19, items 6 and 10, through the binary: an unclean stop is recorded at the next
//! start, and the smaller CLI faults (`--fps 0`, OS errors printed twice, a 25-row CSV,
//! `config check` on a bad key file, `--limit -1`, the audit table's `seq` column).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use common::{assert_refused, audit, text, vigil};

const CONFIG: &str = "[api]\nenabled = false\n";

fn write_config(dir: &Path, extra: &str) -> String {
    let path = dir.join("station.toml");
    std::fs::write(&path, format!("{CONFIG}{extra}")).expect("write config");
    path.display().to_string()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_killed_supervisor_is_recorded_as_an_unclean_stop_at_the_next_start() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = write_config(tmp.path(), "");
    let data = tmp.path().join("data").display().to_string();
    let start_for = |d: &str, clock: &str| {
        let out = vigil(&[
            "start", "--config", &config, "--data", &data, "--for", d, "--clock", clock,
        ]);
        assert!(out.status.success(), "{}", text(&out));
    };
    // Two clean runs: nothing to report.
    start_for("300ms", "sim:2026-06-01T04:00:00Z@60x");
    start_for("300ms", "sim:2026-06-01T04:00:00Z@60x");
    assert!(audit(&data, "UncleanStopDetected").is_empty());

    let started_before = audit(&data, "SupervisorStarted").len();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["start", "--config", &config, "--data", &data])
        .args(["--clock", "sim:2026-06-01T05:00:00Z@60x"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Let it record its start, then kill it without a chance to stop.
    std::thread::sleep(Duration::from_millis(1500));
    child.kill().expect("kill -9");
    let _ = child.wait();
    start_for("300ms", "sim:2026-06-01T06:00:00Z@60x");

    let unclean = audit(&data, "UncleanStopDetected");
    assert_eq!(unclean.len(), 1, "{unclean:?}");
    let p = &unclean[0]["payload"];
    let started = audit(&data, "SupervisorStarted");
    assert_eq!(started.len(), started_before + 2);
    // Recorded right before the new start's SupervisorStarted, naming the killed run's last
    // event (which was not a SupervisorStopped).
    let this_start = &started[started.len() - 1];
    assert_eq!(
        unclean[0]["seq"].as_u64().map(|s| s + 1),
        this_start["seq"].as_u64()
    );
    assert_eq!(
        p["last_seq"].as_u64(),
        unclean[0]["seq"].as_u64().map(|s| s - 1)
    );
    assert_ne!(p["last_kind"], "SupervisorStopped");
    assert!(
        p["last_kind"].as_str().is_some_and(|k| !k.is_empty()),
        "{p}"
    );
    let since = p["since_us"].as_i64().expect("since_us");
    assert!(since > 0, "{p}");
    assert!(p["reapplied"].as_u64().is_some(), "{p}");
    // The clean run after it is not reported again.
    let out = vigil(&[
        "start", "--config", &config, "--data", &data, "--for", "300ms",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(audit(&data, "UncleanStopDetected").len(), 1);
}

#[test]
fn timelapse_fps_0_is_bad_input_before_the_log_is_read() {
    let tmp = tempfile::tempdir().expect("tmp");
    let missing = tmp.path().join("no-such-data").display().to_string();
    let out = vigil(&[
        "timelapse",
        "--data",
        &missing,
        "--window",
        "2026-06-01",
        "--fps",
        "0",
        "--out",
        "/tmp/x.mp4",
    ]);
    assert_refused(
        &out,
        2,
        "invalid value '0' for '--fps <FPS>': 0 is not in 1..=240",
    );
}

#[test]
fn an_os_error_is_printed_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    let missing = tmp.path().join("nope_1.csv");
    let out = vigil(&["classify", &missing.display().to_string()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let msg = stderr(&out);
    assert_eq!(
        msg.matches("No such file or directory (os error 2)")
            .count(),
        1,
        "{msg}"
    );
    // The store's I/O errors are rendered the same way (`load` into a path under a file).
    let file = tmp.path().join("file");
    std::fs::write(&file, "x").expect("file");
    let under = file.join("data").display().to_string();
    let out = vigil(&["load", "--data", &under, "--events", "10"]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    let msg = stderr(&out);
    assert_eq!(
        msg.matches("Not a directory (os error 20)").count(),
        1,
        "{msg}"
    );
}

#[test]
fn a_csv_of_25_rows_holding_768_values_is_refused_naming_the_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    // 23 rows of 32, then 25 + 7 values on rows 24 and 25: 768 values in all.
    let mut rows: Vec<String> = (0..23).map(|_| ["21.5"; 32].join(",")).collect();
    rows.push(["21.5"; 25].join(","));
    rows.push(["21.5"; 7].join(","));
    let path = tmp.path().join("odd_1.csv");
    std::fs::write(&path, rows.join("\n")).expect("csv");
    let shown = path.display().to_string();
    let out = vigil(&["classify", &shown]);
    assert_refused(
        &out,
        2,
        &format!(
            "{shown}:24: 25 values on this row; a frame is 24 rows of 32 values (or one row of 768)"
        ),
    );
    // 25 full rows: the 25th is named.
    let rows: Vec<String> = (0..25).map(|_| ["21.5"; 32].join(",")).collect();
    std::fs::write(&path, rows.join("\n")).expect("csv");
    let out = vigil(&["classify", &shown]);
    assert_refused(
        &out,
        2,
        &format!("{shown}:25: 25 rows; a frame is 24 rows of 32 values"),
    );
}

#[test]
fn config_check_refuses_the_key_files_that_start_refuses() {
    let tmp = tempfile::tempdir().expect("tmp");
    let key = tmp.path().join("chain.key");
    let config = write_config(
        tmp.path(),
        &format!("[store]\nkey_file = \"{}\"\n", key.display()),
    );
    let data = tmp.path().join("data").display().to_string();
    let set = |bytes: usize, mode: u32| {
        std::fs::write(&key, vec![7u8; bytes]).expect("key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    for (bytes, mode, problem) in [
        (
            32,
            0o644,
            format!(
                "mode 644 lets group or others access it; run `chmod 600 {}`",
                key.display()
            ),
        ),
        (
            31,
            0o600,
            "31 bytes; a key file holds exactly 32 raw bytes".to_string(),
        ),
    ] {
        set(bytes, mode);
        let check = vigil(&["config", "check", "--config", &config]);
        assert_refused(
            &check,
            2,
            &format!(
                "{config}: [store] key_file: key file {}: {problem}",
                key.display()
            ),
        );
        let start = vigil(&["start", "--config", &config, "--data", &data, "--for", "1s"]);
        assert_refused(&start, 2, &problem);
    }
    set(32, 0o600);
    let check = vigil(&["config", "check", "--config", &config]);
    assert!(check.status.success(), "{}", text(&check));
    // Not installed yet: ok, with a note.
    std::fs::remove_file(&key).expect("rm key");
    let check = vigil(&["config", "check", "--config", &config]);
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains(&format!(
            "note: key file {} does not exist yet; `vigil start` refuses to run until it holds 32 bytes with mode 600",
            key.display()
        )),
        "{}",
        text(&check)
    );
}

#[test]
fn audit_limit_minus_one_says_what_a_limit_is_and_the_seq_column_lines_up() {
    let tmp = tempfile::tempdir().expect("tmp");
    let config = write_config(tmp.path(), "");
    let data = tmp.path().join("data").display().to_string();
    let out = vigil(&["audit", "--data", &data, "--limit", "-1"]);
    assert_refused(&out, 2, "invalid value '-1' for '--limit <LIMIT>': `-1` is not a count: the limit must be a non-negative number");

    let out = vigil(&[
        "start", "--config", &config, "--data", &data, "--for", "300ms",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = vigil(&["audit", "--data", &data, "--limit", "3"]);
    assert!(out.status.success(), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = table.lines().collect();
    let header_end = lines[0].find("seq").expect("seq header") + "seq".len();
    assert_eq!(header_end, 8, "{table}");
    for row in &lines[1..4] {
        // Right-aligned under the header: the seq ends where `seq` ends.
        assert_eq!(
            &row[..header_end].trim_start().parse::<u64>().is_ok(),
            &true,
            "{table}"
        );
        assert_eq!(row.as_bytes()[header_end], b' ', "{table}");
        assert_ne!(row.as_bytes()[header_end - 1], b' ', "{table}");
    }
}
