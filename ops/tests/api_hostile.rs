//! Issue 19, items 1 and 9: the local API tried as a hostile client would. Over-long requests
//! are refused (414/431) and never reach the log, the audit record holds the parsed filters,
//! refused queries are recorded too, and a client that never reads its answers, or never
//! finishes its request, holds no other client up.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::audit;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Send `request` as is and read the whole answer: status and body (not necessarily JSON).
fn exchange(addr: SocketAddr, request: &[u8]) -> Option<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    // The server may answer and close before it has read everything sent.
    let _ = s.write_all(request);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

fn get(addr: SocketAddr, target: &str) -> Option<(u16, Value)> {
    let (status, body) = exchange(
        addr,
        format!("GET {target} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes(),
    )?;
    Some((status, serde_json::from_str(&body).ok()?))
}

struct Station {
    child: Child,
    addr: SocketAddr,
    data: String,
    _tmp: tempfile::TempDir,
}

impl Station {
    fn start() -> Station {
        let tmp = tempfile::tempdir().expect("tmp");
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
        let config = tmp.path().join("station.toml");
        std::fs::write(&config, format!("[api]\nlisten = \"{addr}\"\n")).expect("config");
        let data = tmp.path().join("data").display().to_string();
        let child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["start", "--config"])
            .arg(&config)
            .args(["--data", &data, "--clock", "sim:2026-06-01T00:10:00Z@60x"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let deadline = Instant::now() + Duration::from_secs(30);
        while get(addr, "/v1/status").is_none() {
            assert!(Instant::now() < deadline, "API never came up on {addr}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Station {
            child,
            addr,
            data,
            _tmp: tmp,
        }
    }

    /// SIGINT, and the supervisor's exit status and stderr.
    fn stop(&mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .expect("kill")
            .success());
        let mut stderr = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        let status = self.child.wait().expect("wait for the supervisor");
        (status, stderr)
    }
}

#[test]
fn oversized_requests_are_refused_and_queries_are_recorded_as_parsed_filters() {
    let mut st = Station::start();
    let addr = st.addr;

    // The request: `?` and about 1.1 MB of `&` before `limit=1`. The HTTP layer stops
    // reading at 128 KiB and answers 431; nothing reaches the log.
    let huge = format!(
        "GET /v1/events?{}limit=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "&".repeat(1_126_400)
    );
    let (status, _) = exchange(addr, huge.as_bytes()).expect("an answer to the huge request");
    assert!(status == 431 || status == 414, "status {status}");

    // Over our own bounds but under the HTTP layer's: a JSON error.
    let (status, body) = get(addr, &format!("/v1/events?{}limit=1", "&".repeat(9000)))
        .expect("answer to a 9 KB target");
    assert_eq!(status, 414, "{body}");
    assert_eq!(
        body["error"],
        "the request target is 9018 bytes; the API reads at most 8192"
    );
    let (status, raw) = exchange(
        addr,
        format!(
            "GET /v1/status HTTP/1.0\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
            "p".repeat(9000)
        )
        .as_bytes(),
    )
    .expect("answer to 9 KB of headers");
    assert_eq!(status, 431, "{raw}");
    let body: Value = serde_json::from_str(&raw).expect("JSON error");
    assert_eq!(
        body["error"],
        "the request headers are 9010 bytes; the API reads at most 8192"
    );

    // A query with a pile of empty parameters is answered and recorded by what it asks.
    let target = format!(
        "/v1/events?{}kind=SupervisorStarted&limit=5",
        "&".repeat(4000)
    );
    let (status, body) = get(addr, &target).expect("answer");
    assert_eq!(status, 200, "{body}");
    // A refused one is recorded too.
    let (status, body) = get(addr, "/v1/events?kind=Nope").expect("answer");
    assert_eq!(status, 400);
    assert_eq!(body["error"], "kind: unknown event kind `Nope`");
    // Still serving.
    assert_eq!(get(addr, "/v1/status").map(|(s, _)| s), Some(200));

    let (status, stderr) = st.stop();
    let data = st.data.clone();
    assert!(status.success(), "supervisor failed: {stderr}");
    assert!(
        stderr.contains("vigil: stopped (signal SIGINT)"),
        "{stderr}"
    );
    assert_eq!(audit(&data, "SupervisorStopped").len(), 1);
    let queried = audit(&data, "AuditQueried");
    let payloads: Vec<&Value> = queried.iter().map(|e| &e["payload"]).collect();
    assert_eq!(payloads.len(), 2, "{payloads:?}");
    assert_eq!(payloads[0]["query"], "kind=SupervisorStarted&limit=5");
    assert_eq!(payloads[0]["results"], 1);
    assert_eq!(payloads[0]["refused"], Value::Null);
    assert_eq!(payloads[1]["query"], "");
    assert_eq!(payloads[1]["results"], 0);
    assert_eq!(
        payloads[1]["refused"], "kind: unknown event kind `Nope`",
        "{payloads:?}"
    );
    assert_eq!(queried[0]["schema"], 2);
}

#[test]
fn a_client_that_never_reads_or_never_finishes_holds_no_other_up() {
    let mut st = Station::start();
    let addr = st.addr;

    // One client pipelines many large queries and never reads an answer.
    let mut greedy = TcpStream::connect(addr).expect("connect");
    greedy
        .set_write_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let one = "GET /v1/events?limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n".repeat(50);
    for _ in 0..40 {
        if greedy.write_all(one.as_bytes()).is_err() {
            break; // the server stopped reading from it: its own connection stalls
        }
    }
    // Another sends half a request line and waits.
    let mut slow = TcpStream::connect(addr).expect("connect");
    slow.write_all(b"GET /v1/sta").expect("half a request");

    // Everybody else is still answered, promptly.
    for i in 0..5 {
        let t = Instant::now();
        let answer = get(addr, "/v1/status");
        assert_eq!(answer.as_ref().map(|a| a.0), Some(200), "request {i}");
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "request {i} took {:?}",
            t.elapsed()
        );
    }

    // The half-open client is cut off after the request timeout (5 s) instead of being
    // waited for forever.
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let t = Instant::now();
    let mut buf = Vec::new();
    let _ = slow.read_to_end(&mut buf);
    assert!(
        t.elapsed() < Duration::from_secs(12),
        "half-open client still held after {:?}",
        t.elapsed()
    );
    drop(greedy);

    let (status, stderr) = st.stop();
    assert!(status.success(), "supervisor failed: {stderr}");
}

#[test]
fn methods_and_paths_still_answer_json_errors() {
    let mut st = Station::start();
    let addr = st.addr;
    let (status, raw) = exchange(
        addr,
        b"POST /v1/events HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    )
    .expect("answer");
    assert_eq!(status, 405, "{raw}");
    let body: Value = serde_json::from_str(&raw).expect("json");
    assert_eq!(body["error"], "only GET is served");
    let (status, body) = get(addr, "/v2/anything").expect("answer");
    assert_eq!(status, 404);
    assert_eq!(body["error"], "no such path `/v2/anything`");
    let (status, body) = get(addr, "/v1/status").expect("answer");
    assert_eq!(status, 200);
    assert!(body["last_seq"].as_u64().is_some(), "{body}");
    let (status, stderr) = st.stop();
    assert!(status.success(), "{stderr}");
}
