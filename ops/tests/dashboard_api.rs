//! The dashboard's endpoints through the running binary: `GET /` and its files, the live
//! stream (`/v1/events/stream`, resumable) and camera frames by seq (`/v1/frames/{seq}`),
//! which serve only the listed file from under the frames directory.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Status, body and the named header of `GET path` (no redirects, no normalisation).
fn get(port: u16, path: &str, header: &str) -> Option<(u16, Vec<u8>, String)> {
    let r = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(20))
        .build()
        .get(&format!("http://127.0.0.1:{port}{path}"))
        .call();
    let resp = match r {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(_) => return None,
    };
    let status = resp.status();
    let h = resp.header(header).unwrap_or_default().to_string();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut resp.into_reader(), &mut body).ok()?;
    Some((status, body, h))
}

fn json_error(port: u16, path: &str) -> (u16, String) {
    let (status, body, _) = get(port, path, "").expect("answer");
    let v: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("{path}: not JSON: {}", String::from_utf8_lossy(&body)));
    (status, v["error"].as_str().unwrap_or_default().to_string())
}

/// Event ids of the first `n` events of the stream opened with `request_tail`.
fn stream_ids(port: u16, request_tail: &str, n: usize) -> Vec<u64> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(s, "{request_tail}Host: x\r\n\r\n").expect("request");
    let mut ids = Vec::new();
    let mut r = BufReader::new(s);
    let mut line = String::new();
    while ids.len() < n {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            break;
        }
        if let Some(id) = line.trim_end().strip_prefix("id: ") {
            ids.push(id.parse().expect("id"));
        }
    }
    ids
}

#[test]
fn page_stream_and_frames_through_the_running_station() {
    let station = common::Station::builtin();
    let port = free_port();
    let config = include_str!("../../config/default.toml")
        .replace("127.0.0.1:8640", &format!("127.0.0.1:{port}"));
    let path = station.tmp.path().join("station.toml");
    std::fs::write(&path, config).expect("config");
    let _vigil = Killed(
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["start", "--config"])
            .arg(&path)
            .args(["--data", &station.data])
            .args(["--clock", "sim:2026-06-01T03:59:00Z@600x", "--for", "120s"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let frame = loop {
        assert!(
            Instant::now() < deadline,
            "no FrameCaptured served on {port}"
        );
        let got = get(port, "/v1/events?kind=FrameCaptured&limit=1", "")
            .and_then(|(_, b, _)| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v["items"].get(0).cloned());
        if let Some(f) = got {
            break f;
        }
        std::thread::sleep(Duration::from_millis(200));
    };

    // The page and its files, from the binary.
    let (status, body, csp) = get(port, "/", "content-security-policy").expect("page");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("/dashboard.js"));
    assert!(csp.contains("default-src 'self'"), "{csp}");
    for file in ["/dashboard.js", "/dashboard.css"] {
        assert_eq!(get(port, file, "").expect(file).0, 200, "{file}");
    }

    // The frame by its seq: the recorded bytes, with the recorded hash.
    let seq = frame["seq"].as_u64().expect("seq");
    let (status, bytes, hash) =
        get(port, &format!("/v1/frames/{seq}"), "x-vigil-blake3").expect("frame");
    assert_eq!(status, 200);
    assert_eq!(
        bytes.len() as u64,
        frame["payload"]["bytes"].as_u64().expect("bytes")
    );
    assert_eq!(
        blake3::hash(&bytes).to_hex().as_str(),
        frame["payload"]["blake3"]
    );
    assert_eq!(hash, frame["payload"]["blake3"]);

    // Not a frame event, no such seq, not a seq, traversal: JSON 4xx naming what.
    let (status, err) = json_error(port, "/v1/frames/1");
    assert_eq!((status, err.contains("seq 1")), (404, true), "{err}");
    let (status, err) = json_error(port, "/v1/frames/999999999");
    assert_eq!((status, err.contains("999999999")), (404, true), "{err}");
    for bad in [
        "/v1/frames/%2e%2e%2f",
        "/v1/frames/..%2Fstation.toml",
        "/v1/frames/-1",
    ] {
        let (status, err) = json_error(port, bad);
        assert_eq!(status, 400, "{bad}: {err}");
        assert!(err.contains("seq"), "{bad}: {err}");
    }
    let (status, _) = json_error(port, "/v1/frames/../../station.toml");
    assert!((400..500).contains(&status), "{status}");

    // A frame file swapped for a symlink out of the frames directory is refused.
    let file = station
        .data_dir
        .join(frame["payload"]["path"].as_str().expect("path"));
    std::fs::remove_file(&file).expect("remove frame");
    std::os::unix::fs::symlink(&path, &file).expect("symlink");
    let (status, err) = json_error(port, &format!("/v1/frames/{seq}"));
    assert_eq!(status, 403, "{err}");
    assert!(err.contains(&format!("seq {seq}")), "{err}");

    // The stream replays from the start, and resumes after Last-Event-ID.
    let ids = stream_ids(port, "GET /v1/events/stream?since_seq=0 HTTP/1.1\r\n", 5);
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
    let ids = stream_ids(
        port,
        "GET /v1/events/stream HTTP/1.1\r\nLast-Event-ID: 3\r\n",
        2,
    );
    assert_eq!(ids, vec![4, 5]);
    // Live only: the first event is newer than the head when it connected.
    let head = get(port, "/v1/status", "")
        .and_then(|(_, b, _)| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|v| v["last_seq"].as_u64())
        .expect("head");
    let ids = stream_ids(
        port,
        "GET /v1/events/stream?kind=ThermalFrame HTTP/1.1\r\n",
        1,
    );
    assert!(
        ids.first().is_some_and(|&id| id > head),
        "{ids:?} after {head}"
    );
    let (status, err) = json_error(port, "/v1/events/stream?kind=Nope");
    assert_eq!((status, err.contains("kind")), (400, true), "{err}");
}
