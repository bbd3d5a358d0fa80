//! `vigil wire decode`: decode a raw serial capture (the bytes as they came off the UART) into
//! one line per frame, then the counts of rejected frames by reason.
//!
//! The capture is read whole (from `--input` or stdin) and fed byte by byte through the same
//! streaming decoder the Pi's link uses, so what this prints is what the supervisor would have
//! accepted and rejected. Bytes after the last `0x00` are an unfinished frame: they are
//! reported as trailing bytes, not decoded.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::{json, Value};
use vigil_wire::{
    BoardTime, Decoded, FrameDecoder, Header, Message, Packet, Reject, RejectCounts, RejectReason,
    MAX_ENCODED_LEN,
};

use crate::exit::{CmdResult, Failure};

/// `vigil wire …`
#[derive(Debug, clap::Subcommand)]
pub enum WireCommand {
    /// Decode a raw serial capture (stdin, or --input): one line per frame, then the counts
    /// of rejected frames by reason.
    Decode(DecodeArgs),
}

/// Output format of `vigil wire decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WireFormat {
    /// Aligned lines for people.
    Table,
    /// One JSON object per frame, then one summary object.
    Jsonl,
    /// One JSON document `{frames, summary}`.
    Json,
}

/// Arguments of `vigil wire decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Capture file to read instead of stdin.
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = WireFormat::Table)]
    format: WireFormat,
    /// Exit with code 1 when any frame was rejected (for scripts checking a capture).
    #[arg(long)]
    fail_on_reject: bool,
}

/// `vigil wire …`
pub fn run(c: WireCommand) -> CmdResult {
    match c {
        WireCommand::Decode(a) => decode(a),
    }
}

/// One frame of the capture: where it started, how many bytes it had (delimiter included),
/// and what it decoded to.
#[derive(Debug)]
struct FrameLine {
    offset: usize,
    len: usize,
    outcome: Decoded,
}

/// A decoded capture.
#[derive(Debug)]
struct Report {
    frames: Vec<FrameLine>,
    counts: RejectCounts,
    /// Bytes after the last delimiter.
    trailing: usize,
    total_bytes: usize,
}

fn decode_capture(bytes: &[u8]) -> Report {
    // Boxed: the decoder holds a full frame buffer.
    let mut dec: Box<FrameDecoder<MAX_ENCODED_LEN>> = Box::default();
    let mut frames = Vec::new();
    let mut start = 0usize;
    for (i, b) in bytes.iter().enumerate() {
        if *b == 0 && dec.pending() == 0 {
            // An empty frame (idle delimiter): nothing to report.
            start = i + 1;
            continue;
        }
        if let Some(outcome) = dec.push_byte(*b) {
            frames.push(FrameLine {
                offset: start,
                len: i + 1 - start,
                outcome,
            });
            start = i + 1;
        }
    }
    Report {
        frames,
        counts: *dec.counts(),
        trailing: dec.pending(),
        total_bytes: bytes.len(),
    }
}

fn decode(a: DecodeArgs) -> CmdResult {
    let (bytes, source) = match &a.input {
        Some(path) => (
            std::fs::read(path)
                .with_context(|| format!("cannot read capture {}", path.display()))
                .map_err(Failure::BadInput)?,
            path.display().to_string(),
        ),
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .context("cannot read the capture from stdin")
                .map_err(Failure::Failed)?;
            (buf, "stdin".to_owned())
        }
    };
    let report = decode_capture(&bytes);
    let text = match a.format {
        WireFormat::Table => render_table(&report),
        WireFormat::Jsonl => render_jsonl(&report),
        WireFormat::Json => render_json(&report),
    };
    print!("{text}");
    if a.fail_on_reject && report.counts.total_rejected() > 0 {
        return Err(Failure::CheckFailed(anyhow::anyhow!(
            "{source}: {} of {} frames rejected",
            report.counts.total_rejected(),
            report.frames.len()
        )));
    }
    Ok(())
}

fn hex32(d: &[u8; 32]) -> String {
    hex::encode(d)
}

/// Inserts a board time's two catalogue fields, `utc_us` and `synced`, into `payload`.
fn with_time(mut payload: Value, t: BoardTime) -> Value {
    if let Value::Object(map) = &mut payload {
        map.insert("utc_us".to_owned(), json!(t.utc_us));
        map.insert("synced".to_owned(), json!(t.synced));
    }
    payload
}

/// The payload as JSON: one key per field of the message catalogue (`docs/wire.md` §3),
/// named as there; the rendering rules (enums as names, digests as hex, integers exact) are
/// in `docs/wire.md` §8.
fn payload_json(m: &Message) -> Value {
    match m {
        Message::Hello(h) => with_time(
            json!({
                "role": h.role.name(),
                "protocol": h.protocol,
                "firmware": {
                    "major": h.firmware.major,
                    "minor": h.firmware.minor,
                    "patch": h.firmware.patch,
                },
                "uptime_ms": h.uptime_ms,
            }),
            h.time,
        ),
        Message::Heartbeat(h) => json!({ "pi_utc_us": h.pi_utc_us }),
        Message::TimeRequest(t) => json!({ "t1_us": t.t1_us }),
        Message::TimeReply(t) => json!({
            "t1_us": t.t1_us, "t2_us": t.t2_us, "t3_us": t.t3_us,
            "synced": t.synced, "sntp_offset_us": t.sntp_offset_us,
        }),
        Message::EventAck(e) => json!({ "boot": e.boot, "seq": e.seq }),
        Message::Windows(w) => json!({
            "digest": hex32(&w.digest),
            "windows": w.windows.iter()
                .map(|x| json!({ "start_us": x.start_us, "end_us": x.end_us }))
                .collect::<Vec<_>>(),
        }),
        Message::WindowsAck(w) => json!({ "digest": hex32(&w.digest), "count": w.count }),
        Message::HaltNotice(h) => json!({
            "window_start_us": h.window_start_us,
            "window_end_us": h.window_end_us,
            "deadline_us": h.deadline_us,
        }),
        Message::HaltConfirm(h) => json!({ "window_end_us": h.window_end_us }),
        Message::PowerStatus(s) => json!({
            "relay_on": s.relay_on,
            "override_active": s.override_active,
            "windows_count": s.windows_count,
            "windows_digest": hex32(&s.windows_digest),
            "pending_events": s.pending_events,
            "rx_rejects": s.rx_rejects,
        }),
        Message::PowerSwitched(p) => with_time(
            json!({
                "on": p.on,
                "reason": p.reason.as_str(),
                "reason_code": p.reason.as_u8(),
            }),
            p.at,
        ),
        Message::WatchdogTripped(w) => with_time(json!({ "silent_ms": w.silent_ms }), w.at),
        Message::OverrideChanged(o) => with_time(json!({ "active": o.active }), o.at),
        Message::SntpSynced(s) => with_time(
            json!({
                "offset_us": s.offset_us,
                "delay_us": s.delay_us,
                "stratum": s.stratum,
            }),
            s.at,
        ),
        Message::EventsDropped(d) => with_time(json!({ "count": d.count }), d.at),
        Message::ThermalFrame(t) => json!({ "frame": t.frame, "centi_c": t.centi_c.to_vec() }),
        Message::Detection(d) => json!({
            "frame": d.frame,
            "class": d.class.name(),
            "confidence_permille": d.confidence_permille,
            "person_present": d.person_present,
            "latency_us": d.latency_us,
        }),
        Message::PicoConfig(c) | Message::PicoConfigAck(c) => json!({
            "threshold_permille": c.threshold_permille,
            "hysteresis_frames": c.hysteresis_frames,
            "frame_mode": c.frame_mode.name(),
        }),
    }
}

fn header_json(h: &Header) -> Value {
    json!({ "device": h.device, "boot": h.boot, "seq": h.seq })
}

fn reject_detail(r: &Reject) -> String {
    r.to_string()
}

fn frame_json(f: &FrameLine) -> Value {
    match &f.outcome {
        Decoded::Packet(Packet { header, message }) => json!({
            "offset": f.offset,
            "len": f.len,
            "ok": true,
            "header": header_json(header),
            "kind": message.kind().name(),
            "kind_no": message.kind().as_u8(),
            "payload": payload_json(message),
        }),
        Decoded::Rejected(r) => json!({
            "offset": f.offset,
            "len": f.len,
            "ok": false,
            "reject": r.reason().as_str(),
            "detail": reject_detail(r),
        }),
    }
}

fn summary_json(r: &Report) -> Value {
    let rejected: serde_json::Map<String, Value> = RejectReason::ALL
        .iter()
        .map(|reason| (reason.as_str().to_owned(), json!(r.counts.get(*reason))))
        .collect();
    json!({
        "bytes": r.total_bytes,
        "frames": r.frames.len(),
        "accepted": r.counts.accepted,
        "rejected_total": r.counts.total_rejected(),
        "rejected": rejected,
        "trailing_bytes": r.trailing,
    })
}

fn render_jsonl(r: &Report) -> String {
    let mut out = String::new();
    for f in &r.frames {
        out.push_str(&frame_json(f).to_string());
        out.push('\n');
    }
    out.push_str(&json!({ "summary": summary_json(r) }).to_string());
    out.push('\n');
    out
}

fn render_json(r: &Report) -> String {
    let frames: Vec<Value> = r.frames.iter().map(frame_json).collect();
    let doc = json!({ "frames": frames, "summary": summary_json(r) });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| doc.to_string());
    s.push('\n');
    s
}

/// A one-line summary of a payload for the table.
fn payload_brief(m: &Message) -> String {
    match m {
        Message::ThermalFrame(t) => {
            let min = t.centi_c.iter().copied().min().unwrap_or(0);
            let max = t.centi_c.iter().copied().max().unwrap_or(0);
            let sum: i64 = t.centi_c.iter().map(|v| i64::from(*v)).sum();
            let mean = sum as f64 / t.centi_c.len() as f64 / 100.0;
            format!(
                "frame={} min={:.2}°C max={:.2}°C mean={mean:.2}°C",
                t.frame,
                f64::from(min) / 100.0,
                f64::from(max) / 100.0
            )
        }
        other => {
            // `key=value` pairs of the JSON payload, nested objects inline.
            match payload_json(other) {
                Value::Object(map) => map
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                v => v.to_string(),
            }
        }
    }
}

fn render_table(r: &Report) -> String {
    let mut out = format!(
        "{:>8} {:>5}  {:<6} {:>10} {:>6} {:>6}  {:<17} {}\n",
        "OFFSET", "LEN", "STATUS", "DEVICE", "BOOT", "SEQ", "KIND", "PAYLOAD / DETAIL"
    );
    for f in &r.frames {
        let line = match &f.outcome {
            Decoded::Packet(p) => format!(
                "{:>8} {:>5}  {:<6} {:>#10x} {:>6} {:>6}  {:<17} {}",
                f.offset,
                f.len,
                "ok",
                p.header.device,
                p.header.boot,
                p.header.seq,
                p.message.kind().name(),
                payload_brief(&p.message)
            ),
            Decoded::Rejected(rej) => format!(
                "{:>8} {:>5}  {:<6} {:>10} {:>6} {:>6}  {:<17} {}",
                f.offset,
                f.len,
                "REJECT",
                "-",
                "-",
                "-",
                rej.reason().as_str(),
                reject_detail(rej)
            ),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(&format!(
        "\n{} bytes, {} frames: {} accepted, {} rejected\n",
        r.total_bytes,
        r.frames.len(),
        r.counts.accepted,
        r.counts.total_rejected()
    ));
    for (reason, n) in r.counts.iter() {
        out.push_str(&format!("  rejected {:<13} {n}\n", reason.as_str()));
    }
    if r.trailing > 0 {
        out.push_str(&format!(
            "  {} trailing bytes after the last delimiter (unfinished frame, not decoded)\n",
            r.trailing
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_frames_are_skipped_and_offsets_point_at_frame_starts() {
        let mut bytes = vec![0u8, 0];
        bytes.extend_from_slice(&[0x03, 0xAA, 0xBB, 0x00]);
        bytes.extend_from_slice(&[0x05, 0x01]);
        let r = decode_capture(&bytes);
        assert_eq!(r.frames.len(), 1);
        assert_eq!((r.frames[0].offset, r.frames[0].len), (2, 4));
        assert_eq!(r.trailing, 2);
        assert_eq!(r.counts.get(RejectReason::Short), 1);
    }
}
