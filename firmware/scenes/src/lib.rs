//! Physically plausible synthetic thermal scenes: pure generation, no I/O.
//!
//! The Pico simulator (`vigil-sim`) shows these scenes to the real Pico core, and the tools
//! (`vigil-thermal`, `vigil-train`) make training, test and calibration sets of them. A seed
//! always gives the same frames, bit for bit. Frames are 768 readings in °C (24 rows × 32
//! columns, row-major); [`to_centi`] turns one into the wire's centi-°C.
//!
//! Each scene starts from the room: an ambient temperature of 10–35 °C, a vertical gradient
//! (warm ceiling, cool floor) and a few faint wall patches. Then, by class:
//!
//! - **Person**: a head (face skin that follows the room as thermoregulation makes it: about
//!   32–34 °C in a cool room, 33.5–35.5 °C in a comfortable one, 35–36.5 °C in a hot one) and a
//!   body (clothing between ambient and skin) as ellipses, standing, sitting or lying, at 1–6 m,
//!   sized in metres and seen through the MLX90640's wide lens (110° × 75°, about 3.4° × 3.1°
//!   a pixel: a standing adult at 5 m is about 1.5 pixels wide and 6 tall; each pixel
//!   integrates its field of view), sometimes partly hidden by the frame edge or by furniture.
//! - **Object**: a hot cup or kettle (45–90 °C, small), a lamp (40–110 °C), a radiator
//!   (40–65 °C, wide with fins), a cold drink or window (2–12 °C), a laptop (a sharp-edged warm
//!   base of 30–42 °C under a thin, barely warm lid), or an animal-sized warm blob (cat or dog:
//!   low and horizontal, insulating fur, a small head only slightly warmer than the fur).
//! - **Background**: the room alone, sometimes with a sunlit patch or a hot appliance far away
//!   that covers less than one pixel's field of view.
//!
//! Every frame then gets the sensor's artefacts: Gaussian noise (0.08–0.3 °C), a checkerboard
//! offset between the two chess subpages (±0.25 °C), and zero to three dead pixels stuck at
//! −40 °C.

use vigil_wire::ThermalClass;

/// Rows of a frame.
pub const H: usize = 24;
/// Columns of a frame.
pub const W: usize = 32;
/// Readings per frame.
pub const FRAME_LEN: usize = H * W;

/// A small deterministic generator (SplitMix64), so a seed always gives the same set.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.unit().max(1e-7);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

/// A frame under construction (°C).
struct Canvas {
    t: Vec<f32>,
}

impl Canvas {
    /// Blends an ellipse of temperature `temp` into the frame; pixels partly covered (the
    /// sensor integrates over each pixel's field of view) get a proportional share. Pixels
    /// masked by `hidden` stay as they are (occlusion).
    fn ellipse(
        &mut self,
        cy: f32,
        cx: f32,
        ry: f32,
        rx: f32,
        temp: f32,
        hidden: &dyn Fn(usize, usize) -> bool,
    ) {
        // Only pixels the ellipse's bounding box touches can be covered.
        let rows = (cy - ry).floor().max(0.0) as usize..((cy + ry).ceil().max(0.0) as usize).min(H);
        let cols = (cx - rx).floor().max(0.0) as usize..((cx + rx).ceil().max(0.0) as usize).min(W);
        for y in rows {
            for x in cols.clone() {
                if hidden(y, x) {
                    continue;
                }
                // 8×8 supersampling of the pixel area (fine enough for sub-pixel sources).
                let mut cover = 0.0;
                for sy in 0..8 {
                    for sx in 0..8 {
                        let py = y as f32 + (sy as f32 + 0.5) / 8.0 - cy;
                        let px = x as f32 + (sx as f32 + 0.5) / 8.0 - cx;
                        if (py / ry).powi(2) + (px / rx).powi(2) <= 1.0 {
                            cover += 1.0 / 64.0;
                        }
                    }
                }
                if cover > 0.0 {
                    let i = y * W + x;
                    self.t[i] += cover * (temp - self.t[i]);
                }
            }
        }
    }

    /// Blends an axis-aligned rectangle, with partial cover at its edges.
    fn rect(&mut self, y0: f32, x0: f32, h: f32, w: f32, temp: f32) {
        for y in 0..H {
            for x in 0..W {
                let oy = overlap(y as f32, y0, y0 + h);
                let ox = overlap(x as f32, x0, x0 + w);
                let cover = oy * ox;
                if cover > 0.0 {
                    let i = y * W + x;
                    self.t[i] += cover * (temp - self.t[i]);
                }
            }
        }
    }
}

/// How much of the unit interval `[p, p + 1)` lies in `[a, b)`.
fn overlap(p: f32, a: f32, b: f32) -> f32 {
    (b.min(p + 1.0) - a.max(p)).clamp(0.0, 1.0)
}

fn room(rng: &mut Rng) -> (Canvas, f32) {
    let ambient = rng.uniform(10.0, 35.0);
    let gradient = rng.uniform(-0.4, 1.6); // ceiling warmer than floor, usually
    let mut c = Canvas {
        t: vec![ambient; FRAME_LEN],
    };
    for y in 0..H {
        for x in 0..W {
            c.t[y * W + x] += gradient * (0.5 - y as f32 / H as f32);
        }
    }
    for _ in 0..rng.below(3) {
        let (y0, x0) = (rng.uniform(-4.0, 20.0), rng.uniform(-4.0, 28.0));
        let d = rng.uniform(-0.8, 0.8);
        let (h, w) = (rng.uniform(4.0, 14.0), rng.uniform(4.0, 14.0));
        c.rect(y0, x0, h, w, ambient + d);
    }
    (c, ambient)
}

/// Face skin and clothing surface temperatures of a person in a room at `ambient` °C.
///
/// Skin is not a fixed 33–35.5 °C: thermoregulation moves it with the room. In a cool room
/// the face runs about 32–34 °C, in a comfortable one 33.5–35 °C, and in a hot room
/// vasodilation and sweating hold it between the room and the 37 °C core, about 35–36.5 °C
/// at 35 °C ambient (`ambient + 0.3–0.5 · (37 − ambient)`). Clothing lies between the room and
/// the skin.
fn person_temperatures(ambient: f32, rng: &mut Rng) -> (f32, f32) {
    let comfortable = rng.uniform(33.0, 35.0) + 0.06 * (ambient - 22.0);
    let hot = ambient + rng.uniform(0.3, 0.5) * (37.0 - ambient);
    let skin = comfortable.max(hot).min(36.5);
    let clothing = ambient + rng.uniform(0.35, 0.75) * (skin - ambient);
    (skin, clothing)
}

/// Pixels per radian of the MLX90640's wide lens (110° × 75° over 32 × 24 pixels): about
/// 3.4° per pixel across and 3.1° down.
const PX_PER_RAD_X: f32 = 32.0 / (110.0 * std::f32::consts::PI / 180.0);
/// See [`PX_PER_RAD_X`].
const PX_PER_RAD_Y: f32 = 24.0 / (75.0 * std::f32::consts::PI / 180.0);

/// Pixels that a length of `metres` at `distance` metres spans (across, or down with
/// `vertical`): the angle it subtends over the angular pitch of a pixel.
fn span(metres: f32, distance: f32, vertical: bool) -> f32 {
    let angle = 2.0 * (metres / (2.0 * distance)).atan();
    angle * if vertical { PX_PER_RAD_Y } else { PX_PER_RAD_X }
}

fn person(c: &mut Canvas, ambient: f32, rng: &mut Rng) {
    let distance = rng.uniform(1.0, 6.0); // metres
    let size = rng.uniform(0.85, 1.1); // body size relative to an average adult
    let px = |m: f32| span(m * size, distance, false);
    let py = |m: f32| span(m * size, distance, true);
    let (skin, clothing) = person_temperatures(ambient, rng);
    let pose = rng.below(3);
    // Half-sizes of the clothed body in pixels: standing (shoulders to feet 1.45 m, 0.45 m
    // wide), sitting on a chair seen from the front (1.0 × 0.5 m), lying seen from the side
    // (1.6 m long, 0.3 m high). The head is 0.16 m wide and 0.22 m tall.
    let (body_h, body_w) = match pose {
        0 => (py(0.72), px(0.22)),
        1 => (py(0.5), px(0.25)),
        _ => (py(0.15), px(0.8)),
    };
    let (head_h, head_w) = (py(0.11), px(0.08));
    let cx = rng.uniform(2.0, 30.0);
    let cy = match pose {
        0 => rng.uniform(10.0, 16.0),
        1 => rng.uniform(12.0, 18.0),
        _ => rng.uniform(14.0, 21.0),
    };
    // Occlusion: furniture in front hides the lower part, or nothing.
    let occluded = rng.below(3) == 0;
    let cut = cy + rng.uniform(-0.2, 0.6) * body_h;
    let hidden = move |y: usize, _x: usize| occluded && y as f32 >= cut;
    c.ellipse(cy, cx, body_h, body_w, clothing, &hidden);
    let (hy, hx) = match pose {
        0 | 1 => (cy - body_h - head_h * 0.8, cx),
        _ => (cy, cx - body_w - head_w * 0.8),
    };
    c.ellipse(hy, hx, head_h, head_w, skin, &hidden);
    // Bare forearms or hands (0.09 m wide) sometimes show as small warm spots.
    if rng.below(2) == 0 && pose != 2 {
        let side = if rng.below(2) == 0 { -1.0 } else { 1.0 };
        c.ellipse(
            cy,
            cx + side * body_w * 1.1,
            body_h * 0.5,
            px(0.045),
            skin - 1.0,
            &hidden,
        );
    }
}

fn object(c: &mut Canvas, ambient: f32, rng: &mut Rng) {
    let none = |_: usize, _: usize| false;
    let (cy, cx) = (rng.uniform(2.0, 22.0), rng.uniform(2.0, 30.0));
    match rng.below(6) {
        0 => {
            let r = rng.uniform(0.5, 1.6);
            c.ellipse(cy, cx, r * 1.2, r, rng.uniform(45.0, 90.0), &none); // cup, kettle
        }
        1 => {
            let r = rng.uniform(0.6, 2.0);
            c.ellipse(cy, cx, r, r, rng.uniform(40.0, 110.0), &none); // lamp
            c.ellipse(
                cy,
                cx,
                r * 2.5,
                r * 2.5,
                ambient + rng.uniform(1.0, 4.0),
                &none,
            ); // its glow
            c.ellipse(cy, cx, r, r, rng.uniform(40.0, 110.0), &none);
        }
        2 => {
            let (h, w) = (rng.uniform(4.0, 9.0), rng.uniform(8.0, 18.0));
            let temp = rng.uniform(40.0, 65.0);
            let (y0, x0) = (rng.uniform(8.0, 20.0), rng.uniform(-2.0, 20.0));
            c.rect(y0, x0, h, w, temp); // radiator
            let mut x = x0 + 1.0;
            while x < x0 + w {
                c.rect(y0, x, h, 0.5, temp - rng.uniform(4.0, 9.0)); // fins
                x += 2.0;
            }
        }
        3 => {
            if rng.below(2) == 0 {
                let r = rng.uniform(0.6, 1.8);
                c.ellipse(cy, cx, r * 1.4, r, rng.uniform(2.0, 10.0), &none); // cold drink
            } else {
                let (h, w) = (rng.uniform(5.0, 12.0), rng.uniform(5.0, 12.0));
                c.rect(
                    rng.uniform(0.0, 10.0),
                    rng.uniform(0.0, 24.0),
                    h,
                    w,
                    rng.uniform(2.0, 12.0),
                ); // window
            }
        }
        4 => {
            // Laptop on a desk: a warm base (keyboard and palm rest over the electronics) with a
            // sharp-edged rectangular outline, and its lid standing above it, a thin panel a few
            // degrees above the room (the display's back radiates less than the base).
            let (h, w) = (rng.uniform(1.5, 3.0), rng.uniform(3.0, 7.0));
            let (y0, x0) = (rng.uniform(10.0, 20.0), cx - w / 2.0);
            c.rect(y0, x0, h, w, rng.uniform(30.0, 42.0));
            let lid = rng.uniform(1.5, 3.5);
            c.rect(y0 - lid, x0, lid, w, ambient + rng.uniform(1.0, 5.0));
        }
        _ => {
            // Cat or dog: low in the frame (on the floor), a long horizontal body whose fur
            // insulates (its surface is ambient + 0.3–0.6 of the way to the 38–39 °C core),
            // and a small head at one end (about a third of the body's length) that is only
            // slightly warmer (thinner fur around the eyes and nose), never at skin
            // temperature over a large area as a human face is.
            let (ry, rx) = (rng.uniform(0.7, 1.6), rng.uniform(1.8, 4.0));
            let fur = ambient + rng.uniform(0.3, 0.6) * (38.5 - ambient).max(0.5);
            let y = rng.uniform(16.0, 22.0);
            c.ellipse(y, cx, ry, rx, fur, &none);
            let head = (0.3 * rx).clamp(0.5, 1.2);
            let side = if rng.below(2) == 0 { -1.0 } else { 1.0 };
            c.ellipse(
                y - ry * 0.5,
                cx + side * (rx + head * 0.6),
                head,
                head,
                fur + rng.uniform(0.5, 2.0),
                &none,
            );
        }
    }
}

fn background(c: &mut Canvas, ambient: f32, rng: &mut Rng) {
    let none = |_: usize, _: usize| false;
    match rng.below(3) {
        0 => {}
        1 => {
            let (h, w) = (rng.uniform(4.0, 12.0), rng.uniform(4.0, 16.0));
            c.rect(
                rng.uniform(8.0, 20.0),
                rng.uniform(0.0, 24.0),
                h,
                w,
                ambient + rng.uniform(1.0, 3.5),
            ); // sun patch
        }
        _ => {
            // A far appliance (a pilot light, a charger, a standby lamp across the room):
            // hotter than skin, but strictly smaller than one pixel's field of view and wholly
            // inside it, so one pixel reads a point source's share of its heat (at most a few
            // degrees) and its neighbours nothing.
            let r = rng.uniform(0.1, 0.18);
            let (py, px) = (rng.below(H - 4) + 2, rng.below(W - 4) + 2);
            c.ellipse(
                py as f32 + rng.uniform(r, 1.0 - r),
                px as f32 + rng.uniform(r, 1.0 - r),
                r,
                r,
                rng.uniform(40.0, 70.0),
                &none,
            );
        }
    }
}

fn sensor(c: &mut Canvas, rng: &mut Rng) {
    let sigma = rng.uniform(0.08, 0.3);
    let chess = rng.uniform(-0.25, 0.25);
    for y in 0..H {
        for x in 0..W {
            let i = y * W + x;
            c.t[i] += sigma * rng.normal() + if (y + x) % 2 == 1 { chess } else { 0.0 };
        }
    }
    for _ in 0..rng.below(4) {
        let i = rng.below(FRAME_LEN);
        c.t[i] = -40.0;
    }
    for v in &mut c.t {
        *v = v.clamp(-40.0, 300.0);
    }
}

/// One synthetic frame of the given class.
pub fn scene(label: ThermalClass, rng: &mut Rng) -> Vec<f32> {
    let (mut c, ambient) = room(rng);
    match label {
        ThermalClass::Person => person(&mut c, ambient, rng),
        ThermalClass::Object => object(&mut c, ambient, rng),
        ThermalClass::Background => background(&mut c, ambient, rng),
    }
    sensor(&mut c, rng);
    c.t
}

/// `n` labelled frames in memory (classes in turn: person, object, background).
pub fn generate(n: usize, seed: u64) -> Vec<(ThermalClass, Vec<f32>)> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let label = ThermalClass::ALL[i % 3];
            (label, scene(label, &mut rng))
        })
        .collect()
}

/// °C to centi-°C (the wire's and the int8 engine's unit), rounded and clamped to the
/// sensor's −40…300 °C.
pub fn to_centi(frame: &[f32]) -> Vec<i16> {
    frame
        .iter()
        .map(|&t| (t * 100.0).round().clamp(-4000.0, 30000.0) as i16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_span_the_pixels_the_wide_lens_gives_them() {
        // 110° over 32 columns is 3.44° a pixel: a 0.45 m wide body at 5 m subtends 5.2°.
        assert!((span(0.45, 5.0, false) - 1.5).abs() < 0.05);
        // 75° over 24 rows is 3.125° a pixel: 1.45 m at 5 m subtends 16.5°.
        assert!((span(1.45, 5.0, true) - 5.3).abs() < 0.1);
        // Close up the angle saturates (atan), it does not grow without bound.
        assert!(span(1.45, 0.5, true) < 2.0 * 90.0 / 3.125);
    }

    #[test]
    fn an_ellipse_blends_by_the_share_of_each_pixel_it_covers() {
        let none = |_: usize, _: usize| false;
        let mut c = Canvas {
            t: vec![20.0; FRAME_LEN],
        };
        // A 0.25 px radius source inside pixel (5, 5) covers about π/16 of it.
        c.ellipse(5.5, 5.5, 0.25, 0.25, 84.0, &none);
        let rise = c.t[5 * W + 5] - 20.0;
        assert!(
            (rise - 64.0 * std::f32::consts::PI / 16.0).abs() < 2.5,
            "{rise}"
        );
        assert_eq!(c.t.iter().filter(|&&v| v != 20.0).count(), 1);
    }
}
