//! The synthetic camera: a deterministic moving scene with the capture time drawn in.
//!
//! The scene depends only on the station time handed to [`FrameSource::grab`]: a sky whose
//! brightness follows the time of day, a ground strip, a sun disc that crosses the frame once
//! a minute, and the capture time (UTC, millisecond precision) written in the top-left corner
//! in a built-in 5×7 digit font. [`read_stamp`] reads that time back, so tests can check that a
//! stored frame shows the instant it claims.
//!
//! Outages can be scripted ([`SyntheticCamera::with_outage`]): inside an outage the device
//! behaves as if unplugged (open and grab fail), which is how tests exercise `CameraFault`,
//! retry and backoff.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use vigil_events::UtcMicros;

use super::source::{Frame, FrameSource, SourceError};

/// Glyphs of the built-in font: 7 rows of 5 bits, most significant bit leftmost.
const GLYPHS: [(char, [u8; 7]); 14] = [
    ('0', [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E]),
    ('1', [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E]),
    ('2', [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F]),
    ('3', [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E]),
    ('4', [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02]),
    ('5', [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E]),
    ('6', [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E]),
    ('7', [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08]),
    ('8', [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E]),
    ('9', [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C]),
    ('-', [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00]),
    (':', [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00]),
    ('.', [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C]),
    (' ', [0x00; 7]),
];

/// Characters in a stamp: `YYYY-MM-DD HH:MM:SS.mmm`.
const STAMP_LEN: usize = 23;
/// A glyph cell is 6 columns (5 + 1 spacing) by 7 rows, times the scale.
const CELL_W: u32 = 6;
const CELL_H: u32 = 7;

/// The text drawn into a frame captured at `at`: UTC, `YYYY-MM-DD HH:MM:SS.mmm`.
pub fn stamp_text(at: UtcMicros) -> String {
    match DateTime::<Utc>::from_timestamp_micros(at) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
        None => "0000-00-00 00:00:00.000".to_string(),
    }
}

/// Pixel scale of the stamp for a frame size (at least 1; the stamp takes about half the
/// width).
fn stamp_scale(width: u32, height: u32) -> u32 {
    let by_width = width / (2 * (STAMP_LEN as u32 * CELL_W + 4));
    let by_height = height / 48;
    by_width.min(by_height).max(1)
}

/// Read the capture time stamp back from a frame (also after JPEG compression, which keeps
/// the high-contrast glyphs). `None` when the frame is too small or the text is unreadable.
pub fn read_stamp(frame: &Frame) -> Option<String> {
    let s = stamp_scale(frame.width(), frame.height());
    let (x0, y0) = (2 * s, 2 * s);
    let mut out = String::with_capacity(STAMP_LEN);
    for c in 0..STAMP_LEN as u32 {
        let mut rows = [0u8; 7];
        for (row, bits) in rows.iter_mut().enumerate() {
            for col in 0..5u32 {
                let x = x0 + (c * CELL_W + col) * s + s / 2;
                let y = y0 + row as u32 * s + s / 2;
                let [r, g, b] = frame.pixel(x, y)?;
                let luma = (u32::from(r) * 299 + u32::from(g) * 587 + u32::from(b) * 114) / 1000;
                if luma > 128 {
                    *bits |= 0x10 >> col;
                }
            }
        }
        let ch = GLYPHS.iter().find(|(_, g)| *g == rows).map(|(ch, _)| *ch)?;
        out.push(ch);
    }
    Some(out)
}

/// Counters a test can keep after handing the camera to a performer.
#[derive(Debug, Clone, Default)]
pub struct SyntheticProbe {
    opens: Arc<AtomicU64>,
    grabs: Arc<AtomicU64>,
}

impl SyntheticProbe {
    /// How many times the camera was opened (a warm camera is opened once).
    pub fn opens(&self) -> u64 {
        self.opens.load(Ordering::Relaxed)
    }

    /// How many frames were delivered.
    pub fn grabs(&self) -> u64 {
        self.grabs.load(Ordering::Relaxed)
    }
}

/// The deterministic synthetic camera. See the module docs.
#[derive(Debug)]
pub struct SyntheticCamera {
    width: u32,
    height: u32,
    open: bool,
    outages: Vec<(UtcMicros, UtcMicros)>,
    probe: SyntheticProbe,
}

impl SyntheticCamera {
    /// A synthetic camera producing `width`×`height` frames (each side 16..=8192).
    pub fn new(width: u32, height: u32) -> Result<Self, SourceError> {
        if !(16..=8192).contains(&width) || !(16..=8192).contains(&height) {
            return Err(SourceError::Settings(format!(
                "synthetic resolution {width}x{height} outside 16..=8192 per side"
            )));
        }
        Ok(SyntheticCamera {
            width,
            height,
            open: false,
            outages: Vec::new(),
            probe: SyntheticProbe::default(),
        })
    }

    /// Script an outage: from `from` (inclusive) to `until` (exclusive) station time the
    /// camera behaves as unplugged.
    pub fn with_outage(mut self, from: UtcMicros, until: UtcMicros) -> Self {
        self.outages.push((from, until));
        self
    }

    /// Counters that stay readable after the camera is moved into a performer.
    pub fn probe(&self) -> SyntheticProbe {
        self.probe.clone()
    }

    fn unplugged(&self, at: UtcMicros) -> bool {
        self.outages.iter().any(|&(a, b)| at >= a && at < b)
    }

    /// Render the scene at `at` (no open/outage logic; used by `grab`).
    pub fn render(&self, at: UtcMicros) -> Frame {
        let (w, h) = (self.width, self.height);
        let mut rgb = vec![0u8; (w as usize) * (h as usize) * 3];
        let day_us: i64 = 86_400_000_000;
        let tod = at.rem_euclid(day_us);
        // 0 at midnight, 1000 at noon.
        let light = 1000 - ((2 * tod - day_us).abs() * 1000 / day_us);
        let horizon = h * 2 / 3;
        let minute_ms = (at / 1000).rem_euclid(60_000);
        let sun_x = (minute_ms * i64::from(w) / 60_000) as i32;
        let sun_y = (h / 3) as i32;
        let radius = (h / 10).max(2) as i32;
        for (y, row) in rgb.chunks_exact_mut(w as usize * 3).enumerate() {
            let y = y as u32;
            let (r, g, b) = if y < horizon {
                let depth = i64::from(y) * 60 / i64::from(horizon.max(1));
                (
                    20 + light * 110 / 1000 + depth,
                    40 + light * 140 / 1000 + depth,
                    70 + light * 170 / 1000,
                )
            } else {
                (
                    30 + light * 60 / 1000,
                    70 + light * 90 / 1000,
                    30 + light * 40 / 1000,
                )
            };
            let px = [
                r.clamp(0, 255) as u8,
                g.clamp(0, 255) as u8,
                b.clamp(0, 255) as u8,
            ];
            for p in row.chunks_exact_mut(3) {
                p.copy_from_slice(&px);
            }
        }
        for y in (sun_y - radius).max(0)..(sun_y + radius).min(h as i32) {
            for x in (sun_x - radius).max(0)..(sun_x + radius).min(w as i32) {
                let (dx, dy) = (x - sun_x, y - sun_y);
                if dx * dx + dy * dy <= radius * radius {
                    let i = ((y as u32 * w + x as u32) as usize) * 3;
                    rgb[i..i + 3].copy_from_slice(&[250, 180, 40]);
                }
            }
        }
        draw_stamp(&mut rgb, w, h, &stamp_text(at));
        Frame {
            width: w,
            height: h,
            rgb,
        }
    }
}

/// Draw `text` white on a black box in the top-left corner; glyphs that do not fit are cut.
fn draw_stamp(rgb: &mut [u8], w: u32, h: u32, text: &str) {
    let s = stamp_scale(w, h);
    let (x0, y0) = (2 * s, 2 * s);
    let box_w = (text.chars().count() as u32 * CELL_W + 1) * s;
    let box_h = (CELL_H + 2) * s;
    let mut put = |x: u32, y: u32, v: u8| {
        if x < w && y < h {
            let i = ((y * w + x) as usize) * 3;
            rgb[i..i + 3].copy_from_slice(&[v, v, v]);
        }
    };
    for y in (y0 - s)..(y0 - s + box_h) {
        for x in (x0 - s)..(x0 - s + box_w) {
            put(x, y, 0);
        }
    }
    for (c, ch) in text.chars().enumerate() {
        let Some((_, glyph)) = GLYPHS.iter().find(|(g, _)| *g == ch) else {
            continue;
        };
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..5u32 {
                if bits & (0x10 >> col) != 0 {
                    for dy in 0..s {
                        for dx in 0..s {
                            put(
                                x0 + (c as u32 * CELL_W + col) * s + dx,
                                y0 + row as u32 * s + dy,
                                255,
                            );
                        }
                    }
                }
            }
        }
    }
}

impl FrameSource for SyntheticCamera {
    fn describe(&self) -> String {
        format!("synthetic {}x{}", self.width, self.height)
    }

    fn open(&mut self, at: UtcMicros) -> Result<(), SourceError> {
        if self.unplugged(at) {
            return Err(SourceError::Open {
                device: self.describe(),
                detail: "no such device (scripted outage)".to_string(),
            });
        }
        self.open = true;
        self.probe.opens.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn is_open(&self) -> bool {
        self.open
    }

    fn grab(&mut self, at: UtcMicros) -> Result<Frame, SourceError> {
        if !self.open {
            return Err(SourceError::Grab {
                device: self.describe(),
                detail: "stream not open".to_string(),
            });
        }
        if self.unplugged(at) {
            self.open = false;
            return Err(SourceError::Grab {
                device: self.describe(),
                detail: "device vanished (scripted outage)".to_string(),
            });
        }
        let frame = self.render(at);
        self.probe.grabs.fetch_add(1, Ordering::Relaxed);
        Ok(frame)
    }

    fn close(&mut self) {
        self.open = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_780_286_400_000_000; // 2026-06-01T04:00:00Z

    #[test]
    fn stamp_reads_back_the_capture_time() {
        let cam = SyntheticCamera::new(320, 240).expect("size");
        let at = T + 12_345_678;
        let frame = cam.render(at);
        assert_eq!(
            read_stamp(&frame).as_deref(),
            Some("2026-06-01 04:00:12.345")
        );
    }

    #[test]
    fn scene_is_deterministic_and_moves() {
        let cam = SyntheticCamera::new(160, 120).expect("size");
        assert_eq!(cam.render(T), cam.render(T));
        assert_ne!(cam.render(T).rgb(), cam.render(T + 20_000_000).rgb());
    }

    #[test]
    fn tiny_or_huge_resolutions_are_refused() {
        assert!(SyntheticCamera::new(8, 8).is_err());
        assert!(SyntheticCamera::new(100_000, 10).is_err());
    }
}
