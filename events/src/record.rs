//! The stored record: the exact bytes the hash chain covers.
//!
//! A record is a MessagePack array of eight elements:
//!
//! | # | field   | MessagePack type | meaning |
//! |---|---------|------------------|---------|
//! | 0 | seq     | uint             | dense sequence number, from 1 |
//! | 1 | ts      | int              | UTC microseconds since the Unix epoch |
//! | 2 | source  | str              | `clock`, `power`, `camera`, `gpio`, `classifier`, `esp32`, `pico`, `ops`, `journal` |
//! | 3 | kind    | str              | kind name, e.g. `WindowOpened` |
//! | 4 | class   | str              | `general`, `important`, `core` |
//! | 5 | schema  | uint             | schema version of the payload |
//! | 6 | origin  | nil or array(4)  | board events: `[device, boot, seq, device_ts]` |
//! | 7 | payload | bin or ext 1     | the payload, itself a MessagePack map with field names; ext type 1 when sealed (below) |
//! | 8 | after   | uint (optional)  | decisions taken at a deadline: the last seq the deciding core had seen |
//!
//! Element 8 is present only on decisions an actor core took at a deadline (a tick): it tells
//! replay exactly which events the core had seen when the deadline fired, so a deadline and
//! an event that arrived around the same time are replayed in the order they really happened.
//! Records without it have eight elements.
//! The payload is nested as `bin` so that a reader can filter on the header without decoding
//! it, and so that old payload versions can be upcast one kind at a time.
//!
//! A **sealed** payload (encryption at rest of `core` class events) is element 7 as a
//! MessagePack `ext` of type [`SEALED_EXT`] instead of `bin`: `key_id` (8 bytes, names the
//! encryption key) ‖ nonce (24 bytes) ‖ the AEAD ciphertext of the payload bytes with its
//! 16-byte tag, authenticated with [`seal_aad`] (seq, kind code, schema). The header stays clear,
//! so indexes, queries and the chain work without the key. This crate only knows the layout;
//! `vigil-store` seals and opens.

use crate::{legacy, DataClass, Event, EventKind, Source};

/// UTC microseconds since the Unix epoch.
pub type UtcMicros = i64;

/// A 32-byte BLAKE3 chain hash.
pub type Hash = [u8; 32];

/// Where a board event came from, in the board's own terms, so that events buffered on a board
/// and delivered late are deduplicated by `(device, boot, seq)` and ordered honestly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct BoardOrigin {
    /// Board device id.
    pub device: u32,
    /// Boot counter of the board (changes at every power-up).
    pub boot: u32,
    /// Board's own event sequence within the boot.
    pub seq: u32,
    /// Board's clock when the event happened, UTC µs.
    pub device_ts: UtcMicros,
}

/// An event before the journal gives it a seq and a class.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// When it happened (station time), UTC µs.
    pub ts: UtcMicros,
    /// Who produced it.
    pub source: Source,
    /// Board origin, for board events.
    pub origin: Option<BoardOrigin>,
    /// The payload.
    pub event: Event,
    /// For a decision taken at a deadline: the last seq its core had seen.
    pub after: Option<u64>,
}

impl NewEvent {
    /// An event from `source` at `ts`.
    pub fn new(ts: UtcMicros, source: Source, event: impl Into<Event>) -> Self {
        NewEvent {
            ts,
            source,
            origin: None,
            event: event.into(),
            after: None,
        }
    }

    /// The same event, marked as a decision taken at a deadline after the core had seen
    /// events up to `seq`.
    pub fn after(mut self, seq: u64) -> Self {
        self.after = Some(seq);
        self
    }

    /// The same event, marked as coming from a board.
    pub fn with_origin(mut self, origin: BoardOrigin) -> Self {
        self.origin = Some(origin);
        self
    }

    /// The kind of the payload.
    pub fn kind(&self) -> EventKind {
        self.event.kind()
    }

    /// Encode as a stored record with `seq` and `class`, using the kind's current schema.
    pub fn encode(&self, seq: u64, class: DataClass) -> Vec<u8> {
        let kind = self.event.kind();
        encode_raw(
            seq,
            self.ts,
            self.source,
            kind,
            class,
            kind.current_schema(),
            self.origin.as_ref(),
            &self.event.encode_payload(),
            self.after,
        )
    }
}

/// MessagePack ext type of a sealed payload (record element 7).
pub const SEALED_EXT: i8 = 1;

/// Bytes of the key id at the start of a sealed payload.
pub const SEALED_KEY_ID: usize = 8;

/// The associated data a sealed payload is authenticated with: seq (u64 BE) ‖ kind code
/// (u16 BE) ‖ schema (u16 BE). A sealed payload therefore opens only in the record it was
/// written for.
pub fn seal_aad(seq: u64, kind: EventKind, schema: u16) -> [u8; 12] {
    let mut a = [0u8; 12];
    a[..8].copy_from_slice(&seq.to_be_bytes());
    a[8..10].copy_from_slice(&kind.code().to_be_bytes());
    a[10..].copy_from_slice(&schema.to_be_bytes());
    a
}

/// A payload stored sealed, as read without its encryption key: what kind it is and which key
/// sealed it. Shown as `<encrypted>` (its JSON rendering is that string).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedPayload {
    /// The kind of the sealed payload.
    pub kind: EventKind,
    /// The whole ext body: key id ‖ nonce ‖ ciphertext with tag.
    pub sealed: Vec<u8>,
}

impl SealedPayload {
    /// The id of the encryption key that sealed it (first 8 bytes), if the body is long enough.
    pub fn key_id(&self) -> Option<[u8; SEALED_KEY_ID]> {
        self.sealed.get(..SEALED_KEY_ID)?.try_into().ok()
    }
}

impl serde::Serialize for SealedPayload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<encrypted>")
    }
}

impl NewEvent {
    /// Encode like [`NewEvent::encode`], but with the payload sealed: `seal(aad, clear)` returns
    /// the ext body (key id ‖ nonce ‖ ciphertext) stored as element 7.
    pub fn encode_sealed<E>(
        &self,
        seq: u64,
        class: DataClass,
        seal: impl FnOnce(&[u8], &[u8]) -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, E> {
        let kind = self.event.kind();
        let schema = kind.current_schema();
        let body = seal(&seal_aad(seq, kind, schema), &self.event.encode_payload())?;
        Ok(encode_parts(
            seq,
            self.ts,
            self.source,
            kind,
            class,
            schema,
            self.origin.as_ref(),
            PayloadBytes::Sealed(&body),
            self.after,
        ))
    }
}

enum PayloadBytes<'a> {
    Clear(&'a [u8]),
    Sealed(&'a [u8]),
}

/// Encode a record from its parts (also used for fixtures of old schema versions).
#[allow(clippy::too_many_arguments)]
pub fn encode_raw(
    seq: u64,
    ts: UtcMicros,
    source: Source,
    kind: EventKind,
    class: DataClass,
    schema: u16,
    origin: Option<&BoardOrigin>,
    payload: &[u8],
    after: Option<u64>,
) -> Vec<u8> {
    encode_parts(
        seq,
        ts,
        source,
        kind,
        class,
        schema,
        origin,
        PayloadBytes::Clear(payload),
        after,
    )
}

#[allow(clippy::too_many_arguments)]
fn encode_parts(
    seq: u64,
    ts: UtcMicros,
    source: Source,
    kind: EventKind,
    class: DataClass,
    schema: u16,
    origin: Option<&BoardOrigin>,
    payload: PayloadBytes<'_>,
    after: Option<u64>,
) -> Vec<u8> {
    use rmp::encode as e;
    let len = match payload {
        PayloadBytes::Clear(p) | PayloadBytes::Sealed(p) => p.len(),
    };
    let mut out = Vec::with_capacity(len + 56);
    // Writing into a Vec cannot fail.
    let w = &mut out;
    let _ = e::write_array_len(w, if after.is_some() { 9 } else { 8 });
    let _ = e::write_uint(w, seq);
    let _ = e::write_sint(w, ts);
    let _ = e::write_str(w, source.as_str());
    let _ = e::write_str(w, kind.name());
    let _ = e::write_str(w, class.as_str());
    let _ = e::write_uint(w, u64::from(schema));
    match origin {
        None => {
            let _ = e::write_nil(w);
        }
        Some(o) => {
            let _ = e::write_array_len(w, 4);
            let _ = e::write_uint(w, u64::from(o.device));
            let _ = e::write_uint(w, u64::from(o.boot));
            let _ = e::write_uint(w, u64::from(o.seq));
            let _ = e::write_sint(w, o.device_ts);
        }
    }
    match payload {
        PayloadBytes::Clear(p) => {
            let _ = e::write_bin(w, p);
        }
        PayloadBytes::Sealed(p) => {
            // A sealed body is never above a record's size limit, far below u32::MAX.
            let _ = e::write_ext_meta(w, u32::try_from(p.len()).unwrap_or(u32::MAX), SEALED_EXT);
            w.extend_from_slice(p);
        }
    }
    if let Some(a) = after {
        let _ = e::write_uint(w, a);
    }
    out
}

/// Why stored bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The record structure is broken (truncated, wrong type, wrong length).
    #[error("malformed record: {0}")]
    Malformed(String),
    /// A kind name this version of vigil does not know (written by a newer vigil?).
    #[error("unknown event kind `{0}`")]
    UnknownKind(String),
    /// A source name this version of vigil does not know.
    #[error("unknown source `{0}`")]
    UnknownSource(String),
    /// A class name this version of vigil does not know.
    #[error("unknown data class `{0}`")]
    UnknownClass(String),
    /// A schema version of a kind that this vigil cannot read (newer than current).
    #[error("{kind} schema version {schema} is not readable by this vigil (current is {current})")]
    UnknownSchema {
        /// Kind name.
        kind: &'static str,
        /// Stored version.
        schema: u16,
        /// Current version of this vigil.
        current: u16,
    },
    /// The payload did not decode as its kind and version.
    #[error("{kind} v{schema} payload does not decode: {detail}")]
    Payload {
        /// Kind name.
        kind: &'static str,
        /// Stored version.
        schema: u16,
        /// Decoder message.
        detail: String,
    },
}

fn malformed(what: &str, err: impl std::fmt::Display) -> DecodeError {
    DecodeError::Malformed(format!("{what}: {err}"))
}

/// The header of a stored record, decoded without touching the payload.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordHeader<'a> {
    /// Sequence number.
    pub seq: u64,
    /// Timestamp, UTC µs.
    pub ts: UtcMicros,
    /// Source.
    pub source: Source,
    /// Kind.
    pub kind: EventKind,
    /// Data class.
    pub class: DataClass,
    /// Schema version the payload was written with.
    pub schema: u16,
    /// Board origin.
    pub origin: Option<BoardOrigin>,
    /// Raw payload bytes (for a sealed payload: its ext body, key id ‖ nonce ‖ ciphertext).
    pub payload: &'a [u8],
    /// The payload is sealed (encrypted at rest); open it with the store's keyring.
    pub sealed: bool,
    /// For a decision taken at a deadline: the last seq its core had seen.
    pub after: Option<u64>,
}

fn read_str<'a>(rd: &mut &'a [u8], what: &str) -> Result<&'a str, DecodeError> {
    let len = rmp::decode::read_str_len(rd).map_err(|e| malformed(what, e))? as usize;
    if rd.len() < len {
        return Err(malformed(what, "truncated"));
    }
    let (s, rest) = rd.split_at(len);
    *rd = rest;
    std::str::from_utf8(s).map_err(|e| malformed(what, e))
}

fn read_u64(rd: &mut &[u8], what: &str) -> Result<u64, DecodeError> {
    rmp::decode::read_int(rd).map_err(|e| malformed(what, e))
}

fn read_i64(rd: &mut &[u8], what: &str) -> Result<i64, DecodeError> {
    rmp::decode::read_int(rd).map_err(|e| malformed(what, e))
}

fn read_u32(rd: &mut &[u8], what: &str) -> Result<u32, DecodeError> {
    rmp::decode::read_int(rd).map_err(|e| malformed(what, e))
}

impl<'a> RecordHeader<'a> {
    /// Decode the header of `bytes`; the payload stays raw.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut rd = bytes;
        let n = rmp::decode::read_array_len(&mut rd).map_err(|e| malformed("record", e))?;
        if n != 8 && n != 9 {
            return Err(malformed(
                "record",
                format!("array of {n}, expected 8 or 9"),
            ));
        }
        let seq = read_u64(&mut rd, "seq")?;
        let ts = read_i64(&mut rd, "ts")?;
        let source_name = read_str(&mut rd, "source")?;
        let source = source_name
            .parse()
            .map_err(|_| DecodeError::UnknownSource(source_name.to_string()))?;
        let kind_name = read_str(&mut rd, "kind")?;
        let kind = EventKind::from_name(kind_name)
            .ok_or_else(|| DecodeError::UnknownKind(kind_name.to_string()))?;
        let class_name = read_str(&mut rd, "class")?;
        let class = class_name
            .parse()
            .map_err(|_| DecodeError::UnknownClass(class_name.to_string()))?;
        let schema: u16 = rmp::decode::read_int(&mut rd).map_err(|e| malformed("schema", e))?;
        let origin = if rd.first() == Some(&0xc0) {
            rd = &rd[1..];
            None
        } else {
            let n = rmp::decode::read_array_len(&mut rd).map_err(|e| malformed("origin", e))?;
            if n != 4 {
                return Err(malformed("origin", format!("array of {n}, expected 4")));
            }
            Some(BoardOrigin {
                device: read_u32(&mut rd, "origin.device")?,
                boot: read_u32(&mut rd, "origin.boot")?,
                seq: read_u32(&mut rd, "origin.seq")?,
                device_ts: read_i64(&mut rd, "origin.device_ts")?,
            })
        };
        let (len, sealed) = read_payload_len(&mut rd)?;
        if rd.len() < len {
            return Err(malformed(
                "payload",
                format!("{} bytes present, header says {len}", rd.len()),
            ));
        }
        let (payload, mut rest) = rd.split_at(len);
        let after = if n == 9 {
            Some(read_u64(&mut rest, "after")?)
        } else {
            None
        };
        if !rest.is_empty() {
            return Err(malformed(
                "record",
                format!("{} bytes after the last element", rest.len()),
            ));
        }
        rd = payload;
        Ok(RecordHeader {
            seq,
            ts,
            source,
            kind,
            class,
            schema,
            origin,
            payload: rd,
            sealed,
            after,
        })
    }

    /// Decode the payload, upcasting old schema versions to the current type. A sealed payload
    /// decodes as [`Event::Sealed`] (open it first to get the typed payload).
    pub fn decode_event(&self) -> Result<Event, DecodeError> {
        if self.sealed {
            return Ok(Event::Sealed(SealedPayload {
                kind: self.kind,
                sealed: self.payload.to_vec(),
            }));
        }
        decode_payload(self.kind, self.schema, self.payload)
    }

    /// The associated data of this record's sealed payload ([`seal_aad`]).
    pub fn aad(&self) -> [u8; 12] {
        seal_aad(self.seq, self.kind, self.schema)
    }
}

/// Element 7's length and whether it is sealed (`ext` of type [`SEALED_EXT`]) or clear (`bin`).
fn read_payload_len(rd: &mut &[u8]) -> Result<(usize, bool), DecodeError> {
    use rmp::Marker;
    let is_ext = matches!(
        rd.first().copied().map(Marker::from_u8),
        Some(
            Marker::FixExt1
                | Marker::FixExt2
                | Marker::FixExt4
                | Marker::FixExt8
                | Marker::FixExt16
                | Marker::Ext8
                | Marker::Ext16
                | Marker::Ext32
        )
    );
    if !is_ext {
        let len = rmp::decode::read_bin_len(rd).map_err(|e| malformed("payload", e))?;
        return Ok((len as usize, false));
    }
    let meta = rmp::decode::read_ext_meta(rd).map_err(|e| malformed("payload", e))?;
    if meta.typeid != SEALED_EXT {
        return Err(malformed(
            "payload",
            format!("ext type {}, expected {SEALED_EXT} (sealed)", meta.typeid),
        ));
    }
    Ok((meta.size as usize, true))
}

impl Envelope {
    /// The payload is sealed and was not opened (read without the encryption key).
    pub fn is_sealed(&self) -> bool {
        matches!(self.payload, Event::Sealed(_))
    }
}

/// Decode a payload of `kind` written with `schema`, upcast to the current type.
pub fn decode_payload(kind: EventKind, schema: u16, bytes: &[u8]) -> Result<Event, DecodeError> {
    let current = kind.current_schema();
    let wrap = |e: rmp_serde::decode::Error| DecodeError::Payload {
        kind: kind.name(),
        schema,
        detail: e.to_string(),
    };
    if schema == current {
        crate::catalogue::decode_current(kind, bytes).map_err(wrap)
    } else if schema < current && schema > 0 {
        match legacy::upcast(kind, schema, bytes) {
            Some(res) => res.map_err(wrap),
            None => Err(DecodeError::UnknownSchema {
                kind: kind.name(),
                schema,
                current,
            }),
        }
    } else {
        Err(DecodeError::UnknownSchema {
            kind: kind.name(),
            schema,
            current,
        })
    }
}

/// A committed event as read back from the log: header, typed payload, chain hashes.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// Dense sequence number, from 1.
    pub seq: u64,
    /// When it happened, UTC µs.
    pub ts: UtcMicros,
    /// Who produced it.
    pub source: Source,
    /// Its kind.
    pub kind: EventKind,
    /// Its data class.
    pub class: DataClass,
    /// Schema version it was stored with (the payload is always the current type).
    pub schema: u16,
    /// Board origin, for board events.
    pub origin: Option<BoardOrigin>,
    /// The typed payload.
    pub payload: Event,
    /// For a decision taken at a deadline: the last seq its core had seen.
    pub after: Option<u64>,
    /// Chain hash of the previous record.
    pub prev: Hash,
    /// Chain hash of this record.
    pub hash: Hash,
}

impl Envelope {
    /// Decode stored `bytes` with their chain hashes.
    pub fn decode(bytes: &[u8], prev: Hash, hash: Hash) -> Result<Self, DecodeError> {
        let h = RecordHeader::decode(bytes)?;
        Ok(Envelope {
            seq: h.seq,
            ts: h.ts,
            source: h.source,
            kind: h.kind,
            class: h.class,
            schema: h.schema,
            origin: h.origin,
            payload: h.decode_event()?,
            after: h.after,
            prev,
            hash,
        })
    }

    /// Build an envelope for an event not (yet) stored; used by tests and replay tools.
    pub fn unchained(seq: u64, class: DataClass, ev: NewEvent) -> Self {
        Self::chained(seq, class, ev, [0; 32], [0; 32])
    }

    /// Build the envelope of `ev` stored at `seq` with chain hashes `prev` and `hash`,
    /// at the current schema of its kind (what an append writes).
    pub fn chained(seq: u64, class: DataClass, ev: NewEvent, prev: Hash, hash: Hash) -> Self {
        let kind = ev.event.kind();
        Envelope {
            seq,
            ts: ev.ts,
            source: ev.source,
            kind,
            class,
            schema: kind.current_schema(),
            origin: ev.origin,
            payload: ev.event,
            after: ev.after,
            prev,
            hash,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::sample;

    #[test]
    fn header_round_trips_for_every_kind() {
        for &kind in EventKind::ALL {
            let ev = NewEvent::new(-5, Source::Ops, sample(kind));
            let bytes = ev.encode(u64::MAX, kind.default_class());
            let h = RecordHeader::decode(&bytes).expect("decodes");
            assert_eq!(
                (h.seq, h.ts, h.kind, h.source),
                (u64::MAX, -5, kind, Source::Ops)
            );
            assert_eq!(h.decode_event().expect("payload"), ev.event);
        }
    }

    #[test]
    fn truncated_records_are_errors_not_panics() {
        let ev = NewEvent::new(1, Source::Clock, sample(EventKind::WindowOpened));
        let bytes = ev.encode(1, DataClass::Important);
        for cut in 0..bytes.len() {
            assert!(
                Envelope::decode(&bytes[..cut], [0; 32], [0; 32]).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(RecordHeader::decode(&longer).is_err());
    }

    #[test]
    fn future_schema_is_refused_with_its_name() {
        let ev = NewEvent::new(1, Source::Clock, sample(EventKind::WindowClosed));
        let payload = ev.event.encode_payload();
        let bytes = encode_raw(
            1,
            1,
            Source::Clock,
            EventKind::WindowClosed,
            DataClass::General,
            9,
            None,
            &payload,
            None,
        );
        let err = Envelope::decode(&bytes, [0; 32], [0; 32]).expect_err("v9 unknown");
        assert!(
            err.to_string().contains("WindowClosed schema version 9"),
            "{err}"
        );
    }

    #[test]
    fn class_policy_raises_and_refuses_lowering() {
        let mut p = crate::ClassPolicy::default();
        assert_eq!(p.class_for(EventKind::FrameCaptured), DataClass::General);
        p.raise(EventKind::FrameCaptured, DataClass::Core)
            .expect("raise");
        assert_eq!(p.class_for(EventKind::FrameCaptured), DataClass::Core);
        let err = p
            .raise(EventKind::WindowOpened, DataClass::General)
            .expect_err("lower");
        assert!(err.to_string().contains("never lowered"));
    }
}
