//! While the supervisor holds the log, `vigil audit` queries through its local API, and
//! every API query is itself recorded as `AuditQueried`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::vigil;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn raw_get(addr: SocketAddr, path: &str) -> Option<(u16, Value)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").ok()?;
    let mut raw = String::new();
    s.read_to_string(&mut raw).ok()?;
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, serde_json::from_str(body).ok()?))
}

#[test]
fn audit_goes_through_the_api_while_the_supervisor_runs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let config = tmp.path().join("station.toml");
    std::fs::write(
        &config,
        format!(
            "[schedule]\ntimezone = \"UTC\"\n[[schedule.window]]\nname = \"all\"\nstart = \"00:00\"\nend = \"23:59\"\n[api]\nlisten = \"{addr}\"\n"
        ),
    )
    .expect("config");
    let cfg = config.display().to_string();
    let data = tmp.path().join("data").display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args([
            "start",
            "--config",
            &cfg,
            "--data",
            &data,
            "--clock",
            "sim:2026-06-01T00:10:00Z@60x",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while raw_get(addr, "/v1/status").is_none() {
        assert!(Instant::now() < deadline, "API never came up on {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The API answers once the start events are durable; the clock actor records the window
    // a moment later (slow on a loaded machine), so wait for it before asking through the CLI.
    let has_window = |addr| {
        raw_get(addr, "/v1/events?kind=WindowOpened")
            .is_some_and(|(_, body)| body["items"].as_array().is_some_and(|a| !a.is_empty()))
    };
    while !has_window(addr) {
        assert!(
            Instant::now() < deadline,
            "no WindowOpened recorded on {addr}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let out = vigil(&[
        "audit",
        "--data",
        &data,
        "--config",
        &cfg,
        "--kind",
        "WindowOpened",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(items.as_array().map(Vec::len), Some(1), "{items}");
    assert_eq!(items[0]["payload"]["name"], "all");

    let (status, body) = raw_get(addr, "/v1/events?kind=Nope").expect("answer");
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap_or("").contains("kind"),
        "{body}"
    );
    let (status, _) = raw_get(addr, "/v2/anything").expect("answer");
    assert_eq!(status, 404);

    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill")
        .success());
    assert!(child.wait().expect("wait").success());

    let out = vigil(&[
        "audit",
        "--data",
        &data,
        "--kind",
        "AuditQueried",
        "--format",
        "json",
    ]);
    assert!(out.status.success());
    let queried: Value = serde_json::from_slice(&out.stdout).expect("json");
    let q = queried.as_array().cloned().unwrap_or_default();
    assert!(
        q.iter().any(|e| e["payload"]["via"] == "api"
            && e["payload"]["query"]
                .as_str()
                .unwrap_or("")
                .contains("kind=WindowOpened")
            && e["payload"]["results"] == 1),
        "{queried}"
    );
}
