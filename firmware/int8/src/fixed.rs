//! Fixed-point requantization: a real multiplier `M ∈ [0.5, 1) · 2^shift` held as a Q31 integer.
//!
//! `multiply_by_quantized_multiplier(x, m)` computes `round(x · M)` with the two rounding steps
//! of gemmlowp (a saturating rounding doubling high multiply, then a rounding right shift), so
//! every platform gets the same bits.

/// A real scale factor as a Q31 multiplier and a power-of-two shift: `real ≈ multiplier / 2^31 · 2^shift`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct QuantMultiplier {
    /// Q31 mantissa, 0 or in `[2^30, 2^31)`.
    pub multiplier: i32,
    /// Power of two, in `MIN_SHIFT..=MAX_SHIFT` (positive: left shift).
    pub shift: i8,
}

/// Smallest allowed shift (a right shift by 31).
pub const MIN_SHIFT: i8 = -31;
/// Largest allowed shift (a left shift by 30).
pub const MAX_SHIFT: i8 = 30;

impl QuantMultiplier {
    /// The multiplier that maps everything to zero.
    pub const ZERO: Self = Self {
        multiplier: 0,
        shift: 0,
    };

    /// Whether the mantissa and shift are in the ranges the engine relies on.
    pub fn is_valid(self) -> bool {
        let normal = self.multiplier == 0 || self.multiplier >= (1 << 30);
        normal && (MIN_SHIFT..=MAX_SHIFT).contains(&self.shift)
    }

    /// Applies the multiplier: `round(x · real)`.
    #[inline]
    pub fn apply(self, x: i32) -> i32 {
        multiply_by_quantized_multiplier(x, self.multiplier, self.shift)
    }
}

/// `round(a · b / 2^31)` with gemmlowp's nudge (ties go toward +∞), saturating the one
/// overflowing case (`i32::MIN · i32::MIN`).
#[inline]
pub fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Integer division truncates toward zero, as in C; the result always fits in i32.
    ((ab + nudge) / (1i64 << 31)) as i32
}

/// `round(x / 2^exponent)`, rounding half away from zero; `exponent` in `0..=31`.
#[inline]
pub fn rounding_divide_by_pot(x: i32, exponent: u32) -> i32 {
    let exponent = exponent.min(31);
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// `round(x · multiplier / 2^31 · 2^shift)` the gemmlowp way (left shift first, saturating).
#[inline]
pub fn multiply_by_quantized_multiplier(x: i32, multiplier: i32, shift: i8) -> i32 {
    let left = if shift > 0 {
        u32::from(shift.unsigned_abs())
    } else {
        0
    };
    let right = if shift < 0 {
        u32::from(shift.unsigned_abs())
    } else {
        0
    };
    let shifted = x.saturating_mul(1i32 << left.min(30));
    rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(shifted, multiplier),
        right,
    )
}

/// Rounds `num / den` half away from zero (`den > 0`).
#[inline]
pub fn div_round(num: i32, den: i32) -> i32 {
    let half = den / 2;
    if num >= 0 {
        (num + half) / den
    } else {
        (num - half) / den
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact value with one rounding, in i128, for comparison.
    fn exact(x: i32, m: i32, shift: i8) -> f64 {
        (f64::from(x) * f64::from(m) / 2f64.powi(31)) * 2f64.powi(i32::from(shift))
    }

    #[test]
    fn high_mul_rounds_to_nearest_with_gemmlowp_ties() {
        // 3 · 2^30 / 2^31 = 1.5 → 2 and −1.5 → −1 (ties toward +∞, as gemmlowp's nudge does).
        assert_eq!(saturating_rounding_doubling_high_mul(3, 1 << 30), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-3, 1 << 30), -1);
        assert_eq!(saturating_rounding_doubling_high_mul(1, 1 << 30), 1);
        assert_eq!(saturating_rounding_doubling_high_mul(-1, 1 << 30), 0);
        // Non-ties round to nearest: 5 · 3·2^28 / 2^31 = 1.875 → 2, −1.875 → −2.
        assert_eq!(saturating_rounding_doubling_high_mul(5, 3 << 28), 2);
        assert_eq!(saturating_rounding_doubling_high_mul(-5, 3 << 28), -2);
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MIN, i32::MIN),
            i32::MAX
        );
        assert_eq!(
            saturating_rounding_doubling_high_mul(i32::MAX, i32::MAX),
            i32::MAX - 1
        );
    }

    #[test]
    fn divide_by_pot_rounds_half_away_from_zero() {
        assert_eq!(rounding_divide_by_pot(5, 1), 3);
        assert_eq!(rounding_divide_by_pot(-5, 1), -3);
        assert_eq!(rounding_divide_by_pot(4, 1), 2);
        assert_eq!(rounding_divide_by_pot(-4, 1), -2);
        assert_eq!(rounding_divide_by_pot(7, 2), 2);
        assert_eq!(rounding_divide_by_pot(-7, 2), -2);
        assert_eq!(rounding_divide_by_pot(6, 2), 2);
        assert_eq!(rounding_divide_by_pot(-6, 2), -2);
        assert_eq!(rounding_divide_by_pot(123, 0), 123);
        assert_eq!(rounding_divide_by_pot(i32::MIN, 31), -1);
    }

    #[test]
    fn quantized_multiplier_is_within_one_of_the_exact_product() {
        // A deterministic LCG sweep over inputs, mantissas and shifts.
        let mut s: u64 = 0x1234_5678_9abc_def0;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) as u32
        };
        for _ in 0..20_000 {
            let x = (next() as i32) >> (next() % 24);
            let m = (1i32 << 30) | (next() as i32 & ((1 << 30) - 1));
            let shift = -((next() % 20) as i8);
            let got = multiply_by_quantized_multiplier(x, m, shift);
            let want = exact(x, m, shift);
            assert!(
                (f64::from(got) - want).abs() <= 1.0,
                "x={x} m={m} shift={shift}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn left_shift_saturates_instead_of_overflowing() {
        assert_eq!(
            multiply_by_quantized_multiplier(i32::MAX, i32::MAX, 4),
            i32::MAX - 1
        );
        assert_eq!(
            multiply_by_quantized_multiplier(i32::MIN, 1 << 30, 4),
            i32::MIN / 2
        );
    }

    #[test]
    fn div_round_is_symmetric() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(div_round(-4, 3), -1);
        assert_eq!(div_round(0, 7), 0);
    }

    #[test]
    fn validity_rejects_denormal_mantissas_and_wild_shifts() {
        assert!(!QuantMultiplier {
            multiplier: 1 << 29,
            shift: 0
        }
        .is_valid());
        assert!(!QuantMultiplier {
            multiplier: 1 << 30,
            shift: 31
        }
        .is_valid());
        assert!(!QuantMultiplier {
            multiplier: 1 << 30,
            shift: -32
        }
        .is_valid());
        assert!(QuantMultiplier {
            multiplier: i32::MAX,
            shift: -31
        }
        .is_valid());
        assert!(QuantMultiplier::ZERO.is_valid());
    }
}
