//! The client side: what `vigil audit` uses to query a running supervisor.

use std::net::SocketAddr;

use serde_json::Value;

/// A failed API call.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing answered at the address.
    #[error("no vigil API at {addr}: {source}")]
    Connect {
        /// Address tried.
        addr: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
    /// The API answered with an error.
    #[error("the API at {addr} answered {status}: {message}")]
    Status {
        /// Address.
        addr: SocketAddr,
        /// HTTP status.
        status: u16,
        /// Its error message.
        message: String,
    },
    /// The answer was not HTTP with a JSON body.
    #[error("the API at {addr} sent an unreadable answer: {0}", addr = .1)]
    Garbled(String, SocketAddr),
}

/// `GET path` on the local API; the JSON body of a 200 answer.
pub fn get(addr: SocketAddr, path: &str) -> Result<Value, ClientError> {
    use std::io::{Read, Write};
    let timeout = std::time::Duration::from_secs(10);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)
        .map_err(|source| ClientError::Connect { addr, source })?;
    let _ = stream.set_read_timeout(Some(timeout));
    let request =
        format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\n\r\n");
    let mut raw = Vec::new();
    stream
        .write_all(request.as_bytes())
        .and_then(|_| stream.read_to_end(&mut raw))
        .map_err(|source| ClientError::Connect { addr, source })?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| ClientError::Garbled("no header end".into(), addr))?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ClientError::Garbled("no status line".into(), addr))?;
    let body: Value = serde_json::from_str(body)
        .map_err(|e| ClientError::Garbled(format!("body is not JSON: {e}"), addr))?;
    if status != 200 {
        let message = body["error"].as_str().unwrap_or("").to_string();
        return Err(ClientError::Status {
            addr,
            status,
            message,
        });
    }
    Ok(body)
}

/// Percent-encode a query value.
pub fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
