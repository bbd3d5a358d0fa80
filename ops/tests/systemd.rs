//! systemd: a real `vigil start` tells a fake service manager (a unix datagram socket this
//! test binds as `NOTIFY_SOCKET`) READY, WATCHDOG and STOPPING; the shipped unit agrees with
//! the config's stop timeout; the poweroff rules for the `vigil` user are well formed.

mod common;

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{text, Station};

fn repo_file(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `KEY=value` lines of the unit's `[Service]` section.
fn unit_value(unit: &str, key: &str) -> Option<String> {
    unit.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(str::to_string))
}

#[test]
fn a_real_start_notifies_ready_then_watchdog_pings_then_stopping() {
    let station = Station::builtin();
    let sock_path = station.tmp.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).expect("bind the fake NOTIFY_SOCKET");
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    // A 400 ms watchdog: pings every 200 ms, so a 3 s run sends several.
    let child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["start", "--data", &station.data, "--for", "3s"])
        .args(["--clock", "sim:2026-06-01T04:00:00Z@60x"])
        .env("RUST_LOG", "warn")
        .env("NOTIFY_SOCKET", &sock_path)
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn vigil start");
    let mut messages: Vec<(Instant, String)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).to_string();
            let stopping = msg.lines().any(|l| l == "STOPPING=1");
            messages.push((Instant::now(), msg));
            if stopping {
                break;
            }
        }
    }
    let out = child.wait_with_output().expect("wait vigil");
    assert!(out.status.success(), "{}", text(&out));
    let lines: Vec<&str> = messages
        .iter()
        .flat_map(|(_, m)| m.lines())
        .filter(|l| !l.starts_with("STATUS="))
        .collect();
    let pos = |what: &str| lines.iter().position(|l| *l == what);
    let ready = pos("READY=1").unwrap_or_else(|| panic!("no READY=1 in {lines:?}"));
    let stopping = pos("STOPPING=1").unwrap_or_else(|| panic!("no STOPPING=1 in {lines:?}"));
    let pings = lines[ready..stopping]
        .iter()
        .filter(|l| **l == "WATCHDOG=1")
        .count();
    assert!(
        pings >= 3,
        "expected several WATCHDOG=1 between READY and STOPPING: {lines:?}"
    );
    assert!(
        !lines[..ready].contains(&"WATCHDOG=1"),
        "a ping before READY: {lines:?}"
    );
    // READY came once the start was recorded: the log already held SupervisorStarted.
    let started = common::audit(&station.data, "SupervisorStarted");
    assert_eq!(started.len(), 1);
}

#[test]
fn without_notify_socket_a_start_runs_as_before() {
    let station = Station::builtin();
    let out = station.start("sim:2026-06-01T04:00:00Z@60x", "1s");
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn the_unit_is_type_notify_with_a_watchdog_and_the_configs_stop_timeout() {
    let unit = repo_file("systemd/vigil.service");
    assert_eq!(unit_value(&unit, "Type").as_deref(), Some("notify"));
    let watchdog: u64 = unit_value(&unit, "WatchdogSec")
        .and_then(|v| v.parse().ok())
        .expect("WatchdogSec in seconds");
    assert!(watchdog >= 2, "WatchdogSec={watchdog}");
    let stop: u64 = unit_value(&unit, "TimeoutStopSec")
        .and_then(|v| v.parse().ok())
        .expect("TimeoutStopSec in seconds");
    // The unit and the config's default (and both shipped configs) say the same.
    assert_eq!(
        Duration::from_secs(stop),
        vigil_config::DEFAULT_STOP_TIMEOUT,
        "ops/systemd/vigil.service TimeoutStopSec vs [supervisor] stop_timeout default"
    );
    for (name, toml) in [
        ("default.toml", vigil_config::DEFAULT_TOML),
        ("pi.toml", vigil_config::PI_TOML),
    ] {
        let c = vigil_config::Config::parse(toml, name).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.supervisor.stop_timeout,
            Duration::from_secs(stop),
            "{name}"
        );
        assert!(c.power.halt_grace > c.supervisor.stop_timeout, "{name}");
    }
}

#[test]
fn config_check_refuses_a_halt_grace_not_longer_than_the_stop_timeout() {
    let station = Station::new("[power]\nhalt_grace = \"8s\"\n");
    let config = station.config.as_deref().expect("config");
    let out = common::vigil(&["config", "check", "--config", config]);
    common::assert_refused(&out, 2, "`power.halt_grace` (8s) must be longer than");
    common::assert_refused(&out, 2, "`supervisor.stop_timeout` (10s)");
    let ok = Station::new("[power]\nhalt_grace = \"8s\"\n\n[supervisor]\nstop_timeout = \"5s\"\n");
    let out = common::vigil(&[
        "config",
        "check",
        "--config",
        ok.config.as_deref().expect("config"),
    ]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn the_sudoers_drop_in_passes_visudo_and_allows_only_poweroff() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/vigil-poweroff.sudoers");
    let rules: Vec<String> = repo_file("systemd/vigil-poweroff.sudoers")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(str::to_string)
        .collect();
    assert_eq!(
        rules,
        ["vigil ALL=(root) NOPASSWD: /usr/bin/systemctl poweroff"]
    );
    let visudo = ["/usr/sbin/visudo", "/usr/bin/visudo", "/sbin/visudo"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("visudo is missing: run ops/scripts/setup.sh (it installs sudo)");
    let out = Command::new(visudo)
        .arg("-cf")
        .arg(&path)
        .output()
        .expect("run visudo");
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn the_polkit_rule_allows_the_vigil_user_to_power_off_and_nothing_else() {
    let rule = repo_file("systemd/50-vigil-poweroff.rules");
    let Some(node) = ["/usr/bin/node", "/usr/local/bin/node"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        // The rule's text still has to name the user and the logind action.
        assert!(rule.contains("subject.user == \"vigil\""));
        assert!(rule.contains("org.freedesktop.login1.power-off"));
        eprintln!("node not installed: the polkit rule was only read, not run");
        return;
    };
    // Run the rule against a stand-in of polkit's JavaScript API.
    let harness = format!(
        r#"
const rules = [];
const polkit = {{ Result: {{ YES: "yes", NO: "no" }}, addRule: (f) => rules.push(f) }};
{rule}
const ask = (user, id) => rules.map((f) => f({{ id }}, {{ user }})).find((r) => r) || "none";
console.log([
  ask("vigil", "org.freedesktop.login1.power-off"),
  ask("vigil", "org.freedesktop.login1.power-off-multiple-sessions"),
  ask("vigil", "org.freedesktop.login1.reboot"),
  ask("vigil", "org.freedesktop.systemd1.manage-units"),
  ask("pi", "org.freedesktop.login1.power-off"),
].join(","));
"#
    );
    let out = Command::new(node)
        .args(["-e", &harness])
        .output()
        .expect("run node");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "yes,yes,none,none,none"
    );
}
