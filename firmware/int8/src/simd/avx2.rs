//! x86-64 AVX2 kernels: the convolution (`vpmaddwd` over blocks of eight output channels),
//! the requantization of eight accumulators at once and the input quantization.
//!
//! The requantization is [`crate::fixed::multiply_by_quantized_multiplier`] lane by lane:
//! the saturating left shift (`vpsllvd`, checked by shifting back), the rounding doubling
//! high multiply as `(a · b + 2^30) >> 31` on 64-bit products (`vpmuldq` on even and odd
//! lanes; equal to gemmlowp's nudge-and-truncate for every `a` when `b ≥ 0`, which the parser
//! guarantees), the rounding right shift (half away from zero via the remainder test), then
//! the clamp and zero point.

use core::arch::x86_64::*;

use crate::fixed::div_round;
use crate::prepared::{ConvPlan, Group, InputPlan, Requant8, LANES};

/// Whether the running CPU has AVX2 (cached by `std` after the first call).
fn available() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// Loads eight `i32` lanes.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn lanes(a: &[i32; 8]) -> __m256i {
    // SAFETY: `a` is 32 readable bytes; the load is unaligned.
    unsafe { _mm256_loadu_si256(a.as_ptr().cast()) }
}

/// Requantizes eight accumulators; the result lanes are in `−128..=127`.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn requant(x: __m256i, q: &Requant8) -> __m256i {
    // SAFETY: AVX2 is enabled on this function; `lanes` only reads the arrays given.
    unsafe {
        let mut x = x;
        if q.any_left {
            let l = lanes(&q.left);
            let shifted = _mm256_sllv_epi32(x, l);
            let exact = _mm256_cmpeq_epi32(_mm256_srav_epi32(shifted, l), x);
            let sat = _mm256_xor_si256(_mm256_srai_epi32(x, 31), _mm256_set1_epi32(i32::MAX));
            x = _mm256_blendv_epi8(sat, shifted, exact);
        }
        let m = lanes(&q.mult);
        let nudge = _mm256_set1_epi64x(1 << 30);
        let even = _mm256_srli_epi64(_mm256_add_epi64(_mm256_mul_epi32(x, m), nudge), 31);
        let odd_products = _mm256_mul_epi32(_mm256_srli_epi64(x, 32), _mm256_srli_epi64(m, 32));
        let odd = _mm256_slli_epi64(_mm256_add_epi64(odd_products, nudge), 1);
        let high = _mm256_blend_epi32(even, odd, 0b1010_1010);
        let remainder = _mm256_and_si256(high, lanes(&q.mask));
        let threshold = _mm256_sub_epi32(lanes(&q.half), _mm256_srai_epi32(high, 31));
        let up = _mm256_cmpgt_epi32(remainder, threshold);
        let v = _mm256_sub_epi32(_mm256_srav_epi32(high, lanes(&q.right)), up);
        let v = _mm256_min_epi32(
            _mm256_max_epi32(v, _mm256_set1_epi32(q.lo)),
            _mm256_set1_epi32(q.hi),
        );
        _mm256_add_epi32(v, _mm256_set1_epi32(q.zp))
    }
}

/// The low byte of eight lanes already in `−128..=127`, in lane order.
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn bytes8(v: __m256i) -> __m128i {
    let p16 = _mm256_packs_epi32(v, v);
    let p8 = _mm256_packs_epi16(p16, p16);
    _mm_unpacklo_epi32(
        _mm256_castsi256_si128(p8),
        _mm256_extracti128_si256::<1>(p8),
    )
}

/// `x − b` saturated to `i32`.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn saturating_sub(x: __m256i, b: __m256i) -> __m256i {
    let r = _mm256_sub_epi32(x, b);
    let overflow = _mm256_srai_epi32(
        _mm256_and_si256(_mm256_xor_si256(x, b), _mm256_xor_si256(x, r)),
        31,
    );
    let sat = _mm256_xor_si256(_mm256_srai_epi32(x, 31), _mm256_set1_epi32(i32::MAX));
    _mm256_blendv_epi8(r, sat, overflow)
}

/// Quantizes a frame (1 or 2 input channels) into the HWC input tensor `out`, exactly as
/// [`crate::Model::quantize_input`].
///
/// # Panics
/// If the CPU lacks AVX2, `plan.c` is not 1 or 2, or `out` is shorter than `frame · c`.
pub(crate) fn quantize_input(plan: &InputPlan, frame: &[i16], out: &mut [i8]) {
    assert!(available(), "AVX2 kernel on a CPU without AVX2");
    assert!(matches!(plan.c, 1 | 2) && out.len() >= frame.len() * plan.c);
    // SAFETY: AVX2 is present (checked above); the kernel reads `frame` and writes `out`
    // only through bounds-checked chunks whose sizes were checked above.
    unsafe { quantize_input_avx2(plan, frame, out) }
}

#[target_feature(enable = "avx2")]
unsafe fn quantize_input_avx2(plan: &InputPlan, frame: &[i16], out: &mut [i8]) {
    // SAFETY (every block below): AVX2 is enabled on this function; each load or store
    // goes through a chunk of exactly the accessed size.
    let chunks = frame.chunks_exact(16);
    let tail = chunks.remainder();
    let mut acc = _mm256_setzero_si256();
    let ones = _mm256_set1_epi16(1);
    for c in chunks {
        let v = unsafe { _mm256_loadu_si256(c.as_ptr().cast()) };
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(v, ones));
    }
    let mut parts = [0i32; 8];
    unsafe { _mm256_storeu_si256(parts.as_mut_ptr().cast(), acc) };
    // Wrapping, like the engine's `i32` sum in a release build (it cannot wrap for frames
    // of fewer than 65 536 readings).
    let sum = parts
        .iter()
        .chain(&[tail.iter().fold(0i32, |s, &x| s.wrapping_add(i32::from(x)))])
        .fold(0i32, |s, &x| s.wrapping_add(x));
    let mean = div_round(sum, frame.len() as i32);
    let mut bases = [0i32; 2];
    for (k, base) in bases.iter_mut().enumerate().take(plan.c) {
        *base = if plan.minus_mean[k] {
            plan.offset[k].saturating_add(mean)
        } else {
            plan.offset[k]
        };
    }
    let (b0, b1) = (_mm256_set1_epi32(bases[0]), _mm256_set1_epi32(bases[1]));
    let c = plan.c;
    let pixels = frame.chunks_exact(8);
    let done = frame.len() - pixels.remainder().len();
    for (x8, o) in pixels.zip(out.chunks_exact_mut(8 * c)) {
        let x = _mm256_cvtepi16_epi32(unsafe { _mm_loadu_si128(x8.as_ptr().cast()) });
        let q0 = unsafe { requant(saturating_sub(x, b0), &plan.rq[0]) };
        if c == 1 {
            unsafe { _mm_storel_epi64(o.as_mut_ptr().cast(), bytes8(q0)) };
        } else {
            let q1 = unsafe { requant(saturating_sub(x, b1), &plan.rq[1]) };
            let byte = _mm256_set1_epi32(0xff);
            let pairs = _mm256_or_si256(
                _mm256_and_si256(q0, byte),
                _mm256_slli_epi32(_mm256_and_si256(q1, byte), 8),
            );
            let packed = _mm256_permute4x64_epi64::<0b1000>(_mm256_packus_epi32(pairs, pairs));
            unsafe { _mm_storeu_si128(o.as_mut_ptr().cast(), _mm256_castsi256_si128(packed)) };
        }
    }
    for (p, &x) in frame.iter().enumerate().skip(done) {
        for k in 0..c {
            let v = plan.q[k]
                .apply(i32::from(x).saturating_sub(bases[k]))
                .saturating_add(plan.zp);
            out[p * c + k] = v.clamp(-128, 127) as i8;
        }
    }
}

/// Runs a prepared convolution (and its fused max pool) from the int8 tensor `src` into
/// `dst`, exactly as the portable engine.
///
/// # Panics
/// If the CPU lacks AVX2 or a buffer is smaller than the plan needs (`dst` needs room for
/// whole eight-channel blocks after the last pixel).
pub(crate) fn conv(plan: &mut ConvPlan, src: &[i8], dst: &mut [i8]) {
    assert!(available(), "AVX2 kernel on a CPU without AVX2");
    check_plan(plan, src, dst);
    // SAFETY: AVX2 is present; `check_plan` bounds every pointer the kernel forms.
    unsafe { conv_avx2(plan, src, dst) }
}

/// Asserts every bound the convolution kernels rely on.
pub(crate) fn check_plan(plan: &ConvPlan, src: &[i8], dst: &[i8]) {
    let (s, d, out) = (plan.s, plan.d, plan.out);
    assert!(src.len() >= s.len());
    assert!(plan.img.len() >= (s.h + 2 * plan.pad_h) * plan.row + 2);
    assert!(plan.row == (s.w + 2 * plan.pad_w) * s.c && 2 * plan.np <= plan.row + 1);
    let pixels = out.h * out.w;
    let reach = plan
        .groups
        .iter()
        .map(|g| g.first + LANES * g.nb)
        .max()
        .unwrap_or(0);
    assert!(pixels == 0 || dst.len() >= (pixels - 1) * out.c + reach);
    for g in &plan.groups {
        assert!(g.w.len() == plan.kh * plan.np * g.nb * 2 * LANES);
        assert!(g.bias.len() == g.nb && g.rq.len() == g.nb);
        assert!((1..=4).contains(&g.nb));
    }
    // The windows stay inside the padded image: the parser checked the output shapes.
    let (kh, sh, sw) = (plan.kh, plan.sh, plan.sw);
    assert!(d.h == 0 || (d.h - 1) * sh + kh <= s.h + 2 * plan.pad_h);
    assert!(d.w == 0 || ((d.w - 1) * sw) * s.c + 2 * plan.np <= plan.row + 1);
    if let Some(pg) = plan.pool {
        assert!(out.h == 0 || (out.h - 1) * usize::from(pg.stride_h) + usize::from(pg.kh) <= d.h);
        assert!(out.w == 0 || (out.w - 1) * usize::from(pg.stride_w) + usize::from(pg.kw) <= d.w);
    } else {
        assert!(out == d);
    }
}

/// Writes the padded image's interior: the input minus its zero point, as `i16`.
///
/// # Safety
/// AVX2 present; `src` holds the plan's input tensor (`check_plan`).
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn fill_image(plan: &mut ConvPlan, src: &[i8]) {
    let s = plan.s;
    let zp16 = _mm256_set1_epi16(plan.in_zp as i16);
    let width = s.w * s.c;
    for (y, srow) in src.chunks_exact(width).take(s.h).enumerate() {
        let at = (y + plan.pad_h) * plan.row + plan.pad_w * s.c;
        let drow = &mut plan.img[at..at + width];
        let mut src16 = srow.chunks_exact(16);
        let mut dst16 = drow.chunks_exact_mut(16);
        for (i, o) in (&mut src16).zip(&mut dst16) {
            // SAFETY: both chunks are exactly 16 elements.
            unsafe {
                let v = _mm256_cvtepi8_epi16(_mm_loadu_si128(i.as_ptr().cast()));
                _mm256_storeu_si256(o.as_mut_ptr().cast(), _mm256_sub_epi16(v, zp16));
            }
        }
        for (o, &x) in dst16.into_remainder().iter_mut().zip(src16.remainder()) {
            *o = (i32::from(x) - plan.in_zp) as i16;
        }
    }
}

#[target_feature(enable = "avx2")]
unsafe fn conv_avx2(plan: &mut ConvPlan, src: &[i8], dst: &mut [i8]) {
    // SAFETY: AVX2 is enabled here.
    unsafe { fill_image(plan, src) };
    let plan = &*plan;
    // Whole blocks are stored, so the last (partial) group of a pixel spills up to seven
    // bytes into the next pixel's first channels: run it first, the full groups then
    // overwrite those bytes, and within a group the next pixel overwrites its predecessor's.
    for g in plan.groups.iter().rev() {
        // SAFETY: AVX2 is enabled here; `check_plan` asserted the bounds these kernels rely on.
        unsafe {
            match g.nb {
                1 => conv_group::<1>(plan, g, dst),
                2 => conv_group::<2>(plan, g, dst),
                3 => conv_group::<3>(plan, g, dst),
                _ => conv_group::<4>(plan, g, dst),
            }
        }
    }
}

/// The `NB · 8` channels of group `g` for every output pixel.
#[target_feature(enable = "avx2")]
unsafe fn conv_group<const NB: usize>(plan: &ConvPlan, g: &Group, dst: &mut [i8]) {
    let out = plan.out;
    let (pkh, pkw, psh, psw) = match plan.pool {
        Some(p) => (
            usize::from(p.kh),
            usize::from(p.kw),
            usize::from(p.stride_h),
            usize::from(p.stride_w),
        ),
        None => (1, 1, 1, 1),
    };
    let dst = dst.as_mut_ptr();
    for o in 0..out.h * out.w {
        let (y0, x0) = ((o / out.w) * psh, (o % out.w) * psw);
        // SAFETY: the window's pixels are inside the convolution output (asserted by `conv`).
        let mut best = unsafe { pixel::<NB>(plan, g, y0, x0) };
        for k in 1..pkh * pkw {
            // SAFETY: as above.
            let acc = unsafe { pixel::<NB>(plan, g, y0 + k / pkw, x0 + k % pkw) };
            for (best, acc) in best.iter_mut().zip(acc) {
                *best = _mm256_max_epi32(*best, acc);
            }
        }
        for (b, (&acc, rq)) in best.iter().zip(&g.rq).enumerate() {
            // SAFETY: `conv` asserted room for whole blocks after the last pixel.
            unsafe {
                let v = bytes8(requant(acc, rq));
                _mm_storel_epi64(dst.add(o * out.c + g.first + 8 * b).cast(), v);
            }
        }
    }
}

/// Accumulators (bias included) of convolution output pixel `(oy, ox)` for group `g`.
///
/// # Safety
/// AVX2 present; `(oy, ox)` inside the convolution output of `plan`, whose image and
/// weights have the sizes `conv` asserts.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn pixel<const NB: usize>(
    plan: &ConvPlan,
    g: &Group,
    oy: usize,
    ox: usize,
) -> [__m256i; NB] {
    let mut acc = [_mm256_setzero_si256(); NB];
    for (a, bias) in acc.iter_mut().zip(&g.bias) {
        // SAFETY: AVX2 enabled; reads the 8 lanes of `bias`.
        *a = unsafe { lanes(bias) };
    }
    // SAFETY: the window's top-left corner and every tap pair read below lie inside `img`
    // (the last odd pair may read one value past the row, which exists: the next row or
    // the two values of slack), and the weights hold `kh · np · NB` vectors.
    unsafe {
        let base = plan
            .img
            .as_ptr()
            .add(oy * plan.sh * plan.row + ox * plan.sw * plan.s.c);
        let mut w = g.w.as_ptr().cast::<__m256i>();
        for ky in 0..plan.kh {
            let r = base.add(ky * plan.row);
            for p in 0..plan.np {
                let v = _mm256_set1_epi32(r.add(2 * p).cast::<i32>().read_unaligned());
                for (b, a) in acc.iter_mut().enumerate() {
                    let wv = _mm256_loadu_si256(w.add(b));
                    *a = _mm256_add_epi32(*a, _mm256_madd_epi16(v, wv));
                }
                w = w.add(NB);
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::{QuantMultiplier, MAX_SHIFT, MIN_SHIFT};

    /// A small deterministic generator (xorshift64*), so the test needs no crates.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn i32(&mut self) -> i32 {
            self.next() as i32
        }
    }

    /// Lane by lane, the vector requantization equals `fixed.rs` plus the engine's zero
    /// point and clamp, for every shift, edge and random mantissas, edge and random
    /// accumulators (including the ones that saturate the left shift).
    #[test]
    fn requant_matches_fixed_point_lane_by_lane() {
        if !available() {
            eprintln!("SKIPPED: this CPU has no AVX2");
            return;
        }
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        let edge_x = [
            0,
            1,
            -1,
            2,
            -2,
            i32::MAX,
            i32::MIN,
            i32::MAX - 1,
            i32::MIN + 1,
            1 << 20,
            -(1 << 20),
            (1 << 30) - 1,
            -(1 << 30),
        ];
        let edge_m = [0, 1 << 30, (1 << 30) + 1, i32::MAX, i32::MAX - 1];
        let mut checked = 0u32;
        for shift in MIN_SHIFT..=MAX_SHIFT {
            for round in 0..64 {
                let mut qs = [QuantMultiplier::ZERO; 8];
                for (lane, q) in qs.iter_mut().enumerate() {
                    let multiplier = if round < 8 {
                        edge_m[(round + lane) % edge_m.len()]
                    } else {
                        (1 << 30) + (g.i32() & 0x3fff_ffff)
                    };
                    // Mixed shifts in one vector too: every other lane one step away.
                    let s = if lane % 2 == 1 && shift > MIN_SHIFT {
                        shift - 1
                    } else {
                        shift
                    };
                    *q = QuantMultiplier {
                        multiplier,
                        shift: s,
                    };
                }
                let zp = (g.i32() % 128).clamp(-128, 127);
                let floor = if round % 2 == 0 { -128 } else { zp.max(-128) };
                let rq = Requant8::new(|lane| Some(qs[lane]), zp, floor);
                let mut xs = [0i32; 8];
                for (lane, x) in xs.iter_mut().enumerate() {
                    *x = match round % 4 {
                        0 => edge_x[(round / 4 + lane) % edge_x.len()],
                        1 => g.i32() >> (g.next() % 31),
                        _ => g.i32(),
                    };
                }
                let mut out = [0i32; 8];
                // SAFETY: AVX2 checked above; `xs` and `out` are eight lanes each.
                unsafe {
                    let v = requant(lanes(&xs), &rq);
                    _mm256_storeu_si256(out.as_mut_ptr().cast(), v);
                }
                for lane in 0..8 {
                    let want = qs[lane]
                        .apply(xs[lane])
                        .saturating_add(zp)
                        .clamp(floor, 127);
                    assert_eq!(
                        out[lane], want,
                        "x {} multiplier {} shift {} zp {zp} floor {floor}",
                        xs[lane], qs[lane].multiplier, qs[lane].shift
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 30_000);
    }
}
