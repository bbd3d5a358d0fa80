//! Frames: `COBS(body ‖ CRC-32(body) little-endian)` followed by one `0x00`, and the
//! streaming decoder that cuts a byte stream into frames.

use crc::{Crc, CRC_32_ISO_HDLC};

use crate::codec::{decode_body, encode_body, BodyError, EncodeError, MAX_BODY_LEN};
use crate::message::{Kind, Packet};

/// The frame CRC: CRC-32/ISO-HDLC (the zlib / Ethernet CRC-32: poly 0x04C11DB7 reflected,
/// init 0xFFFFFFFF, xorout 0xFFFFFFFF; check value of `"123456789"` is 0xCBF43926).
pub const FRAME_CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Bytes of the CRC after the body.
pub const CRC_LEN: usize = 4;

/// Longest COBS-encoded frame (body plus CRC, stuffed), without the `0x00` delimiter. The
/// streaming decoder buffers at most this many bytes.
pub const MAX_ENCODED_LEN: usize = cobs::max_encoding_length(MAX_BODY_LEN + CRC_LEN);

/// Longest frame on the wire, delimiter included: the output buffer size that fits any packet.
pub const MAX_FRAME_LEN: usize = MAX_ENCODED_LEN + 1;

/// Why a frame was rejected. Every reject is counted under one of these reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RejectReason {
    /// More than [`MAX_ENCODED_LEN`] bytes before a `0x00` (a lost delimiter or noise); the
    /// bytes are dropped up to the next `0x00`.
    TooLong,
    /// The bytes between two `0x00` are not valid COBS.
    Cobs,
    /// Fewer than five bytes after COBS decoding (no room for a body and its CRC).
    Short,
    /// The CRC-32 does not match the body.
    Crc,
    /// The body is not a six-element MessagePack array with integer header fields in their
    /// ranges (a version or kind above 255 or negative is this, not [`Self::Version`] or
    /// [`Self::UnknownKind`]), or has bytes after it.
    MsgPack,
    /// The body's version is not [`crate::PROTOCOL_VERSION`].
    Version,
    /// The kind number is not in the catalogue.
    UnknownKind,
    /// The payload does not match its kind's layout or its values are out of range.
    Payload,
}

impl RejectReason {
    /// Every reason, in a fixed order (the order of [`RejectCounts`] and of reports).
    pub const ALL: [RejectReason; 8] = [
        RejectReason::TooLong,
        RejectReason::Cobs,
        RejectReason::Short,
        RejectReason::Crc,
        RejectReason::MsgPack,
        RejectReason::Version,
        RejectReason::UnknownKind,
        RejectReason::Payload,
    ];

    /// Stable lowercase name: `too_long`, `cobs`, `short`, `crc`, `msgpack`, `version`,
    /// `unknown_kind`, `payload` (the keys of the `LinkStats` event's `rejects` map).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::TooLong => "too_long",
            RejectReason::Cobs => "cobs",
            RejectReason::Short => "short",
            RejectReason::Crc => "crc",
            RejectReason::MsgPack => "msgpack",
            RejectReason::Version => "version",
            RejectReason::UnknownKind => "unknown_kind",
            RejectReason::Payload => "payload",
        }
    }

    fn index(self) -> usize {
        match self {
            RejectReason::TooLong => 0,
            RejectReason::Cobs => 1,
            RejectReason::Short => 2,
            RejectReason::Crc => 3,
            RejectReason::MsgPack => 4,
            RejectReason::Version => 5,
            RejectReason::UnknownKind => 6,
            RejectReason::Payload => 7,
        }
    }
}

impl core::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected frame: why, with the detail the reason has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reject {
    /// See [`RejectReason::TooLong`]; `len` is how many bytes were dropped.
    TooLong {
        /// Bytes dropped before the delimiter.
        len: usize,
    },
    /// See [`RejectReason::Cobs`].
    Cobs,
    /// See [`RejectReason::Short`]; `len` is the decoded length.
    Short {
        /// Bytes after COBS decoding.
        len: usize,
    },
    /// See [`RejectReason::Crc`].
    Crc {
        /// CRC carried by the frame.
        got: u32,
        /// CRC computed over the body.
        computed: u32,
    },
    /// See [`RejectReason::MsgPack`].
    MsgPack,
    /// See [`RejectReason::Version`].
    Version(u8),
    /// See [`RejectReason::UnknownKind`].
    UnknownKind(u8),
    /// See [`RejectReason::Payload`].
    Payload(Kind),
}

impl Reject {
    /// The counted reason.
    pub fn reason(&self) -> RejectReason {
        match self {
            Reject::TooLong { .. } => RejectReason::TooLong,
            Reject::Cobs => RejectReason::Cobs,
            Reject::Short { .. } => RejectReason::Short,
            Reject::Crc { .. } => RejectReason::Crc,
            Reject::MsgPack => RejectReason::MsgPack,
            Reject::Version(_) => RejectReason::Version,
            Reject::UnknownKind(_) => RejectReason::UnknownKind,
            Reject::Payload(_) => RejectReason::Payload,
        }
    }
}

impl From<BodyError> for Reject {
    fn from(e: BodyError) -> Reject {
        match e {
            BodyError::MsgPack => Reject::MsgPack,
            BodyError::Version(v) => Reject::Version(v),
            BodyError::UnknownKind(k) => Reject::UnknownKind(k),
            BodyError::Payload(k) => Reject::Payload(k),
        }
    }
}

impl core::fmt::Display for Reject {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Reject::TooLong { len } => write!(f, "too_long: {len} bytes without a delimiter"),
            Reject::Cobs => f.write_str("cobs: invalid byte stuffing"),
            Reject::Short { len } => write!(f, "short: {len} bytes after COBS decoding"),
            Reject::Crc { got, computed } => {
                write!(
                    f,
                    "crc: frame carries {got:#010x}, body gives {computed:#010x}"
                )
            }
            Reject::MsgPack => f.write_str(
                "msgpack: body is not [version, device, boot, seq, kind, payload] \
                 with header integers in range and nothing after it",
            ),
            Reject::Version(v) => write!(f, "version: {v}"),
            Reject::UnknownKind(k) => write!(f, "unknown_kind: {k}"),
            Reject::Payload(k) => write!(f, "payload: malformed {}", k.name()),
        }
    }
}

impl core::error::Error for Reject {}

/// Frames accepted and rejected (by reason) since the counter was created or reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RejectCounts {
    /// Frames decoded into packets.
    pub accepted: u64,
    rejected: [u64; 8],
}

impl RejectCounts {
    /// Counts one reject.
    pub fn count(&mut self, reason: RejectReason) {
        let slot = &mut self.rejected[reason.index()];
        *slot = slot.saturating_add(1);
    }

    /// Rejects counted for `reason`.
    pub fn get(&self, reason: RejectReason) -> u64 {
        self.rejected[reason.index()]
    }

    /// All rejects.
    pub fn total_rejected(&self) -> u64 {
        self.rejected.iter().fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// `(reason, count)` for every reason, in [`RejectReason::ALL`] order (zeros included).
    pub fn iter(&self) -> impl Iterator<Item = (RejectReason, u64)> + '_ {
        RejectReason::ALL.iter().map(|r| (*r, self.get(*r)))
    }
}

/// Encodes `packet` as a complete frame (COBS, CRC, trailing `0x00`) into `out` and returns
/// the frame's length. `out` of [`MAX_FRAME_LEN`] bytes always suffices.
///
/// Uses a [`MAX_BODY_LEN`]-byte scratch buffer on the stack.
pub fn encode_frame(packet: &Packet, out: &mut [u8]) -> Result<usize, EncodeError> {
    let mut body = [0u8; MAX_BODY_LEN];
    let n = encode_body(packet, &mut body)?;
    let body = body.get(..n).ok_or(EncodeError::BufferTooSmall)?;
    encode_raw_frame(body, out)
}

/// Wraps any `body` bytes in a frame (CRC, COBS, trailing `0x00`) without looking at them:
/// for tests, fuzzing and fault injection (e.g. a frame from a future version). Returns the
/// frame's length.
pub fn encode_raw_frame(body: &[u8], out: &mut [u8]) -> Result<usize, EncodeError> {
    let crc = FRAME_CRC.checksum(body).to_le_bytes();
    let mut enc = cobs::CobsEncoder::new(out);
    enc.push(body).map_err(|_| EncodeError::BufferTooSmall)?;
    enc.push(&crc).map_err(|_| EncodeError::BufferTooSmall)?;
    let len = enc.finalize();
    let delim = out.get_mut(len).ok_or(EncodeError::BufferTooSmall)?;
    *delim = 0;
    Ok(len + 1)
}

/// Encodes `packet` as a complete frame into a new vector (host convenience).
#[cfg(feature = "alloc")]
pub fn encode_frame_to_vec(packet: &Packet) -> Result<alloc::vec::Vec<u8>, EncodeError> {
    let mut out = alloc::vec![0u8; MAX_FRAME_LEN];
    let n = encode_frame(packet, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// Decodes one frame's bytes as they sit between two delimiters (COBS-encoded, no `0x00`),
/// using `scratch` (at least [`MAX_ENCODED_LEN`] bytes) for the unstuffed copy.
///
/// An empty input is not a frame: it gives [`Reject::Short`] here, while the streaming
/// decoder skips empty frames silently.
pub fn decode_frame(encoded: &[u8], scratch: &mut [u8]) -> Result<Packet, Reject> {
    if encoded.len() > MAX_ENCODED_LEN {
        return Err(Reject::TooLong { len: encoded.len() });
    }
    let buf = scratch
        .get_mut(..encoded.len())
        .ok_or(Reject::TooLong { len: encoded.len() })?;
    buf.copy_from_slice(encoded);
    decode_in_place(buf)
}

/// Decodes a frame held in `buf` (COBS-encoded, no delimiter), unstuffing it in place.
fn decode_in_place(buf: &mut [u8]) -> Result<Packet, Reject> {
    if buf.contains(&0) {
        return Err(Reject::Cobs);
    }
    let report = cobs::decode_in_place_report(buf).map_err(|_| Reject::Cobs)?;
    if report.parsed_size() != buf.len() {
        return Err(Reject::Cobs);
    }
    let decoded = buf.get(..report.frame_size()).ok_or(Reject::Cobs)?;
    if decoded.len() < CRC_LEN + 1 {
        return Err(Reject::Short { len: decoded.len() });
    }
    if decoded.len() > MAX_BODY_LEN + CRC_LEN {
        return Err(Reject::TooLong { len: decoded.len() });
    }
    let (body, crc) = decoded.split_at(decoded.len() - CRC_LEN);
    let got = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
    let computed = FRAME_CRC.checksum(body);
    if got != computed {
        return Err(Reject::Crc { got, computed });
    }
    Ok(decode_body(body)?)
}

/// What one byte (or piece of bytes) fed to the [`FrameDecoder`] produced.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // no heap on the boards to box the packet
pub enum Decoded {
    /// A frame decoded into a packet.
    Packet(Packet),
    /// A frame was rejected (already counted).
    Rejected(Reject),
}

/// The streaming frame decoder: feed it bytes in pieces of any size; it yields a packet or a
/// reject at every `0x00`, never panics, holds at most `N` bytes (default
/// [`MAX_ENCODED_LEN`]), and after any garbage is back in sync at the next `0x00`.
///
/// Every frame is counted in [`FrameDecoder::counts`]. Empty frames (two `0x00` in a row,
/// which senders may use to flush the line) are skipped without being counted.
#[derive(Clone, Debug)]
pub struct FrameDecoder<const N: usize = MAX_ENCODED_LEN> {
    buf: [u8; N],
    len: usize,
    /// Bytes seen since the last delimiter (also past `N`, for the too-long report).
    seen: usize,
    counts: RejectCounts,
}

impl<const N: usize> Default for FrameDecoder<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FrameDecoder<N> {
    /// An empty decoder.
    pub const fn new() -> Self {
        FrameDecoder {
            buf: [0; N],
            len: 0,
            seen: 0,
            counts: RejectCounts {
                accepted: 0,
                rejected: [0; 8],
            },
        }
    }

    /// Frames accepted and rejected so far.
    pub fn counts(&self) -> &RejectCounts {
        &self.counts
    }

    /// Zeroes the counters (the buffered partial frame is kept).
    pub fn reset_counts(&mut self) {
        self.counts = RejectCounts::default();
    }

    /// Drops a partial frame (e.g. after the port was reopened); counters are kept.
    pub fn clear(&mut self) {
        self.len = 0;
        self.seen = 0;
    }

    /// Bytes of the partial frame buffered now.
    pub fn pending(&self) -> usize {
        self.seen
    }

    /// Feeds one byte; returns what completed at a delimiter.
    pub fn push_byte(&mut self, byte: u8) -> Option<Decoded> {
        if byte != 0 {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = byte;
                self.len += 1;
            }
            self.seen = self.seen.saturating_add(1);
            return None;
        }
        let seen = self.seen;
        let len = self.len;
        self.clear();
        if seen == 0 {
            return None;
        }
        let result = if seen > len || seen > MAX_ENCODED_LEN {
            Err(Reject::TooLong { len: seen })
        } else {
            match self.buf.get_mut(..len) {
                Some(frame) => decode_in_place(frame),
                None => Err(Reject::TooLong { len: seen }),
            }
        };
        Some(match result {
            Ok(p) => {
                self.counts.accepted = self.counts.accepted.saturating_add(1);
                Decoded::Packet(p)
            }
            Err(r) => {
                self.counts.count(r.reason());
                Decoded::Rejected(r)
            }
        })
    }

    /// Feeds bytes up to and including the first delimiter that completes a frame; returns
    /// what it produced (if anything) and the unread rest of `data`. Call again with the
    /// rest until it is empty.
    pub fn feed<'a>(&mut self, data: &'a [u8]) -> (Option<Decoded>, &'a [u8]) {
        for (i, b) in data.iter().enumerate() {
            if let Some(d) = self.push_byte(*b) {
                return (Some(d), data.get(i + 1..).unwrap_or(&[]));
            }
        }
        (None, &[])
    }

    /// Feeds all of `data`, calling `each` for every packet or reject it completes.
    pub fn feed_all(&mut self, data: &[u8], mut each: impl FnMut(Decoded)) {
        let mut rest = data;
        while !rest.is_empty() {
            let (d, r) = self.feed(rest);
            if let Some(d) = d {
                each(d);
            }
            rest = r;
        }
    }
}
