//! The body codec: a [`Packet`] to and from the MessagePack array
//! `[version, device, boot, seq, kind, payload]`.
//!
//! Integers are written in the most compact MessagePack form (what `rmp::encode::write_uint` /
//! `write_sint` choose), so the encoding of a packet is unique and the test vectors are
//! byte-exact. The decoder accepts any integer width whose value fits the field.

use num_traits::FromPrimitive;
use rmp::decode::{self as rd, Bytes};
use rmp::encode::{self as re, RmpWrite};
use rmp::Marker;

use crate::message::*;

/// Largest body (the MessagePack array, without CRC) any message produces, with slack; a
/// longer frame is rejected as [`crate::RejectReason::TooLong`]. The largest message is a
/// [`ThermalFrame`] (1563 bytes with the largest header).
pub const MAX_BODY_LEN: usize = 1600;

/// Bytes of a [`ThermalFrame`]'s readings on the wire (768 little-endian `i16`).
pub const THERMAL_BYTES: usize = THERMAL_PIXELS * 2;

/// Why a packet could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The output buffer is too small; give at least [`crate::MAX_FRAME_LEN`] bytes for a
    /// frame or [`MAX_BODY_LEN`] for a body.
    BufferTooSmall,
    /// The message breaks its own rules (windows unsorted or overlapping, a confidence or
    /// threshold above 1000, zero hysteresis frames); the decoder would reject it, so it is
    /// not sent. Fix the values.
    Invalid(Kind),
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::BufferTooSmall => f.write_str("output buffer too small for the frame"),
            EncodeError::Invalid(k) => {
                write!(f, "invalid {} message: values out of range", k.name())
            }
        }
    }
}

impl core::error::Error for EncodeError {}

/// Why a body (a CRC-checked frame's content) was not a valid packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// Not a MessagePack array of six elements with integer header fields in range, or
    /// bytes left after it.
    MsgPack,
    /// The version is not [`PROTOCOL_VERSION`].
    Version(u8),
    /// The kind number is not in the catalogue.
    UnknownKind(u8),
    /// The payload does not match the kind's layout or its values are out of range.
    Payload(Kind),
}

impl core::fmt::Display for BodyError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            BodyError::MsgPack => f.write_str(
                "body is not [version, device, boot, seq, kind, payload] with header \
                 integers in range and nothing after it",
            ),
            BodyError::Version(v) => write!(
                f,
                "protocol version {v} (this side speaks {PROTOCOL_VERSION})"
            ),
            BodyError::UnknownKind(k) => write!(f, "unknown kind {k}"),
            BodyError::Payload(k) => write!(f, "malformed {} payload", k.name()),
        }
    }
}

impl core::error::Error for BodyError {}

// ---------------------------------------------------------------------------------------------
// Encoding

type W<'a> = &'a mut [u8];

fn full<T>(_: T) -> EncodeError {
    EncodeError::BufferTooSmall
}

fn arr(w: &mut W<'_>, n: u32) -> Result<(), EncodeError> {
    re::write_array_len(w, n).map(drop).map_err(full)
}
fn uint(w: &mut W<'_>, v: u64) -> Result<(), EncodeError> {
    re::write_uint(w, v).map(drop).map_err(full)
}
fn sint(w: &mut W<'_>, v: i64) -> Result<(), EncodeError> {
    re::write_sint(w, v).map(drop).map_err(full)
}
fn boolean(w: &mut W<'_>, v: bool) -> Result<(), EncodeError> {
    re::write_bool(w, v).map_err(full)
}
fn nil(w: &mut W<'_>) -> Result<(), EncodeError> {
    re::write_nil(w).map_err(full)
}
fn bin(w: &mut W<'_>, data: &[u8]) -> Result<(), EncodeError> {
    re::write_bin(w, data).map_err(full)
}
fn time(w: &mut W<'_>, t: BoardTime) -> Result<(), EncodeError> {
    sint(w, t.utc_us)?;
    boolean(w, t.synced)
}

/// Checks the rules the decoder enforces on values, so nothing is sent that the other side
/// would reject.
fn validate(m: &Message) -> Result<(), EncodeError> {
    let ok = match m {
        Message::Windows(ws) => ws.is_well_formed(),
        Message::Detection(d) => d.confidence_permille <= PERMILLE_MAX,
        Message::PicoConfig(c) | Message::PicoConfigAck(c) => {
            c.threshold_permille <= PERMILLE_MAX && c.hysteresis_frames >= 1
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(EncodeError::Invalid(m.kind()))
    }
}

fn payload(w: &mut W<'_>, m: &Message) -> Result<(), EncodeError> {
    match m {
        Message::Hello(h) => {
            arr(w, 6)?;
            uint(w, h.role.as_u8().into())?;
            uint(w, h.protocol.into())?;
            arr(w, 3)?;
            uint(w, h.firmware.major.into())?;
            uint(w, h.firmware.minor.into())?;
            uint(w, h.firmware.patch.into())?;
            time(w, h.time)?;
            uint(w, h.uptime_ms)
        }
        Message::Heartbeat(h) => {
            arr(w, 1)?;
            sint(w, h.pi_utc_us)
        }
        Message::TimeRequest(t) => {
            arr(w, 1)?;
            sint(w, t.t1_us)
        }
        Message::TimeReply(t) => {
            arr(w, 5)?;
            sint(w, t.t1_us)?;
            sint(w, t.t2_us)?;
            sint(w, t.t3_us)?;
            boolean(w, t.synced)?;
            match t.sntp_offset_us {
                Some(o) => sint(w, o),
                None => nil(w),
            }
        }
        Message::EventAck(a) => {
            arr(w, 2)?;
            uint(w, a.boot.into())?;
            uint(w, a.seq.into())
        }
        Message::Windows(ws) => {
            arr(w, 2)?;
            bin(w, &ws.digest)?;
            // MAX_WINDOWS fits u32.
            arr(w, ws.windows.len() as u32)?;
            for win in &ws.windows {
                arr(w, 2)?;
                sint(w, win.start_us)?;
                sint(w, win.end_us)?;
            }
            Ok(())
        }
        Message::WindowsAck(a) => {
            arr(w, 2)?;
            bin(w, &a.digest)?;
            uint(w, a.count.into())
        }
        Message::HaltNotice(h) => {
            arr(w, 3)?;
            sint(w, h.window_start_us)?;
            sint(w, h.window_end_us)?;
            sint(w, h.deadline_us)
        }
        Message::HaltConfirm(h) => {
            arr(w, 1)?;
            sint(w, h.window_end_us)
        }
        Message::PowerStatus(s) => {
            arr(w, 6)?;
            boolean(w, s.relay_on)?;
            boolean(w, s.override_active)?;
            uint(w, s.windows_count.into())?;
            bin(w, &s.windows_digest)?;
            uint(w, s.pending_events.into())?;
            uint(w, s.rx_rejects.into())
        }
        Message::PowerSwitched(p) => {
            arr(w, 4)?;
            time(w, p.at)?;
            boolean(w, p.on)?;
            uint(w, p.reason.as_u8().into())
        }
        Message::WatchdogTripped(t) => {
            arr(w, 3)?;
            time(w, t.at)?;
            uint(w, t.silent_ms)
        }
        Message::OverrideChanged(o) => {
            arr(w, 3)?;
            time(w, o.at)?;
            boolean(w, o.active)
        }
        Message::SntpSynced(s) => {
            arr(w, 5)?;
            time(w, s.at)?;
            sint(w, s.offset_us)?;
            sint(w, s.delay_us)?;
            uint(w, s.stratum.into())
        }
        Message::EventsDropped(d) => {
            arr(w, 3)?;
            time(w, d.at)?;
            uint(w, d.count.into())
        }
        Message::ThermalFrame(t) => {
            arr(w, 2)?;
            uint(w, t.frame.into())?;
            re::write_bin_len(w, THERMAL_BYTES as u32).map_err(full)?;
            for v in &t.centi_c {
                w.write_bytes(&v.to_le_bytes()).map_err(full)?;
            }
            Ok(())
        }
        Message::Detection(d) => {
            arr(w, 5)?;
            uint(w, d.frame.into())?;
            uint(w, d.class.as_u8().into())?;
            uint(w, d.confidence_permille.into())?;
            boolean(w, d.person_present)?;
            uint(w, d.latency_us.into())
        }
        Message::PicoConfig(c) | Message::PicoConfigAck(c) => {
            arr(w, 3)?;
            uint(w, c.threshold_permille.into())?;
            uint(w, c.hysteresis_frames.into())?;
            uint(w, c.frame_mode.as_u8().into())
        }
    }
}

/// Writes the body `[version, device, boot, seq, kind, payload]` of `packet` into `out` and
/// returns its length. The version written is [`PROTOCOL_VERSION`].
pub fn encode_body(packet: &Packet, out: &mut [u8]) -> Result<usize, EncodeError> {
    validate(&packet.message)?;
    let total = out.len();
    let mut w: W<'_> = out;
    arr(&mut w, 6)?;
    uint(&mut w, PROTOCOL_VERSION.into())?;
    uint(&mut w, packet.header.device.into())?;
    uint(&mut w, packet.header.boot.into())?;
    uint(&mut w, packet.header.seq.into())?;
    uint(&mut w, packet.message.kind().as_u8().into())?;
    payload(&mut w, &packet.message)?;
    Ok(total - w.len())
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// A payload reader: every failure is "this payload does not match its layout".
struct P<'a, 'b> {
    rd: &'b mut Bytes<'a>,
}

/// Marker for "payload does not match", turned into [`BodyError::Payload`] by the caller.
struct Bad;

impl<'a> P<'a, '_> {
    fn arr(&mut self, n: u32) -> Result<(), Bad> {
        match rd::read_array_len(self.rd) {
            Ok(len) if len == n => Ok(()),
            _ => Err(Bad),
        }
    }
    fn arr_len(&mut self) -> Result<u32, Bad> {
        rd::read_array_len(self.rd).map_err(|_| Bad)
    }
    fn int<T: FromPrimitive>(&mut self) -> Result<T, Bad> {
        rd::read_int::<T, _>(self.rd).map_err(|_| Bad)
    }
    fn boolean(&mut self) -> Result<bool, Bad> {
        rd::read_bool(self.rd).map_err(|_| Bad)
    }
    fn opt_i64(&mut self) -> Result<Option<i64>, Bad> {
        if self.rd.remaining_slice().first() == Some(&Marker::Null.to_u8()) {
            rd::read_nil(self.rd).map_err(|_| Bad)?;
            Ok(None)
        } else {
            self.int::<i64>().map(Some)
        }
    }
    /// A bin of exactly `n` bytes, returned as a slice of the body.
    fn bin_exact(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        let len = rd::read_bin_len(self.rd).map_err(|_| Bad)?;
        if len as usize != n {
            return Err(Bad);
        }
        let rest = self.rd.remaining_slice();
        let data = rest.get(..n).ok_or(Bad)?;
        // Bytes has no skip: continue on the slice after the data.
        *self.rd = Bytes::new(rest.get(n..).ok_or(Bad)?);
        Ok(data)
    }
    fn digest(&mut self) -> Result<Digest, Bad> {
        let d = self.bin_exact(32)?;
        let mut out = [0u8; 32];
        out.copy_from_slice(d);
        Ok(out)
    }
    fn time(&mut self) -> Result<BoardTime, Bad> {
        Ok(BoardTime {
            utc_us: self.int()?,
            synced: self.boolean()?,
        })
    }
}

fn decode_payload(kind: Kind, p: &mut P<'_, '_>) -> Result<Message, Bad> {
    let m = match kind {
        Kind::Hello => {
            p.arr(6)?;
            let role = BoardRole::from_u8(p.int()?).ok_or(Bad)?;
            let protocol = p.int()?;
            p.arr(3)?;
            let firmware = FirmwareVersion {
                major: p.int()?,
                minor: p.int()?,
                patch: p.int()?,
            };
            Message::Hello(Hello {
                role,
                protocol,
                firmware,
                time: p.time()?,
                uptime_ms: p.int()?,
            })
        }
        Kind::Heartbeat => {
            p.arr(1)?;
            Message::Heartbeat(Heartbeat {
                pi_utc_us: p.int()?,
            })
        }
        Kind::TimeRequest => {
            p.arr(1)?;
            Message::TimeRequest(TimeRequest { t1_us: p.int()? })
        }
        Kind::TimeReply => {
            p.arr(5)?;
            Message::TimeReply(TimeReply {
                t1_us: p.int()?,
                t2_us: p.int()?,
                t3_us: p.int()?,
                synced: p.boolean()?,
                sntp_offset_us: p.opt_i64()?,
            })
        }
        Kind::EventAck => {
            p.arr(2)?;
            Message::EventAck(EventAck {
                boot: p.int()?,
                seq: p.int()?,
            })
        }
        Kind::Windows => {
            p.arr(2)?;
            let digest = p.digest()?;
            let n = p.arr_len()?;
            if n as usize > MAX_WINDOWS {
                return Err(Bad);
            }
            let mut windows = heapless::Vec::new();
            for _ in 0..n {
                p.arr(2)?;
                let w = Window {
                    start_us: p.int()?,
                    end_us: p.int()?,
                };
                windows.push(w).map_err(|_| Bad)?;
            }
            let ws = Windows { digest, windows };
            if !ws.is_well_formed() {
                return Err(Bad);
            }
            Message::Windows(ws)
        }
        Kind::WindowsAck => {
            p.arr(2)?;
            Message::WindowsAck(WindowsAck {
                digest: p.digest()?,
                count: p.int()?,
            })
        }
        Kind::HaltNotice => {
            p.arr(3)?;
            Message::HaltNotice(HaltNotice {
                window_start_us: p.int()?,
                window_end_us: p.int()?,
                deadline_us: p.int()?,
            })
        }
        Kind::HaltConfirm => {
            p.arr(1)?;
            Message::HaltConfirm(HaltConfirm {
                window_end_us: p.int()?,
            })
        }
        Kind::PowerStatus => {
            p.arr(6)?;
            Message::PowerStatus(PowerStatus {
                relay_on: p.boolean()?,
                override_active: p.boolean()?,
                windows_count: p.int()?,
                windows_digest: p.digest()?,
                pending_events: p.int()?,
                rx_rejects: p.int()?,
            })
        }
        Kind::PowerSwitched => {
            p.arr(4)?;
            Message::PowerSwitched(PowerSwitched {
                at: p.time()?,
                on: p.boolean()?,
                reason: PowerReason::from_u8(p.int()?),
            })
        }
        Kind::WatchdogTripped => {
            p.arr(3)?;
            Message::WatchdogTripped(WatchdogTripped {
                at: p.time()?,
                silent_ms: p.int()?,
            })
        }
        Kind::OverrideChanged => {
            p.arr(3)?;
            Message::OverrideChanged(OverrideChanged {
                at: p.time()?,
                active: p.boolean()?,
            })
        }
        Kind::SntpSynced => {
            p.arr(5)?;
            Message::SntpSynced(SntpSynced {
                at: p.time()?,
                offset_us: p.int()?,
                delay_us: p.int()?,
                stratum: p.int()?,
            })
        }
        Kind::EventsDropped => {
            p.arr(3)?;
            Message::EventsDropped(EventsDropped {
                at: p.time()?,
                count: p.int()?,
            })
        }
        Kind::ThermalFrame => {
            p.arr(2)?;
            let frame = p.int()?;
            let data = p.bin_exact(THERMAL_BYTES)?;
            let mut centi_c = [0i16; THERMAL_PIXELS];
            for (v, b) in centi_c.iter_mut().zip(data.chunks_exact(2)) {
                *v = i16::from_le_bytes([b[0], b[1]]);
            }
            Message::ThermalFrame(ThermalFrame { frame, centi_c })
        }
        Kind::Detection => {
            p.arr(5)?;
            let d = Detection {
                frame: p.int()?,
                class: ThermalClass::from_u8(p.int()?).ok_or(Bad)?,
                confidence_permille: p.int()?,
                person_present: p.boolean()?,
                latency_us: p.int()?,
            };
            if d.confidence_permille > PERMILLE_MAX {
                return Err(Bad);
            }
            Message::Detection(d)
        }
        Kind::PicoConfig | Kind::PicoConfigAck => {
            p.arr(3)?;
            let c = PicoConfig {
                threshold_permille: p.int()?,
                hysteresis_frames: p.int()?,
                frame_mode: FrameMode::from_u8(p.int()?).ok_or(Bad)?,
            };
            if c.threshold_permille > PERMILLE_MAX || c.hysteresis_frames == 0 {
                return Err(Bad);
            }
            if kind == Kind::PicoConfig {
                Message::PicoConfig(c)
            } else {
                Message::PicoConfigAck(c)
            }
        }
    };
    Ok(m)
}

/// Decodes a body (the frame content after COBS decoding, without the CRC).
///
/// Checks in this order: six-element array header and version ([`BodyError::MsgPack`],
/// [`BodyError::Version`] — a body whose first element is another version is reported as
/// such whatever its length), header fields, kind ([`BodyError::UnknownKind`]), payload
/// ([`BodyError::Payload`]), nothing after the array ([`BodyError::MsgPack`]).
pub fn decode_body(body: &[u8]) -> Result<Packet, BodyError> {
    let mut rd = Bytes::new(body);
    let len = rd::read_array_len(&mut rd).map_err(|_| BodyError::MsgPack)?;
    if len == 0 {
        return Err(BodyError::MsgPack);
    }
    let version: u8 = rd::read_int(&mut rd).map_err(|_| BodyError::MsgPack)?;
    if version != PROTOCOL_VERSION {
        return Err(BodyError::Version(version));
    }
    if len != 6 {
        return Err(BodyError::MsgPack);
    }
    let header = Header {
        device: rd::read_int(&mut rd).map_err(|_| BodyError::MsgPack)?,
        boot: rd::read_int(&mut rd).map_err(|_| BodyError::MsgPack)?,
        seq: rd::read_int(&mut rd).map_err(|_| BodyError::MsgPack)?,
    };
    let kind_n: u8 = rd::read_int(&mut rd).map_err(|_| BodyError::MsgPack)?;
    let kind = Kind::from_u8(kind_n).ok_or(BodyError::UnknownKind(kind_n))?;
    let message =
        decode_payload(kind, &mut P { rd: &mut rd }).map_err(|Bad| BodyError::Payload(kind))?;
    if !rd.remaining_slice().is_empty() {
        return Err(BodyError::MsgPack);
    }
    Ok(Packet { header, message })
}
