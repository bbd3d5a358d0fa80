//! Persistence: the flash abstraction ([`Storage`]), an in-memory implementation
//! ([`MemStorage`]) and the record format the controller writes through it.
//!
//! The controller keeps four small records: the boot counter, the relay state, the window
//! list and the event ring. Each is written whole; a [`Storage`] implementation must replace
//! a slot atomically (after a power loss a read returns either the old or the new bytes; on
//! NOR flash: two sectors per slot, written alternately, newest valid one wins). On top of
//! that every record carries a format version and a CRC-32, so a torn or foreign record is
//! detected and treated as absent rather than trusted.

use crc::{Crc, CRC_32_ISO_HDLC};

/// Format version of every record the controller writes.
pub const RECORD_VERSION: u8 = 1;

/// Largest record the controller writes, bytes (the event ring at full capacity).
pub const MAX_RECORD: usize = 3_072;

const RECORD_CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// The records the controller persists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Slot {
    /// The boot counter (incremented at every boot).
    Boot,
    /// Relay state and the last UTC the board knew.
    Power,
    /// The window list and its digest.
    Windows,
    /// The event ring (board events not yet acked by the Pi).
    Events,
}

impl Slot {
    /// Every slot.
    pub const ALL: [Slot; 4] = [Slot::Boot, Slot::Power, Slot::Windows, Slot::Events];

    /// Index 0–3, for array-backed stores.
    pub fn index(self) -> usize {
        match self {
            Slot::Boot => 0,
            Slot::Power => 1,
            Slot::Windows => 2,
            Slot::Events => 3,
        }
    }
}

/// Flash (or any non-volatile store) holding one opaque record per [`Slot`].
pub trait Storage {
    /// The backend's error; the controller counts failures and keeps running from RAM.
    type Error: core::fmt::Debug;

    /// Reads the slot's record into `buf`, returning its length, or `None` when the slot
    /// was never written. A record longer than `buf` is an error.
    fn load(&mut self, slot: Slot, buf: &mut [u8]) -> Result<Option<usize>, Self::Error>;

    /// Replaces the slot's record with `data` (at most [`MAX_RECORD`] bytes), atomically.
    fn save(&mut self, slot: Slot, data: &[u8]) -> Result<(), Self::Error>;
}

impl<S: Storage + ?Sized> Storage for &mut S {
    type Error = S::Error;

    fn load(&mut self, slot: Slot, buf: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        (**self).load(slot, buf)
    }

    fn save(&mut self, slot: Slot, data: &[u8]) -> Result<(), Self::Error> {
        (**self).save(slot, data)
    }
}

/// Errors of [`MemStorage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MemStorageError {
    /// The record does not fit the slot or the caller's buffer.
    #[error("record of {len} bytes does not fit ({cap} available)")]
    TooLarge {
        /// Record length.
        len: usize,
        /// Room available.
        cap: usize,
    },
    /// A write failure injected by [`MemStorage::fail_next_saves`].
    #[error("injected write failure")]
    Injected,
}

/// Storage in RAM: for tests and the host simulator. Survives a simulated reboot as long as
/// the value is kept (pass `&mut store` to the controller).
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    slots: [Option<heapless::Vec<u8, MAX_RECORD>>; 4],
    saves: u64,
    fail_saves: u32,
}

impl MemStorage {
    /// An empty store (a board fresh from the factory).
    pub fn new() -> Self {
        Self::default()
    }

    /// Successful saves so far (a flash-wear figure).
    pub fn saves(&self) -> u64 {
        self.saves
    }

    /// Makes the next `n` saves fail without changing anything.
    pub fn fail_next_saves(&mut self, n: u32) {
        self.fail_saves = n;
    }

    /// The raw bytes of a slot (tests corrupt them on purpose).
    pub fn raw_mut(&mut self, slot: Slot) -> Option<&mut heapless::Vec<u8, MAX_RECORD>> {
        self.slots[slot.index()].as_mut()
    }
}

impl Storage for MemStorage {
    type Error = MemStorageError;

    fn load(&mut self, slot: Slot, buf: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        match &self.slots[slot.index()] {
            None => Ok(None),
            Some(v) => {
                let cap = buf.len();
                let dst = buf
                    .get_mut(..v.len())
                    .ok_or(MemStorageError::TooLarge { len: v.len(), cap })?;
                dst.copy_from_slice(v);
                Ok(Some(v.len()))
            }
        }
    }

    fn save(&mut self, slot: Slot, data: &[u8]) -> Result<(), Self::Error> {
        if self.fail_saves > 0 {
            self.fail_saves -= 1;
            return Err(MemStorageError::Injected);
        }
        let v = heapless::Vec::from_slice(data).map_err(|_| MemStorageError::TooLarge {
            len: data.len(),
            cap: MAX_RECORD,
        })?;
        self.slots[slot.index()] = Some(v);
        self.saves += 1;
        Ok(())
    }
}

/// Why a stored record could not be read back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The CRC does not match: a torn write or flash corruption; the slot is treated as empty.
    #[error("record CRC mismatch")]
    Crc,
    /// Written by another firmware's record format.
    #[error("record format {found}, expected {RECORD_VERSION}")]
    Version {
        /// Version found.
        found: u8,
    },
    /// The payload ends early or has an impossible value.
    #[error("record payload malformed at byte {at}")]
    Malformed {
        /// Offset of the first bad byte.
        at: usize,
    },
}

/// Little-endian writer into a fixed buffer; records are built with it.
#[derive(Debug)]
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    len: usize,
    overflow: bool,
}

impl<'a> Writer<'a> {
    /// Starts a record: the version byte.
    pub(crate) fn record(buf: &'a mut [u8]) -> Self {
        let mut w = Writer {
            buf,
            len: 0,
            overflow: false,
        };
        w.u8(RECORD_VERSION);
        w
    }

    pub(crate) fn bytes(&mut self, b: &[u8]) {
        match self.buf.get_mut(self.len..self.len + b.len()) {
            Some(dst) => {
                dst.copy_from_slice(b);
                self.len += b.len();
            }
            None => self.overflow = true,
        }
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.bytes(&v.to_le_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.bytes(&v.to_le_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    pub(crate) fn i64(&mut self, v: i64) {
        self.bytes(&v.to_le_bytes());
    }

    /// Appends the CRC and returns the record, or `None` if it did not fit.
    pub(crate) fn finish(mut self) -> Option<usize> {
        let crc = RECORD_CRC.checksum(self.buf.get(..self.len)?);
        self.u32(crc);
        (!self.overflow).then_some(self.len)
    }
}

/// Little-endian reader over a checked record's payload.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Checks CRC and version of a whole record and returns a reader over its payload.
    pub(crate) fn record(rec: &'a [u8]) -> Result<Self, RecordError> {
        if rec.len() < 5 {
            return Err(RecordError::Malformed { at: rec.len() });
        }
        let (body, crc) = rec.split_at(rec.len() - 4);
        let mut c = [0u8; 4];
        c.copy_from_slice(crc);
        if RECORD_CRC.checksum(body) != u32::from_le_bytes(c) {
            return Err(RecordError::Crc);
        }
        if body[0] != RECORD_VERSION {
            return Err(RecordError::Version { found: body[0] });
        }
        Ok(Reader { buf: body, pos: 1 })
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], RecordError> {
        let src = self
            .buf
            .get(self.pos..self.pos + N)
            .ok_or(RecordError::Malformed { at: self.pos })?;
        let mut b = [0u8; N];
        b.copy_from_slice(src);
        self.pos += N;
        Ok(b)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, RecordError> {
        Ok(self.take::<1>()?[0])
    }

    pub(crate) fn bool(&mut self) -> Result<bool, RecordError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(RecordError::Malformed { at: self.pos - 1 }),
        }
    }

    pub(crate) fn u16(&mut self) -> Result<u16, RecordError> {
        Ok(u16::from_le_bytes(self.take()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, RecordError> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, RecordError> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    pub(crate) fn i64(&mut self) -> Result<i64, RecordError> {
        Ok(i64::from_le_bytes(self.take()?))
    }

    pub(crate) fn array32(&mut self) -> Result<[u8; 32], RecordError> {
        self.take()
    }

    /// Position, for error reports.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Fails unless the whole payload was consumed.
    pub(crate) fn end(&self) -> Result<(), RecordError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(RecordError::Malformed { at: self.pos })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips() {
        let mut buf = [0u8; 64];
        let mut w = Writer::record(&mut buf);
        w.u32(7);
        w.i64(-5);
        let n = w.finish().expect("fits");
        let mut r = Reader::record(&buf[..n]).expect("valid");
        assert_eq!(r.u32(), Ok(7));
        assert_eq!(r.i64(), Ok(-5));
        assert_eq!(r.end(), Ok(()));
    }

    #[test]
    fn flipped_bit_is_a_crc_error() {
        let mut buf = [0u8; 64];
        let mut w = Writer::record(&mut buf);
        w.u32(7);
        let n = w.finish().expect("fits");
        for i in 0..n {
            let mut bad = buf;
            bad[i] ^= 0x10;
            assert_eq!(
                Reader::record(&bad[..n]).err(),
                Some(RecordError::Crc),
                "{i}"
            );
        }
    }

    #[test]
    fn overflowing_writer_yields_nothing() {
        let mut buf = [0u8; 6];
        let mut w = Writer::record(&mut buf);
        w.u32(7);
        assert_eq!(w.finish(), None);
    }

    #[test]
    fn truncated_payload_is_malformed() {
        let mut buf = [0u8; 64];
        let mut w = Writer::record(&mut buf);
        w.u8(1);
        let n = w.finish().expect("fits");
        let mut r = Reader::record(&buf[..n]).expect("valid");
        assert_eq!(r.u32(), Err(RecordError::Malformed { at: 1 }));
    }

    #[test]
    fn mem_storage_keeps_slots_apart_and_injects_failures() {
        let mut s = MemStorage::new();
        let mut buf = [0u8; 8];
        assert_eq!(s.load(Slot::Boot, &mut buf), Ok(None));
        s.save(Slot::Boot, &[1, 2]).expect("save");
        s.save(Slot::Power, &[3]).expect("save");
        assert_eq!(s.load(Slot::Boot, &mut buf), Ok(Some(2)));
        assert_eq!(&buf[..2], &[1, 2]);
        s.fail_next_saves(1);
        assert_eq!(s.save(Slot::Boot, &[9]), Err(MemStorageError::Injected));
        assert_eq!(s.load(Slot::Boot, &mut buf), Ok(Some(2)));
        assert_eq!(s.saves(), 2);
    }
}
