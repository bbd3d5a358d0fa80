//! MLX90640 driver tests.
//!
//! 1. The supply-voltage and ambient-temperature steps of the datasheet's worked example
//!    (EEPROM 0x2410, 0x2431–0x2433, 0x2438; RAM 0x0700, 0x0720, 0x072A; control 0x1901):
//!    Kvdd = −3168, Vdd25 = −13056, KvPTAT = 0.005371, KtPTAT = 42.25, VPTAT25 = 12273,
//!    αPTAT = 9, Vdd ≈ 3.319 V, Ta ≈ 39.184 °C.
//! 2. For the per-pixel steps we build a self-consistent EEPROM from chosen parameters,
//!    check that extraction gives them back, synthesise the raw RAM a sensor would report for
//!    a known scene (the datasheet's object-temperature equation run forwards), and check the
//!    driver recovers the scene through both subpages over a mocked I2C bus.

#![allow(clippy::needless_range_loop)] // pixel indices carry meaning (row, column, subpage)

use embedded_hal_mock::eh1::i2c::{Mock as I2cMock, Transaction as I2cTx};
use vigil_pico_thermal::mlx90640::{
    pixel_subpage, Calibration, CalibrationError, FrameAssembler, Mlx90640, RawSubpage,
    CHUNK_WORDS, EEPROM_START, EEPROM_WORDS, PIXELS, RAM_START, RAM_WORDS,
};

const ADDR: u8 = 0x33;
const CONTROL: u16 = 0x1901; // chess mode, 18-bit resolution (code 2), 2 Hz

fn nib(vals: &[i16]) -> u16 {
    vals.iter()
        .enumerate()
        .fold(0u16, |w, (i, &v)| w | (((v as u16) & 0xF) << (4 * i)))
}

/// The four 4-bit values `f(first)..f(first + 3)` packed into one word, lowest nibble first.
fn nib4(f: fn(usize) -> i16, first: usize) -> u16 {
    nib(&[f(first), f(first + 1), f(first + 2), f(first + 3)])
}

fn occ_row(i: usize) -> i16 {
    (i as i16 % 7) - 3
}
fn occ_col(j: usize) -> i16 {
    (j as i16 % 5) - 2
}
fn acc_row(i: usize) -> i16 {
    (i as i16 % 4) - 1
}
fn acc_col(j: usize) -> i16 {
    2 - (j as i16 % 6)
}

/// Per-pixel word: offset (6 bits), alpha (6 bits), kta (3 bits), outlier bit.
fn pixel_word(p: usize) -> u16 {
    if p == 100 {
        return 0; // broken pixel
    }
    let off = ((p % 11) as i16) - 5;
    let alpha = ((p % 13) as i16) - 6;
    let kta = ((p % 5) as i16) - 2;
    let outlier = u16::from(p == 500);
    let word = (((off as u16) & 0x3F) << 10)
        | (((alpha as u16) & 0x3F) << 4)
        | (((kta as u16) & 0x7) << 1)
        | outlier;
    // A zero word marks a broken pixel; keep every other pixel healthy.
    if word == 0 {
        1 << 4
    } else {
        word
    }
}

/// An EEPROM with the datasheet's supply/PTAT words and chosen per-pixel parameters.
fn eeprom() -> [u16; EEPROM_WORDS] {
    let mut ee = [0u16; EEPROM_WORDS];
    ee[10] = 0x0000; // bit 11 clear: calibrated in chess mode
    ee[16] = 0x4000 | (2 << 8) | (1 << 4); // αPTAT code 4; occ row scale 2, col 1, rem 0
    ee[17] = (-60i16) as u16; // offset average
    for i in 0..6 {
        ee[18 + i] = nib4(occ_row, 4 * i);
        ee[34 + i] = nib4(acc_row, 4 * i);
    }
    for j in 0..8 {
        ee[24 + j] = nib4(occ_col, 4 * j);
        ee[40 + j] = nib4(acc_col, 4 * j);
    }
    ee[32] = (7 << 12) | (3 << 8) | (2 << 4) | 1; // α scale 30+7, acc row 3, col 2, rem 1
    ee[33] = 16000; // α reference
    ee[48] = 6273; // gain
    ee[49] = 0x2FF1; // VPTAT25 = 12273 (datasheet)
    ee[50] = 0x5952; // KvPTAT, KtPTAT (datasheet)
    ee[51] = 0x9D68; // Kvdd, Vdd25 (datasheet)
    ee[52] = nib(&[1, -1, 2, 3]); // Kv: ReCe, RoCe, ReCo, RoCo
    ee[53] = 0;
    ee[54] = (0x60 << 8) | 0x58; // Kta RoCo (even/even here), ReCo
    ee[55] = (0x5C << 8) | 0x54; // Kta RoCe, ReCe
    ee[56] = (2 << 12) | (4 << 8) | (5 << 4) | 1; // resolution 2, Kv scale 4, Kta scale1 8+5, scale2 1
    ee[57] = (3 << 10) | 0x1C0; // CP α: sp0 = 448 / 2^34, sp1 ratio +3/128
    ee[58] = (2 << 10) | (((-70i16) as u16) & 0x3FF); // CP offsets: −70, −68
    ee[59] = (0x10 << 8) | 0x30; // CP Kv, CP Kta
    ee[60] = (((-16i8) as u8 as u16) << 8) | 8; // KsTa = −16/8192, TGC = 8/32
    let ks = (-26i8) as u8 as u16; // KsTo = −26 / 2^17 ≈ −0.0002
    ee[61] = (ks << 8) | ks;
    ee[62] = (ks << 8) | ks;
    ee[63] = (2 << 12) | (10 << 8) | (5 << 4) | 9; // step 20: CT2 = 100, CT3 = 300; KsTo scale 8+9
    for p in 0..PIXELS {
        ee[64 + p] = pixel_word(p);
    }
    ee
}

/// RAM with the datasheet's auxiliary readings.
fn ram_aux() -> [u16; RAM_WORDS] {
    let mut ram = [0u16; RAM_WORDS];
    ram[768] = 0x4BF2; // VBE
    ram[800] = 0x06AF; // VPTAT
    ram[810] = 0xCCC5; // Vdd
    ram[778] = 6383; // gain reading
    ram[776] = (-72i16) as u16; // CP subpage 0
    ram[808] = (-69i16) as u16; // CP subpage 1
    ram
}

#[test]
fn datasheet_example_supply_voltage_and_ambient_temperature() {
    let cal = Calibration::from_eeprom(&eeprom()).expect("valid EEPROM");
    assert_eq!(cal.k_vdd, -3168);
    assert_eq!(cal.vdd25, -13056);
    assert!((cal.kv_ptat - 0.005371).abs() < 1e-6);
    assert_eq!(cal.kt_ptat, 42.25);
    assert_eq!(cal.v_ptat25, 12273.0);
    assert_eq!(cal.alpha_ptat, 9.0);
    assert_eq!(cal.resolution_ee, 2);
    let ram = ram_aux();
    let vdd = cal.vdd(&ram, CONTROL);
    assert!((vdd - 3.3186).abs() < 5e-4, "Vdd {vdd}");
    let ta = cal.ta(&ram, CONTROL);
    assert!((ta - 39.184).abs() < 0.01, "Ta {ta}");
}

#[test]
fn extraction_gives_back_the_encoded_parameters() {
    let cal = Calibration::from_eeprom(&eeprom()).expect("valid EEPROM");
    for p in [0usize, 1, 33, 100, 367, 500, 767] {
        let (i, j) = (p / 32, p % 32);
        let word = pixel_word(p);
        let pix_off = ((word >> 10) as i16) << 10 >> 10;
        let offset =
            -60 + (i32::from(occ_row(i)) << 2) + (i32::from(occ_col(j)) << 1) + i32::from(pix_off);
        assert_eq!(i32::from(cal.offset[p]), offset, "offset of pixel {p}");
        let pix_alpha = ((((word >> 4) & 0x3F) as i16) << 10) >> 10;
        let acc = 16000
            + (i32::from(acc_row(i)) << 3)
            + (i32::from(acc_col(j)) << 2)
            + (i32::from(pix_alpha) << 1);
        let alpha = acc as f32 / 2f32.powi(37);
        assert!(
            (cal.alpha[p] - alpha).abs() <= alpha * 1e-6,
            "alpha of pixel {p}"
        );
        let split = 2 * (i % 2) + j % 2;
        let rc = [0x60, 0x5C, 0x58, 0x54][split] as f32;
        let pix_kta = (((((word >> 1) & 7) as i16) << 13) >> 13) as f32;
        assert!(
            (cal.kta[p] - (rc + pix_kta * 2.0) / 8192.0).abs() < 1e-7,
            "kta of pixel {p}"
        );
        assert_eq!(
            cal.kv[p],
            [3.0, -1.0, 2.0, 1.0][split] / 16.0,
            "kv of pixel {p}"
        );
    }
    assert_eq!(cal.ct, [-40, 0, 100, 300, 400]);
    assert_eq!(cal.cp_offset, [-70, -68]);
    assert_eq!(cal.tgc, 0.25);
    assert!((cal.ks_to[1] + 26.0 / 131072.0).abs() < 1e-9);
    assert_eq!(cal.calibration_mode_ee, 0x80);
    assert_eq!(cal.bad_pixels().collect::<Vec<_>>(), vec![100, 500]);
}

/// The scene: 24 °C background, a 35 °C "person" block, a 70 °C "cup".
fn scene(p: usize) -> f32 {
    let (i, j) = (p / 32, p % 32);
    if (8..20).contains(&i) && (10..16).contains(&j) {
        35.0
    } else if (3..6).contains(&i) && (24..28).contains(&j) {
        70.0
    } else {
        24.0
    }
}

/// Raw RAM of one subpage for the scene: the datasheet's equations run backwards.
fn synth_subpage(cal: &Calibration, subpage: u8, emissivity: f32) -> RawSubpage {
    let mut ram = ram_aux();
    let ta = cal.ta(&ram, CONTROL);
    let dv = cal.vdd(&ram, CONTROL) - 3.3;
    let gain = f32::from(cal.gain_ee) / 6383.0;
    let k4 = |t: f32| (t + 273.15).powi(4);
    let tr = ta - 8.0;
    let ta_tr = k4(tr) - (k4(tr) - k4(ta)) / emissivity;
    let cp_factor = (1.0 + cal.cp_kta * (ta - 25.0)) * (1.0 + cal.cp_kv * dv);
    let cp = [
        -72.0 * gain - f32::from(cal.cp_offset[0]) * cp_factor,
        -69.0 * gain - f32::from(cal.cp_offset[1]) * cp_factor,
    ][usize::from(subpage)];
    for p in 0..PIXELS {
        if pixel_subpage(p, 0x80) != usize::from(subpage) {
            ram[p] = 0x7FFF; // the other subpage's pixels: stale garbage the driver must ignore
            continue;
        }
        let to = scene(p);
        let alpha = (cal.alpha[p] - cal.tgc * cal.cp_alpha[usize::from(subpage)])
            * (1.0 + cal.ks_ta * (ta - 25.0));
        let (range, corr) = if to < 100.0 {
            (1, 1.0)
        } else {
            (2, 1.0 + cal.ks_to[1] * 100.0)
        };
        let vir = alpha
            * corr
            * (1.0 + cal.ks_to[range] * (to - f32::from(cal.ct[range])))
            * (k4(to) - ta_tr);
        let ir = vir * emissivity + cal.tgc * cp;
        let pix = ir
            + f32::from(cal.offset[p]) * (1.0 + cal.kta[p] * (ta - 25.0)) * (1.0 + cal.kv[p] * dv);
        ram[p] = ((pix / gain).round() as i16) as u16;
    }
    RawSubpage {
        words: ram,
        control: CONTROL,
        subpage,
    }
}

fn read_expectations(start: u16, words: &[u16]) -> Vec<I2cTx> {
    words
        .chunks(CHUNK_WORDS)
        .enumerate()
        .map(|(i, chunk)| {
            let addr = start + (i * CHUNK_WORDS) as u16;
            let bytes: Vec<u8> = chunk.iter().flat_map(|w| w.to_be_bytes()).collect();
            I2cTx::write_read(ADDR, addr.to_be_bytes().to_vec(), bytes)
        })
        .collect()
}

fn subpage_expectations(sub: &RawSubpage, not_ready_polls: usize) -> Vec<I2cTx> {
    let mut tx = vec![];
    for _ in 0..not_ready_polls {
        tx.push(I2cTx::write_read(ADDR, vec![0x80, 0x00], vec![0x00, 0x00]));
    }
    tx.push(I2cTx::write_read(
        ADDR,
        vec![0x80, 0x00],
        vec![0x00, 0x08 | sub.subpage],
    ));
    tx.push(I2cTx::write(ADDR, vec![0x80, 0x00, 0x00, 0x30]));
    tx.extend(read_expectations(RAM_START, &sub.words));
    tx.push(I2cTx::write_read(
        ADDR,
        vec![0x80, 0x0D],
        CONTROL.to_be_bytes().to_vec(),
    ));
    tx
}

#[test]
fn both_subpages_over_i2c_recover_the_scene() {
    let ee = eeprom();
    let cal = Calibration::from_eeprom(&ee).expect("valid EEPROM");
    let (s0, s1) = (synth_subpage(&cal, 0, 0.95), synth_subpage(&cal, 1, 0.95));
    let mut tx = read_expectations(EEPROM_START, &ee);
    tx.extend(subpage_expectations(&s0, 2));
    tx.extend(subpage_expectations(&s1, 0));
    let mut sensor = Mlx90640::new(I2cMock::new(&tx));
    let cal_read = sensor.calibration().expect("calibration over I2C");
    assert_eq!(cal_read, cal);
    let mut asm = FrameAssembler::default();
    let mut raw = RawSubpage::default();
    let mut frame = [0i16; PIXELS];
    sensor.wait_subpage(&mut raw, 5).expect("subpage 0");
    assert_eq!(raw, s0);
    assert!(
        !asm.push(&cal, &raw, &mut frame).expect("computes"),
        "one subpage is not a frame"
    );
    sensor.wait_subpage(&mut raw, 5).expect("subpage 1");
    assert!(
        asm.push(&cal, &raw, &mut frame).expect("computes"),
        "both subpages make a frame"
    );
    for p in 0..PIXELS {
        let want = (scene(p) * 100.0) as i32;
        let tol = if p == 100 || p == 500 { 1200 } else { 10 };
        assert!(
            (i32::from(frame[p]) - want).abs() <= tol,
            "pixel {p}: {} vs {want}",
            frame[p]
        );
    }
    sensor.release().done();
}

#[test]
fn no_new_data_is_a_typed_timeout() {
    let tx = vec![I2cTx::write_read(ADDR, vec![0x80, 0x00], vec![0x00, 0x00]); 3];
    let mut sensor = Mlx90640::new(I2cMock::new(&tx));
    let err = sensor
        .wait_subpage(&mut RawSubpage::default(), 3)
        .expect_err("never ready");
    assert_eq!(
        err.to_string(),
        "MLX90640 had no new data after 3 status polls"
    );
    sensor.release().done();
}

#[test]
fn refresh_rate_is_a_read_modify_write_of_bits_7_to_9() {
    let tx = vec![
        I2cTx::write_read(ADDR, vec![0x80, 0x0D], vec![0x19, 0x01]),
        I2cTx::write(ADDR, vec![0x80, 0x0D, 0x1A, 0x81]), // code 5 (16 Hz)
    ];
    let mut sensor = Mlx90640::new(I2cMock::new(&tx));
    sensor.set_refresh_rate(5).expect("writes");
    sensor.release().done();
}

#[test]
fn damaged_eeproms_are_refused_with_the_reason() {
    let mut ee = eeprom();
    ee[64 + 101] = 0; // next to the broken pixel 100
    assert_eq!(
        Calibration::from_eeprom(&ee),
        Err(CalibrationError::AdjacentBadPixels { a: 100, b: 101 })
    );
    let mut ee = eeprom();
    for p in [200, 300, 400, 600] {
        ee[64 + p] = 0;
    }
    assert_eq!(
        Calibration::from_eeprom(&ee),
        Err(CalibrationError::TooManyBadPixels { count: 5 })
    );
    let mut ee = eeprom();
    ee[51] &= 0x00FF;
    assert_eq!(
        Calibration::from_eeprom(&ee),
        Err(CalibrationError::ZeroParameter { what: "Kvdd" })
    );
}
