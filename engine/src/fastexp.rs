//! A portable, vectorisable `exp` for the kernel's hot loops: range reduction to
//! |r| <= ln2/2 and a degree-13 Taylor polynomial, in plain IEEE adds and multiplies, so
//! it inlines into SIMD loops and gives the same bits on every machine and instruction set
//! (no libm call, no fused multiply-add, no branches).

const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// ln 2 split in a part with trailing zero bits (exact when multiplied by a small integer)
/// and the remainder (Cody and Waite).
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
/// 1.5 x 2^52: adding it rounds a float of magnitude below 2^51 to an integer.
const ROUND: f64 = 6_755_399_441_055_744.0;

/// Range reduction shared by both variants: x = k ln2 + r with |r| <= ln2/2, returning
/// r and 2^k (built from its exponent bits; k is in [-1022, 1023] after the clamp).
// `f64::clamp` asserts its bounds, and that panic path stops loop vectorisation.
#[allow(clippy::manual_clamp)]
#[inline(always)]
fn reduce(x: f64) -> (f64, f64) {
    let x = x.max(-708.0).min(709.0);
    let k = (x * LOG2_E + ROUND) - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let k_int = ((k + ROUND).to_bits() as i64).wrapping_sub(ROUND.to_bits() as i64);
    (r, f64::from_bits(((k_int + 1023) as u64) << 52))
}

/// Horner evaluation of sum r^n / n! for n = 0..=DEGREE.
#[inline(always)]
fn taylor<const DEGREE: usize>(r: f64) -> f64 {
    // 1/n! for n = 0..=13, exact enough as f64 literals.
    const INV_FACTORIAL: [f64; 14] = [
        1.0,
        1.0,
        0.5,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let mut p = INV_FACTORIAL[DEGREE];
    let mut n = DEGREE;
    while n > 0 {
        n -= 1;
        p = p * r + INV_FACTORIAL[n];
    }
    p
}

/// e^x with a relative error below 5e-16 for x in [-708, 709]; inputs outside are clamped
/// (so the result is never infinite or subnormal). Degree 13: |r| <= 0.347 leaves a
/// truncation error below 4e-18.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    let (r, scale) = reduce(x);
    taylor::<13>(r) * scale
}

/// e^x to about 3e-13 relative error, for model rates (S-curves, hazards) where full
/// double precision buys nothing: the same reduction with a degree-10 polynomial, about
/// a fifth cheaper than [`exp`]. Same portability guarantees.
#[inline(always)]
pub fn exp_rate(x: f64) -> f64 {
    let (r, scale) = reduce(x);
    taylor::<10>(r) * scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_libm_to_a_few_ulps() {
        let mut worst = 0f64;
        let mut x = -700.0;
        while x < 700.0 {
            let want = libm::exp(x);
            let rel = ((exp(x) - want) / want).abs();
            worst = worst.max(rel);
            x += 0.137;
        }
        for &x in &[0.0, 1e-12, -1e-12, 0.5, -0.5, 0.3465, 1.0, -37.5, 88.0] {
            let want = libm::exp(x);
            worst = worst.max(((exp(x) - want) / want).abs());
        }
        assert!(worst < 5e-16, "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn rate_variant_is_accurate_to_3e_13() {
        let mut worst = 0f64;
        let mut x = -60.0;
        while x < 60.0 {
            let want = libm::exp(x);
            worst = worst.max(((exp_rate(x) - want) / want).abs());
            x += 0.0137;
        }
        assert!(worst < 3e-13, "worst relative error {worst:e}");
    }

    #[test]
    fn clamps_instead_of_overflowing() {
        assert!(exp(1e6).is_finite());
        assert!(exp(-1e6) > 0.0);
        assert_eq!(exp(-1e6), exp(-708.0));
    }
}
