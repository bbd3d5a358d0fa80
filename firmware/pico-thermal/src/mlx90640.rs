//! MLX90640 driver: EEPROM parameter extraction, subpage reads, and the datasheet's
//! temperature calculation (Melexis MLX90640 datasheet, section 11 "Calculation").
//!
//! The driver owns its I2C bus ([`Mlx90640::new`]); [`Mlx90640::release`] gives it back.
//! [`Calibration::from_eeprom`] is a pure function of the 832 EEPROM words, and
//! [`Calibration::apply`] turns one subpage of RAM into object temperatures, so both are
//! tested without hardware. The sensor measures the two subpages (chess pattern by default)
//! alternately; [`FrameAssembler`] completes a 24 × 32 frame once both have arrived.
//!
//! # Troubleshooting
//!
//! - `I2c(..)` on the first read: check SDA/SCL wiring and pull-ups, and that the address is
//!   0x33 (the factory default).
//! - [`CalibrationError::TooManyBadPixels`] or [`CalibrationError::AdjacentBadPixels`]: the
//!   EEPROM marks a damaged sensor (or a bad dump: read it again).
//! - [`Error::NotReady`]: no new subpage arrived within the poll budget; check the refresh
//!   rate (control register 0x800D) and that nothing else holds the bus.

use embedded_hal::i2c::I2c;

/// Factory I2C address.
pub const DEFAULT_ADDRESS: u8 = 0x33;
/// First EEPROM word.
pub const EEPROM_START: u16 = 0x2400;
/// EEPROM words (0x2400..=0x273F).
pub const EEPROM_WORDS: usize = 832;
/// First RAM word.
pub const RAM_START: u16 = 0x0400;
/// RAM words (pixels and auxiliary data, 0x0400..=0x073F).
pub const RAM_WORDS: usize = 832;
/// Status register.
pub const STATUS_REGISTER: u16 = 0x8000;
/// Control register 1.
pub const CONTROL_REGISTER: u16 = 0x800D;
/// Pixels per frame.
pub const PIXELS: usize = 768;
/// Rows of the array.
pub const ROWS: usize = 24;
/// Columns of the array.
pub const COLUMNS: usize = 32;
/// Words read per I2C transaction.
pub const CHUNK_WORDS: usize = 32;

/// Status value written to clear "new data" (bit 3) while keeping bits 4–5 as the datasheet
/// recommends.
const STATUS_CLEAR: u16 = 0x0030;
/// Most bad pixels the datasheet allows.
const MAX_BAD_PIXELS: usize = 4;

/// A driver error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error<E: core::fmt::Debug> {
    /// The bus failed.
    #[error("I2C error talking to the MLX90640: {0:?}")]
    I2c(E),
    /// The EEPROM content is unusable.
    #[error("MLX90640 EEPROM: {0}")]
    Calibration(CalibrationError),
    /// No new subpage within the poll budget.
    #[error("MLX90640 had no new data after {polls} status polls")]
    NotReady {
        /// Polls made.
        polls: u32,
    },
}

/// Why the EEPROM (or a frame) cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CalibrationError {
    /// More broken and outlier pixels than the datasheet tolerates.
    #[error("{count} bad pixels (at most 4 are allowed)")]
    TooManyBadPixels {
        /// Bad pixels found.
        count: usize,
    },
    /// Two bad pixels touch each other, so neither can be interpolated.
    #[error("bad pixels {a} and {b} are adjacent")]
    AdjacentBadPixels {
        /// First pixel index.
        a: u16,
        /// Second pixel index.
        b: u16,
    },
    /// A parameter that must not be zero is zero.
    #[error("parameter {what} is zero")]
    ZeroParameter {
        /// Which one.
        what: &'static str,
    },
}

/// Everything the temperature calculation needs, extracted once from the EEPROM.
#[derive(Clone, Debug, PartialEq)]
pub struct Calibration {
    /// Supply sensitivity (LSB/V).
    pub k_vdd: i16,
    /// Supply reading at 25 °C, 3.3 V.
    pub vdd25: i16,
    /// PTAT supply dependence.
    pub kv_ptat: f32,
    /// PTAT temperature slope.
    pub kt_ptat: f32,
    /// PTAT reading at 25 °C.
    pub v_ptat25: f32,
    /// PTAT scaling.
    pub alpha_ptat: f32,
    /// Gain reference.
    pub gain_ee: i16,
    /// Thermal gradient coefficient.
    pub tgc: f32,
    /// Compensation pixel supply coefficient.
    pub cp_kv: f32,
    /// Compensation pixel temperature coefficient.
    pub cp_kta: f32,
    /// ADC resolution used at calibration (0..=3 → 16..19 bit).
    pub resolution_ee: u8,
    /// Reading pattern used at calibration (0x80 chess, 0 interleaved), compared with the
    /// control register's bit 12 shifted the same way.
    pub calibration_mode_ee: u8,
    /// Sensitivity temperature dependence.
    pub ks_ta: f32,
    /// Sensitivity correction per temperature range.
    pub ks_to: [f32; 5],
    /// Range corner temperatures (°C).
    pub ct: [i16; 5],
    /// Compensation pixel sensitivities (subpage 0, 1).
    pub cp_alpha: [f32; 2],
    /// Compensation pixel offsets (subpage 0, 1).
    pub cp_offset: [i16; 2],
    /// Interleaved/chess corrections.
    pub il_chess_c: [f32; 3],
    /// Pixel sensitivity.
    pub alpha: [f32; PIXELS],
    /// Pixel offset.
    pub offset: [i16; PIXELS],
    /// Pixel offset temperature coefficient.
    pub kta: [f32; PIXELS],
    /// Pixel offset supply coefficient.
    pub kv: [f32; PIXELS],
    /// Broken (EEPROM word 0) or outlier pixels, `u16::MAX` when unused.
    pub bad_pixels: [u16; MAX_BAD_PIXELS],
}

#[inline]
fn nibble(word: u16, n: u32) -> u16 {
    (word >> (4 * n)) & 0xF
}

/// Sign-extends the low `bits` of `v`.
#[inline]
fn signed(v: u16, bits: u32) -> i16 {
    let shift = 16 - bits;
    ((v << shift) as i16) >> shift
}

#[inline]
fn pow2(e: i32) -> f32 {
    libm::ldexpf(1.0, e)
}

impl Calibration {
    /// Extracts every parameter from the 832 EEPROM words (index 0 = address 0x2400).
    pub fn from_eeprom(ee: &[u16; EEPROM_WORDS]) -> Result<Self, CalibrationError> {
        // Supply.
        let k_vdd = i16::from((ee[51] >> 8) as u8 as i8) * 32;
        let vdd25 = ((i16::try_from(ee[51] & 0xFF).unwrap_or(0) - 256) << 5) - 8192;
        // PTAT.
        let kv_ptat = f32::from(signed(ee[50] >> 10, 6)) / 4096.0;
        let kt_ptat = f32::from(signed(ee[50] & 0x3FF, 10)) / 8.0;
        let v_ptat25 = f32::from(ee[49] as i16);
        let alpha_ptat = f32::from(nibble(ee[16], 3)) / 4.0 + 8.0;
        let gain_ee = ee[48] as i16;
        let tgc = f32::from((ee[60] & 0xFF) as u8 as i8) / 32.0;
        let resolution_ee = ((ee[56] >> 12) & 0x3) as u8;
        let ks_ta = f32::from((ee[60] >> 8) as u8 as i8) / 8192.0;
        for (v, what) in [(k_vdd, "Kvdd"), (gain_ee, "GainEE")] {
            if v == 0 {
                return Err(CalibrationError::ZeroParameter { what });
            }
        }
        if kt_ptat == 0.0 {
            return Err(CalibrationError::ZeroParameter { what: "KtPTAT" });
        }
        // Sensitivity correction per range.
        let step = ((ee[63] >> 12) & 0x3) as i16 * 10;
        let ct2 = nibble(ee[63], 1) as i16 * step;
        let ct3 = ct2 + nibble(ee[63], 2) as i16 * step;
        let ks_to_scale = pow2(i32::from(nibble(ee[63], 0)) + 8);
        let ks_to = [
            f32::from((ee[61] & 0xFF) as u8 as i8) / ks_to_scale,
            f32::from((ee[61] >> 8) as u8 as i8) / ks_to_scale,
            f32::from((ee[62] & 0xFF) as u8 as i8) / ks_to_scale,
            f32::from((ee[62] >> 8) as u8 as i8) / ks_to_scale,
            -0.0002,
        ];
        // Compensation pixels.
        let alpha_scale_cp = i32::from(nibble(ee[32], 3)) + 27;
        let cp_alpha0 = f32::from(signed(ee[57] & 0x3FF, 10)) / pow2(alpha_scale_cp);
        let cp_alpha1 = (1.0 + f32::from(signed(ee[57] >> 10, 6)) / 128.0) * cp_alpha0;
        let cp_offset0 = signed(ee[58] & 0x3FF, 10);
        let cp_offset1 = cp_offset0 + signed(ee[58] >> 10, 6);
        let kta_scale1 = i32::from(nibble(ee[56], 1)) + 8;
        let kta_scale2 = u32::from(nibble(ee[56], 0));
        let kv_scale = i32::from(nibble(ee[56], 2));
        let cp_kta = f32::from((ee[59] & 0xFF) as u8 as i8) / pow2(kta_scale1);
        let cp_kv = f32::from((ee[59] >> 8) as u8 as i8) / pow2(kv_scale);
        // Chess / interleave.
        let calibration_mode_ee = (((ee[10] & 0x0800) >> 4) as u8) ^ 0x80;
        let il_chess_c = [
            f32::from(signed(ee[53] & 0x3F, 6)) / 16.0,
            f32::from(signed((ee[53] >> 6) & 0x1F, 5)) / 2.0,
            f32::from(signed(ee[53] >> 11, 5)) / 8.0,
        ];
        // Row/column compensation tables: four signed nibbles per word.
        let table = |first: usize, i: usize| -> i32 {
            i32::from(signed(nibble(ee[first + i / 4], (i % 4) as u32), 4))
        };
        let occ_rem_scale = u32::from(nibble(ee[16], 0));
        let occ_col_scale = u32::from(nibble(ee[16], 1));
        let occ_row_scale = u32::from(nibble(ee[16], 2));
        let offset_ref = i32::from(ee[17] as i16);
        let acc_rem_scale = u32::from(nibble(ee[32], 0));
        let acc_col_scale = u32::from(nibble(ee[32], 1));
        let acc_row_scale = u32::from(nibble(ee[32], 2));
        let alpha_scale = i32::from(nibble(ee[32], 3)) + 30;
        let alpha_ref = i32::from(ee[33]);
        let kta_rc = [
            f32::from((ee[54] >> 8) as u8 as i8),
            f32::from((ee[55] >> 8) as u8 as i8),
            f32::from((ee[54] & 0xFF) as u8 as i8),
            f32::from((ee[55] & 0xFF) as u8 as i8),
        ];
        let kv_t = [
            f32::from(signed(nibble(ee[52], 3), 4)),
            f32::from(signed(nibble(ee[52], 1), 4)),
            f32::from(signed(nibble(ee[52], 2), 4)),
            f32::from(signed(nibble(ee[52], 0), 4)),
        ];
        let mut cal = Calibration {
            k_vdd,
            vdd25,
            kv_ptat,
            kt_ptat,
            v_ptat25,
            alpha_ptat,
            gain_ee,
            tgc,
            cp_kv,
            cp_kta,
            resolution_ee,
            calibration_mode_ee,
            ks_ta,
            ks_to,
            ct: [-40, 0, ct2, ct3, 400],
            cp_alpha: [cp_alpha0, cp_alpha1],
            cp_offset: [cp_offset0, cp_offset1],
            il_chess_c,
            alpha: [0.0; PIXELS],
            offset: [0; PIXELS],
            kta: [0.0; PIXELS],
            kv: [0.0; PIXELS],
            bad_pixels: [u16::MAX; MAX_BAD_PIXELS],
        };
        let mut n_bad = 0;
        for p in 0..PIXELS {
            let (row, col) = (p / COLUMNS, p % COLUMNS);
            let word = ee[64 + p];
            let occ = (table(18, row) << occ_row_scale)
                + (table(24, col) << occ_col_scale)
                + (i32::from(signed(word >> 10, 6)) << occ_rem_scale);
            cal.offset[p] =
                (offset_ref + occ).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
            let acc = alpha_ref
                + (table(34, row) << acc_row_scale)
                + (table(40, col) << acc_col_scale)
                + (i32::from(signed((word >> 4) & 0x3F, 6)) << acc_rem_scale);
            cal.alpha[p] = acc as f32 / pow2(alpha_scale);
            let split = 2 * (row % 2) + col % 2;
            let kta_pixel = f32::from(signed((word >> 1) & 0x7, 3)) * pow2(kta_scale2 as i32);
            cal.kta[p] = (kta_rc[split] + kta_pixel) / pow2(kta_scale1);
            cal.kv[p] = kv_t[split] / pow2(kv_scale);
            if word == 0 || word & 1 != 0 {
                if n_bad == MAX_BAD_PIXELS {
                    return Err(CalibrationError::TooManyBadPixels {
                        count: MAX_BAD_PIXELS + 1,
                    });
                }
                cal.bad_pixels[n_bad] = p as u16;
                n_bad += 1;
            }
        }
        let bad = &cal.bad_pixels[..n_bad];
        for (i, &a) in bad.iter().enumerate() {
            for &b in &bad[i + 1..] {
                let (ra, ca) = (i32::from(a) / 32, i32::from(a) % 32);
                let (rb, cb) = (i32::from(b) / 32, i32::from(b) % 32);
                if (ra - rb).abs() < 2 && (ca - cb).abs() < 2 {
                    return Err(CalibrationError::AdjacentBadPixels { a, b });
                }
            }
        }
        Ok(cal)
    }

    /// Supply voltage for a subpage's RAM (datasheet 11.2.2.2).
    pub fn vdd(&self, ram: &[u16; RAM_WORDS], control: u16) -> f32 {
        let resolution_ram = i32::from((control >> 10) & 0x3);
        let correction = pow2(i32::from(self.resolution_ee) - resolution_ram);
        (correction * f32::from(ram[810] as i16) - f32::from(self.vdd25)) / f32::from(self.k_vdd)
            + 3.3
    }

    /// Ambient (die) temperature in °C for a subpage's RAM (datasheet 11.2.2.3).
    pub fn ta(&self, ram: &[u16; RAM_WORDS], control: u16) -> f32 {
        let dv = self.vdd(ram, control) - 3.3;
        let v_ptat = f32::from(ram[800] as i16);
        let v_be = f32::from(ram[768] as i16);
        let ptat_art = v_ptat / (v_ptat * self.alpha_ptat + v_be) * pow2(18);
        (ptat_art / (1.0 + self.kv_ptat * dv) - self.v_ptat25) / self.kt_ptat + 25.0
    }

    /// Object temperatures (°C) of the pixels measured in `sub`, written into `out`; the other
    /// subpage's pixels are left as they are. Returns the ambient temperature.
    ///
    /// `tr` is the reflected temperature (the datasheet suggests `Ta − 8` in open air).
    pub fn apply(
        &self,
        sub: &RawSubpage,
        emissivity: f32,
        tr: Option<f32>,
        out: &mut [f32; PIXELS],
    ) -> Result<f32, CalibrationError> {
        let ram = &sub.words;
        let gain_ram = ram[778] as i16;
        if gain_ram == 0 {
            return Err(CalibrationError::ZeroParameter { what: "RAM gain" });
        }
        let vdd = self.vdd(ram, sub.control);
        let dv = vdd - 3.3;
        let ta = self.ta(ram, sub.control);
        let dta = ta - 25.0;
        let tr = tr.unwrap_or(ta - 8.0);
        let ta4 = kelvin4(ta);
        let tr4 = kelvin4(tr);
        let ta_tr = tr4 - (tr4 - ta4) / emissivity;
        let gain = f32::from(self.gain_ee) / f32::from(gain_ram);
        let mode = ((sub.control & 0x1000) >> 5) as u8;
        let subpage = usize::from(sub.subpage & 1);
        let cp_factor = (1.0 + self.cp_kta * dta) * (1.0 + self.cp_kv * dv);
        let mut cp = [
            f32::from(ram[776] as i16) * gain,
            f32::from(ram[808] as i16) * gain,
        ];
        cp[0] -= f32::from(self.cp_offset[0]) * cp_factor;
        let il0 = if mode == self.calibration_mode_ee {
            0.0
        } else {
            self.il_chess_c[0]
        };
        cp[1] -= (f32::from(self.cp_offset[1]) + il0) * cp_factor;
        let corr_r = [
            1.0 / (1.0 + self.ks_to[0] * 40.0),
            1.0,
            1.0 + self.ks_to[1] * f32::from(self.ct[2]),
            (1.0 + self.ks_to[1] * f32::from(self.ct[2]))
                * (1.0 + self.ks_to[2] * f32::from(self.ct[3] - self.ct[2])),
        ];
        for p in 0..PIXELS {
            if pixel_subpage(p, mode) != subpage {
                continue;
            }
            let (row, col) = (p / COLUMNS, p % COLUMNS);
            let il_pattern = (row % 2) as i32;
            let conversion = match col % 4 {
                1 => -1,
                3 => 1,
                _ => 0,
            } * (1 - 2 * il_pattern);
            let mut ir = f32::from(ram[p] as i16) * gain;
            ir -= f32::from(self.offset[p]) * (1.0 + self.kta[p] * dta) * (1.0 + self.kv[p] * dv);
            if mode != self.calibration_mode_ee {
                ir += self.il_chess_c[2] * (2 * il_pattern - 1) as f32
                    - self.il_chess_c[1] * conversion as f32;
            }
            ir -= self.tgc * cp[subpage];
            ir /= emissivity;
            let alpha =
                (self.alpha[p] - self.tgc * self.cp_alpha[subpage]) * (1.0 + self.ks_ta * dta);
            let sx = self.ks_to[1] * root4(alpha * alpha * alpha * (ir + alpha * ta_tr));
            let to = root4(ir / (alpha * (1.0 - self.ks_to[1] * 273.15) + sx) + ta_tr) - 273.15;
            let range = if to < f32::from(self.ct[1]) {
                0
            } else if to < f32::from(self.ct[2]) {
                1
            } else if to < f32::from(self.ct[3]) {
                2
            } else {
                3
            };
            let denom = alpha
                * corr_r[range]
                * (1.0 + self.ks_to[range] * (to - f32::from(self.ct[range])));
            out[p] = root4(ir / denom + ta_tr) - 273.15;
        }
        Ok(ta)
    }

    /// The bad pixels (broken or outliers) the EEPROM lists.
    pub fn bad_pixels(&self) -> impl Iterator<Item = usize> + '_ {
        self.bad_pixels
            .iter()
            .filter(|&&p| p != u16::MAX)
            .map(|&p| usize::from(p))
    }
}

fn kelvin4(t: f32) -> f32 {
    let k = t + 273.15;
    (k * k) * (k * k)
}

fn root4(v: f32) -> f32 {
    libm::sqrtf(libm::sqrtf(v))
}

/// The subpage (0 or 1) that measures pixel `p`: chess pattern when `mode` is 0x80,
/// interleaved rows otherwise.
pub fn pixel_subpage(p: usize, mode: u8) -> usize {
    let row = p / COLUMNS;
    let col = p % COLUMNS;
    if mode == 0 {
        row % 2
    } else {
        (row + col) % 2
    }
}

/// One subpage as read from the sensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawSubpage {
    /// RAM 0x0400..=0x073F.
    pub words: [u16; RAM_WORDS],
    /// Control register 1 at the time of the read.
    pub control: u16,
    /// Which subpage the sensor measured (status bit 0).
    pub subpage: u8,
}

impl Default for RawSubpage {
    fn default() -> Self {
        RawSubpage {
            words: [0; RAM_WORDS],
            control: 0,
            subpage: 0,
        }
    }
}

/// The MLX90640 on an I2C bus it owns.
#[derive(Debug)]
pub struct Mlx90640<I2C> {
    i2c: I2C,
    address: u8,
}

impl<I2C: I2c> Mlx90640<I2C> {
    /// A driver at the factory address 0x33.
    pub fn new(i2c: I2C) -> Self {
        Self::with_address(i2c, DEFAULT_ADDRESS)
    }

    /// A driver at another address.
    pub fn with_address(i2c: I2C, address: u8) -> Self {
        Mlx90640 { i2c, address }
    }

    /// Gives the bus back.
    pub fn release(self) -> I2C {
        self.i2c
    }

    /// Reads consecutive 16-bit words (big-endian on the wire), 32 words per transaction.
    pub fn read_words(&mut self, start: u16, out: &mut [u16]) -> Result<(), Error<I2C::Error>> {
        let mut buf = [0u8; CHUNK_WORDS * 2];
        for (i, chunk) in out.chunks_mut(CHUNK_WORDS).enumerate() {
            let addr = start.wrapping_add((i * CHUNK_WORDS) as u16);
            let bytes = &mut buf[..chunk.len() * 2];
            self.i2c
                .write_read(self.address, &addr.to_be_bytes(), bytes)
                .map_err(Error::I2c)?;
            for (w, b) in chunk.iter_mut().zip(bytes.chunks_exact(2)) {
                *w = u16::from_be_bytes([b[0], b[1]]);
            }
        }
        Ok(())
    }

    /// Writes one register.
    pub fn write_word(&mut self, register: u16, value: u16) -> Result<(), Error<I2C::Error>> {
        let [rh, rl] = register.to_be_bytes();
        let [vh, vl] = value.to_be_bytes();
        self.i2c
            .write(self.address, &[rh, rl, vh, vl])
            .map_err(Error::I2c)
    }

    /// Reads one register.
    pub fn read_word(&mut self, register: u16) -> Result<u16, Error<I2C::Error>> {
        let mut w = [0u16; 1];
        self.read_words(register, &mut w)?;
        Ok(w[0])
    }

    /// Reads the EEPROM and extracts the calibration.
    pub fn calibration(&mut self) -> Result<Calibration, Error<I2C::Error>> {
        let mut ee = [0u16; EEPROM_WORDS];
        self.read_words(EEPROM_START, &mut ee)?;
        Calibration::from_eeprom(&ee).map_err(Error::Calibration)
    }

    /// Sets the refresh rate code (0 = 0.5 Hz … 7 = 64 Hz; the subpage rate is twice the
    /// frame rate) by read-modify-write of control register bits 7–9.
    pub fn set_refresh_rate(&mut self, code: u8) -> Result<(), Error<I2C::Error>> {
        let control = self.read_word(CONTROL_REGISTER)?;
        let value = (control & !0x0380) | (u16::from(code & 0x7) << 7);
        self.write_word(CONTROL_REGISTER, value)
    }

    /// Polls the status register once; when a new subpage is ready, clears the flag and
    /// reads it into `out`, returning `true`.
    pub fn poll_subpage(&mut self, out: &mut RawSubpage) -> Result<bool, Error<I2C::Error>> {
        let status = self.read_word(STATUS_REGISTER)?;
        if status & 0x0008 == 0 {
            return Ok(false);
        }
        self.write_word(STATUS_REGISTER, STATUS_CLEAR)?;
        self.read_words(RAM_START, &mut out.words)?;
        out.control = self.read_word(CONTROL_REGISTER)?;
        out.subpage = (status & 0x0001) as u8;
        Ok(true)
    }

    /// Polls up to `max_polls` times for the next subpage (the caller paces the polls, or
    /// relies on the bus time between them).
    pub fn wait_subpage(
        &mut self,
        out: &mut RawSubpage,
        max_polls: u32,
    ) -> Result<(), Error<I2C::Error>> {
        for _ in 0..max_polls {
            if self.poll_subpage(out)? {
                return Ok(());
            }
        }
        Err(Error::NotReady { polls: max_polls })
    }
}

/// Collects both subpages into a full frame of centi-°C.
#[derive(Clone, Debug)]
pub struct FrameAssembler {
    temps: [f32; PIXELS],
    seen: [bool; 2],
    /// Emissivity used for every pixel (0.95 by default, as in Melexis' examples).
    pub emissivity: f32,
    /// Ambient temperature of the last subpage (°C).
    pub ta: f32,
}

impl Default for FrameAssembler {
    fn default() -> Self {
        FrameAssembler {
            temps: [0.0; PIXELS],
            seen: [false; 2],
            emissivity: 0.95,
            ta: 0.0,
        }
    }
}

impl FrameAssembler {
    /// Adds a subpage; when both subpages have arrived since the last frame, writes the frame
    /// (bad pixels interpolated, clamped to −40…300 °C, in centi-°C) and returns `true`.
    pub fn push(
        &mut self,
        cal: &Calibration,
        sub: &RawSubpage,
        out: &mut [i16; PIXELS],
    ) -> Result<bool, CalibrationError> {
        self.ta = cal.apply(sub, self.emissivity, None, &mut self.temps)?;
        self.seen[usize::from(sub.subpage & 1)] = true;
        if !(self.seen[0] && self.seen[1]) {
            return Ok(false);
        }
        self.seen = [false; 2];
        for (o, &t) in out.iter_mut().zip(&self.temps) {
            *o = to_centi(t);
        }
        for p in cal.bad_pixels() {
            out[p] = neighbour_mean(out, p, cal);
        }
        Ok(true)
    }
}

/// °C to centi-°C, clamped to the sensor's range (−40…300 °C); NaN becomes −40 °C.
pub fn to_centi(t: f32) -> i16 {
    if t.is_nan() {
        return -4000;
    }
    let c = libm::roundf(t * 100.0).clamp(-4000.0, 30000.0);
    c as i16
}

fn neighbour_mean(frame: &[i16; PIXELS], p: usize, cal: &Calibration) -> i16 {
    let (row, col) = ((p / COLUMNS) as i32, (p % COLUMNS) as i32);
    let (mut sum, mut n) = (0i32, 0i32);
    for (dr, dc) in [(-1, 0), (1, 0), (0, -1), (0, 1)] {
        let (r, c) = (row + dr, col + dc);
        if !(0..ROWS as i32).contains(&r) || !(0..COLUMNS as i32).contains(&c) {
            continue;
        }
        let q = (r * COLUMNS as i32 + c) as usize;
        if cal.bad_pixels().any(|b| b == q) {
            continue;
        }
        sum += i32::from(frame[q]);
        n += 1;
    }
    if n == 0 {
        frame[p]
    } else {
        (sum / n) as i16
    }
}
