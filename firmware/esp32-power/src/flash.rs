//! [`Storage`] on NOR flash (any `embedded-storage` [`NorFlash`], e.g. `esp-storage` on the
//! ESP32-C3): two erase sectors per [`Slot`], written alternately, so a power loss during a
//! write leaves the previous record intact.
//!
//! Layout from `base`: slot *i* owns sectors `2i` and `2i + 1` (8 sectors in all; 32 KiB
//! with the ESP32's 4 KiB sectors: give it a data partition of that size). Each sector holds
//! at most one record: a 16-byte header — magic `VGL1`, generation (u32 LE), length
//! (u32 LE), CRC-32 of generation, length and data (u32 LE) — then the data, padded with
//! `0xFF`. Reading takes the valid record with the highest generation; writing erases the
//! other sector and writes generation + 1 there.

use crc::{Crc, CRC_32_ISO_HDLC};
use embedded_storage::nor_flash::{NorFlash, NorFlashError, NorFlashErrorKind};

use crate::store::{Slot, Storage, MAX_RECORD};

const MAGIC: [u8; 4] = *b"VGL1";
const HEADER: usize = 16;
const FLASH_CRC: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);
/// Bytes moved per flash read or write call.
const CHUNK: usize = 256;

/// Errors of [`NorFlashStorage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FlashError {
    /// The flash driver failed (address out of range, not aligned, hardware error).
    #[error("flash error: {0:?}")]
    Flash(NorFlashErrorKind),
    /// The erase sector is too small for a record, or the write size does not divide 16:
    /// choose a partition with sectors of at least 4 KiB.
    #[error("flash geometry unsupported: erase size {erase}, write size {write}")]
    Geometry {
        /// Erase size of the flash.
        erase: usize,
        /// Write size of the flash.
        write: usize,
    },
    /// The record does not fit the slot or the caller's buffer.
    #[error("record of {len} bytes does not fit ({cap} available)")]
    TooLarge {
        /// Record length.
        len: usize,
        /// Room available.
        cap: usize,
    },
}

fn flash_err(e: impl NorFlashError) -> FlashError {
    FlashError::Flash(e.kind())
}

/// Storage on NOR flash; see the module docs for the layout.
#[derive(Debug)]
pub struct NorFlashStorage<F> {
    flash: F,
    base: u32,
}

impl<F: NorFlash> NorFlashStorage<F> {
    /// Storage in the 8 erase sectors of `flash` from byte offset `base` (sector-aligned).
    pub fn new(flash: F, base: u32) -> Result<Self, FlashError> {
        let geometry = FlashError::Geometry {
            erase: F::ERASE_SIZE,
            write: F::WRITE_SIZE,
        };
        if F::ERASE_SIZE < HEADER + MAX_RECORD
            || F::WRITE_SIZE == 0
            || !HEADER.is_multiple_of(F::WRITE_SIZE)
            || !CHUNK.is_multiple_of(F::WRITE_SIZE)
            || F::READ_SIZE == 0
            || !HEADER.is_multiple_of(F::READ_SIZE)
            || !CHUNK.is_multiple_of(F::READ_SIZE)
            || !(base as usize).is_multiple_of(F::ERASE_SIZE)
        {
            return Err(geometry);
        }
        let end = base as usize + 8 * F::ERASE_SIZE;
        if end > flash.capacity() {
            return Err(FlashError::Flash(NorFlashErrorKind::OutOfBounds));
        }
        Ok(NorFlashStorage { flash, base })
    }

    /// Gives the flash back.
    pub fn into_inner(self) -> F {
        self.flash
    }

    fn sector(&self, slot: Slot, half: usize) -> u32 {
        self.base + ((slot.index() * 2 + half) * F::ERASE_SIZE) as u32
    }

    /// Generation and length of the valid record in a sector (CRC checked), if any.
    fn probe(&mut self, at: u32) -> Result<Option<(u32, usize)>, FlashError> {
        let mut h = [0u8; HEADER];
        self.flash.read(at, &mut h).map_err(flash_err)?;
        if h[..4] != MAGIC {
            return Ok(None);
        }
        let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let (generation, len, crc) = (word(4), word(8) as usize, word(12));
        if len > MAX_RECORD || len > F::ERASE_SIZE - HEADER {
            return Ok(None);
        }
        let mut digest = FLASH_CRC.digest();
        digest.update(&h[4..12]);
        let mut chunk = [0u8; CHUNK];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(CHUNK);
            let padded = n.div_ceil(F::READ_SIZE) * F::READ_SIZE;
            let buf = &mut chunk[..padded];
            self.flash
                .read(at + (HEADER + done) as u32, buf)
                .map_err(flash_err)?;
            digest.update(&buf[..n]);
            done += n;
        }
        Ok((digest.finalize() == crc).then_some((generation, len)))
    }

    /// The newest valid record of a slot: (sector offset, generation, length).
    fn newest(&mut self, slot: Slot) -> Result<Option<(u32, u32, usize)>, FlashError> {
        let mut best: Option<(u32, u32, usize)> = None;
        for half in 0..2 {
            let at = self.sector(slot, half);
            if let Some((g, len)) = self.probe(at)? {
                if best.is_none_or(|(_, bg, _)| g > bg) {
                    best = Some((at, g, len));
                }
            }
        }
        Ok(best)
    }
}

impl<F: NorFlash> Storage for NorFlashStorage<F> {
    type Error = FlashError;

    fn load(&mut self, slot: Slot, buf: &mut [u8]) -> Result<Option<usize>, Self::Error> {
        let Some((at, _, len)) = self.newest(slot)? else {
            return Ok(None);
        };
        if len > buf.len() {
            return Err(FlashError::TooLarge {
                len,
                cap: buf.len(),
            });
        }
        let mut chunk = [0u8; CHUNK];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(CHUNK);
            let padded = n.div_ceil(F::READ_SIZE) * F::READ_SIZE;
            self.flash
                .read(at + (HEADER + done) as u32, &mut chunk[..padded])
                .map_err(flash_err)?;
            buf[done..done + n].copy_from_slice(&chunk[..n]);
            done += n;
        }
        Ok(Some(len))
    }

    fn save(&mut self, slot: Slot, data: &[u8]) -> Result<(), Self::Error> {
        if data.len() > MAX_RECORD {
            return Err(FlashError::TooLarge {
                len: data.len(),
                cap: MAX_RECORD,
            });
        }
        let newest = self.newest(slot)?;
        let generation = newest.map_or(1, |(_, g, _)| g.wrapping_add(1));
        let target = match newest {
            Some((at, _, _)) if at == self.sector(slot, 0) => self.sector(slot, 1),
            _ => self.sector(slot, 0),
        };
        self.flash
            .erase(target, target + F::ERASE_SIZE as u32)
            .map_err(flash_err)?;
        // Data first, header last: a record without its header is simply absent.
        let mut chunk = [0xFFu8; CHUNK];
        let mut done = 0;
        while done < data.len() {
            let n = (data.len() - done).min(CHUNK);
            let padded = n.div_ceil(F::WRITE_SIZE) * F::WRITE_SIZE;
            chunk[..n].copy_from_slice(&data[done..done + n]);
            chunk[n..padded].fill(0xFF);
            self.flash
                .write(target + (HEADER + done) as u32, &chunk[..padded])
                .map_err(flash_err)?;
            done += n;
        }
        let mut h = [0u8; HEADER];
        h[..4].copy_from_slice(&MAGIC);
        h[4..8].copy_from_slice(&generation.to_le_bytes());
        h[8..12].copy_from_slice(&(data.len() as u32).to_le_bytes());
        let mut digest = FLASH_CRC.digest();
        digest.update(&h[4..12]);
        digest.update(data);
        h[12..16].copy_from_slice(&digest.finalize().to_le_bytes());
        self.flash.write(target, &h).map_err(flash_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_storage::nor_flash::{ErrorType, ReadNorFlash};

    const SECTOR: usize = 4096;

    /// NOR flash in RAM: erase sets 0xFF, writes can only clear bits, alignment checked;
    /// can be told to fail after a number of writes (power loss mid-save).
    struct RamFlash {
        mem: [u8; 10 * SECTOR],
        writes_left: Option<u32>,
    }

    #[derive(Debug)]
    struct RamError(NorFlashErrorKind);
    impl NorFlashError for RamError {
        fn kind(&self) -> NorFlashErrorKind {
            self.0
        }
    }
    impl ErrorType for RamFlash {
        type Error = RamError;
    }
    impl ReadNorFlash for RamFlash {
        const READ_SIZE: usize = 4;
        fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), RamError> {
            let o = offset as usize;
            if !o.is_multiple_of(4) || !bytes.len().is_multiple_of(4) {
                return Err(RamError(NorFlashErrorKind::NotAligned));
            }
            let src = self
                .mem
                .get(o..o + bytes.len())
                .ok_or(RamError(NorFlashErrorKind::OutOfBounds))?;
            bytes.copy_from_slice(src);
            Ok(())
        }
        fn capacity(&self) -> usize {
            self.mem.len()
        }
    }
    impl NorFlash for RamFlash {
        const WRITE_SIZE: usize = 4;
        const ERASE_SIZE: usize = SECTOR;
        fn erase(&mut self, from: u32, to: u32) -> Result<(), RamError> {
            self.mem[from as usize..to as usize].fill(0xFF);
            Ok(())
        }
        fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), RamError> {
            if let Some(n) = self.writes_left.as_mut() {
                if *n == 0 {
                    return Err(RamError(NorFlashErrorKind::Other));
                }
                *n -= 1;
            }
            let o = offset as usize;
            if !o.is_multiple_of(4) || !bytes.len().is_multiple_of(4) {
                return Err(RamError(NorFlashErrorKind::NotAligned));
            }
            for (d, s) in self.mem[o..o + bytes.len()].iter_mut().zip(bytes) {
                *d &= *s;
            }
            Ok(())
        }
    }

    fn flash() -> NorFlashStorage<RamFlash> {
        NorFlashStorage::new(
            RamFlash {
                mem: [0xFF; 10 * SECTOR],
                writes_left: None,
            },
            SECTOR as u32,
        )
        .expect("geometry fits")
    }

    #[test]
    fn empty_flash_has_no_records() {
        let mut f = flash();
        let mut buf = [0u8; 16];
        for slot in Slot::ALL {
            assert_eq!(f.load(slot, &mut buf), Ok(None));
        }
    }

    #[test]
    fn records_round_trip_and_replace_each_other() {
        let mut f = flash();
        let mut buf = [0u8; MAX_RECORD];
        let big: heapless::Vec<u8, 1000> = (0..999u32).map(|i| (i * 7) as u8).collect();
        f.save(Slot::Events, &big).expect("save");
        f.save(Slot::Boot, &[1, 2, 3]).expect("save");
        assert_eq!(f.load(Slot::Events, &mut buf), Ok(Some(999)));
        assert_eq!(&buf[..999], &big[..]);
        for i in 0..5u8 {
            f.save(Slot::Boot, &[i; 5]).expect("save");
            assert_eq!(f.load(Slot::Boot, &mut buf), Ok(Some(5)));
            assert_eq!(&buf[..5], &[i; 5]);
        }
        assert_eq!(f.load(Slot::Events, &mut buf), Ok(Some(999)));
    }

    #[test]
    fn power_loss_during_a_save_keeps_the_previous_record() {
        let mut f = flash();
        let mut buf = [0u8; MAX_RECORD];
        f.save(Slot::Windows, &[7; 600]).expect("save");
        // when power fails after the first data chunk of the next save
        f.flash.writes_left = Some(1);
        assert!(f.save(Slot::Windows, &[9; 600]).is_err());
        f.flash.writes_left = None;
        // then the old record is read back whole
        assert_eq!(f.load(Slot::Windows, &mut buf), Ok(Some(600)));
        assert_eq!(&buf[..600], &[7; 600]);
        // and the next save works
        f.save(Slot::Windows, &[9; 600]).expect("save");
        assert_eq!(f.load(Slot::Windows, &mut buf), Ok(Some(600)));
        assert_eq!(buf[0], 9);
    }

    #[test]
    fn a_corrupted_newest_record_falls_back_to_the_older_one() {
        let mut f = flash();
        let mut buf = [0u8; 64];
        f.save(Slot::Power, &[1; 8]).expect("save");
        f.save(Slot::Power, &[2; 8]).expect("save");
        // flip a data bit of the newest (second sector of slot Power)
        let at = SECTOR + (Slot::Power.index() * 2 + 1) * SECTOR + HEADER;
        f.flash.mem[at] ^= 1;
        assert_eq!(f.load(Slot::Power, &mut buf), Ok(Some(8)));
        assert_eq!(&buf[..8], &[1; 8]);
    }

    #[test]
    fn too_small_a_buffer_is_an_error_not_a_panic() {
        let mut f = flash();
        f.save(Slot::Boot, &[1; 40]).expect("save");
        let mut buf = [0u8; 8];
        assert_eq!(
            f.load(Slot::Boot, &mut buf),
            Err(FlashError::TooLarge { len: 40, cap: 8 })
        );
    }

    #[test]
    fn a_partition_past_the_end_is_refused() {
        let r = NorFlashStorage::new(
            RamFlash {
                mem: [0xFF; 10 * SECTOR],
                writes_left: None,
            },
            4 * SECTOR as u32,
        );
        assert!(matches!(
            r,
            Err(FlashError::Flash(NorFlashErrorKind::OutOfBounds))
        ));
    }
}
