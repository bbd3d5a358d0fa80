//! The dashboard in a real browser: the simulated station runs (`vigil start`, sped up), and
//! headless Chromium, driven over WebDriver by chromedriver, opens `GET /`; a window, a
//! detection and a camera frame must appear on the page from the API and the live stream,
//! with no error in the page's console. The screenshot is kept under
//! `target/test-output/dashboard_browser/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`ops/scripts/setup.sh` installs them);
//! without them the test fails saying so. Override the paths with `VIGIL_CHROMIUM` and
//! `VIGIL_CHROMEDRIVER`.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long the page may take to show everything (a loaded 2-core machine).
const PAGE_DEADLINE: Duration = Duration::from_secs(90);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A program from `env` or the first of `names` on PATH; the failure says how to install it.
fn program(env: &str, names: &[&str]) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return p;
            }
        }
    }
    panic!(
        "{} not found (looked for {names:?} on PATH and ${env}): run ops/scripts/setup.sh, \
         which installs Debian's chromium and chromium-driver",
        names[0]
    );
}

/// A child process killed (and reaped) when the test ends, passed or failed.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(60))
        .build()
}

fn get_json(url: &str) -> Option<Value> {
    agent().get(url).call().ok()?.into_json().ok()
}

/// The station with its API on a free loopback port, `extra` config appended.
fn start_station(station: &common::Station, extra: &str) -> (Killed, String) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let config = include_str!("../../config/default.toml")
        .replace("127.0.0.1:8640", &format!("127.0.0.1:{port}"))
        + extra;
    let path = station.tmp.path().join("station.toml");
    std::fs::write(&path, config).expect("config");
    let child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["start", "--config"])
        .arg(&path)
        .args(["--data", &station.data])
        // 05:58 in Berlin: the day window opens two station minutes in, 10 station minutes
        // per real second from then on.
        .args(["--clock", "sim:2026-06-01T03:58:00Z@600x", "--for", "150s"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn vigil");
    let child = Killed(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while get_json(&format!("{base}/v1/status")).is_none() {
        assert!(Instant::now() < deadline, "the API never came up on {base}");
        std::thread::sleep(Duration::from_millis(200));
    }
    (child, base)
}

/// A WebDriver session of headless Chromium through chromedriver on a free port.
struct Browser {
    _driver: Killed,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let chromium = program("VIGIL_CHROMIUM", &["chromium", "chromium-browser"]);
        let chromedriver = program("VIGIL_CHROMEDRIVER", &["chromedriver"]);
        let port = free_port();
        let driver = Killed(
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("{}: {e}", chromedriver.display())),
        );
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !get_json(&format!("{base}/status")).is_some_and(|s| s["value"]["ready"] == true) {
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let args = [
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1400,1800".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let answer: Value = agent()
            .post(&format!("{base}/session"))
            .send_json(caps)
            .unwrap_or_else(|e| panic!("no browser session: {e}"))
            .into_json()
            .expect("session json");
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session id in {answer}"));
        Browser {
            session: format!("{base}/session/{id}"),
            _driver: driver,
            _profile: profile,
        }
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.session);
        match agent().post(&url).send_json(body) {
            Ok(r) => r.into_json::<Value>().expect("json")["value"].take(),
            Err(e) => panic!("{url}: {e}"),
        }
    }

    fn open(&self, url: &str) {
        self.post("/url", json!({ "url": url }));
    }

    fn script(&self, js: &str) -> Value {
        self.post("/execute/sync", json!({ "script": js, "args": [] }))
    }

    /// Poll `js` until `done` holds for its value, failing after [`PAGE_DEADLINE`].
    fn wait_for(&self, what: &str, js: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PAGE_DEADLINE;
        loop {
            let v = self.script(js);
            if done(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "{what} never appeared: {v}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Save a PNG screenshot to `path`.
    fn screenshot(&self, path: &Path) {
        let url = format!("{}/screenshot", self.session);
        let v: Value = agent()
            .get(&url)
            .call()
            .expect("screenshot")
            .into_json()
            .expect("json");
        let png = base64_decode(v["value"].as_str().expect("base64"));
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::create_dir_all(path.parent().expect("dir")).expect("output dir");
        std::fs::write(path, png).expect("write screenshot");
    }

    /// The browser console's entries so far.
    fn console(&self) -> Vec<Value> {
        self.post("/se/log", json!({ "type": "browser" }))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = agent().delete(&self.session).call();
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn output_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-output/dashboard_browser")
}

const PAGE_STATE: &str = "return {
    view: document.body.dataset.view,
    windows: document.querySelectorAll('#windows [data-window]').length,
    detections: Number(document.body.dataset.detections || 0),
    detection: document.getElementById('det-class').textContent,
    frame: Number(document.body.dataset.frame || 0),
    image: document.getElementById('camera-img').naturalWidth,
    live: document.getElementById('live').dataset.state,
    seq: document.getElementById('chain-seq').textContent,
};";

#[test]
fn the_dashboard_shows_a_window_a_detection_and_a_frame_live() {
    let station = common::Station::builtin();
    let (_vigil, base) = start_station(&station, "");
    let browser = Browser::start();
    browser.open(&format!("{base}/"));
    let page = browser.wait_for(
        "a window, a detection and a camera frame",
        PAGE_STATE,
        |v| {
            v["view"] == "data"
                && v["windows"].as_u64() > Some(0)
                && v["detections"].as_u64() > Some(0)
                && v["frame"].as_u64() > Some(0)
                && v["image"].as_u64() > Some(0)
                && v["live"] == "live"
        },
    );
    // Live, not a snapshot: the frame shown moves on while the page stays open.
    let first = page["frame"].as_u64().unwrap_or(0);
    browser.wait_for("a newer camera frame from the stream", PAGE_STATE, |v| {
        v["frame"].as_u64() > Some(first)
    });
    let shot = output_dir().join("dashboard.png");
    browser.screenshot(&shot);
    println!("screenshot: {}", shot.display());
    let errors: Vec<Value> = browser
        .console()
        .into_iter()
        .filter(|e| e["level"] == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

#[test]
#[ignore = "needs the api branch's auth; the lead un-ignores at merge"]
fn a_wrong_token_gets_the_login_page_not_data() {
    let station = common::Station::builtin();
    // A station with a token configured: the API refuses requests without the right one.
    let config = station.tmp.path().join("tokens.toml");
    std::fs::write(&config, "").expect("token file");
    let added = common::vigil(&[
        "token",
        "add",
        "viewer",
        "--role",
        "read",
        "--config",
        &config.display().to_string(),
    ]);
    assert!(added.status.success(), "{}", common::text(&added));
    let tokens = std::fs::read_to_string(&config).expect("tokens");
    let (_vigil, base) = start_station(&station, &format!("\n{tokens}"));
    let browser = Browser::start();
    browser.open(&format!("{base}/"));
    browser.script(
        "sessionStorage.setItem('vigil.token', 'not-the-token'); location.reload(); return 0;",
    );
    let page = browser.wait_for("the login page", PAGE_STATE, |v| v["view"] == "login");
    assert_eq!(page["detections"], 0, "{page}");
    assert_eq!(page["frame"], 0, "{page}");
    let shown = browser.script(
        "return {login: !document.getElementById('login').hidden,
                 data: !document.getElementById('data').hidden,
                 rows: document.querySelectorAll('#audit-table tbody tr').length,
                 error: document.getElementById('login-error').textContent};",
    );
    assert_eq!(shown["login"], true, "{shown}");
    assert_eq!(shown["data"], false, "{shown}");
    assert_eq!(shown["rows"], 0, "{shown}");
    assert!(
        shown["error"]
            .as_str()
            .is_some_and(|e| e.contains("refused")),
        "{shown}"
    );
    browser.screenshot(&output_dir().join("login.png"));
}
