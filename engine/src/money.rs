//! Exact money: fixed-point amounts in ten-thousandths of a dollar, so that sums do not
//! depend on the order in which loans, chunks, threads or shards are added up.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Units of [`Money`] per US dollar. Each loan's monthly amount is rounded to this grid
/// once, then all aggregation is integer addition, which is associative: any split of a
/// portfolio gives bit-identical totals. A hundredth of a cent per loan-month keeps the
/// rounding far below the cent even when summed over thousands of loans.
pub const UNITS_PER_USD: i64 = 10_000;

const SCALE: f64 = UNITS_PER_USD as f64;
/// 1.5 x 2^52: adding it to a float below 2^51 in magnitude leaves the value rounded to an
/// integer (ties to even, the IEEE default) in the low mantissa bits.
const MAGIC: f64 = 6_755_399_441_055_744.0;

/// Rounds `usd` to the fixed-point grid. Exact for |usd| below about 2.2e11, which the
/// portfolio's per-row balance limit guarantees for every kernel amount.
///
/// It uses the float "magic number" conversion rather than `as i64` because the latter
/// saturates, which stops the compiler from vectorising the kernel's reduction loops on
/// x86_64 baselines without a packed float-to-int64 instruction. Both are IEEE-exact, so
/// every machine produces the same integers.
#[inline(always)]
pub fn usd_to_units(usd: f64) -> i64 {
    ((usd * SCALE + MAGIC).to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64)
}

/// [`usd_to_units`] before its bias is taken off: the kernels add these up and subtract
/// [`rounding_bias_units`] once per column, which wrapping integer arithmetic makes
/// exactly the sum of the [`usd_to_units`] values.
#[inline(always)]
pub fn usd_to_biased_units(usd: f64) -> i64 {
    (usd * SCALE + MAGIC).to_bits() as i64
}

/// The bias of `count` [`usd_to_biased_units`] values.
#[inline(always)]
pub fn rounding_bias_units(count: usize) -> i64 {
    (MAGIC.to_bits() as i64).wrapping_mul(count as i64)
}

/// Rounds `usd` to the fixed-point grid for per-loan sums, converted once per
/// loan-scenario outside the kernel's loops: exact up to 2^53 units (about $9e11; a
/// loan's present value can be several times its balance, beyond [`usd_to_units`]'s
/// range), and the same integer as [`usd_to_units`] wherever that one is exact (both
/// round ties to even).
pub fn usd_to_units_wide(usd: f64) -> i128 {
    (usd * SCALE).round_ties_even() as i128
}

/// An exact amount of US dollars, stored as ten-thousandths of a dollar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i128);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_units(units: i128) -> Money {
        Money(units)
    }

    pub const fn units(self) -> i128 {
        self.0
    }

    /// Rounds a floating-point dollar amount onto the grid (for inputs and tests).
    pub fn from_usd(usd: f64) -> Money {
        Money((usd * SCALE).round_ties_even() as i128)
    }

    /// The amount as a float, for display and for statistics that are not sums.
    pub fn to_usd(self) -> f64 {
        self.0 as f64 / SCALE
    }

    /// Whole cents, rounded half to even: the value written to decimal(18,2) columns.
    pub fn to_cents(self) -> i128 {
        let per_cent = i128::from(UNITS_PER_USD / 100);
        let q = self.0.div_euclid(per_cent);
        let r = self.0.rem_euclid(per_cent);
        let twice = 2 * r;
        if twice > per_cent || (twice == per_cent && q % 2 != 0) {
            q + 1
        } else {
            q
        }
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0 + rhs.0)
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 += rhs.0;
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0 - rhs.0)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cents = self.to_cents();
        let sign = if cents < 0 { "-" } else { "" };
        let abs = cents.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_like_round_ties_even() {
        for &x in &[
            0.0,
            1.0,
            -1.0,
            0.00005,
            0.00015,
            123_456.789_012_34,
            1.0e11,
            -2.5e-4,
        ] {
            assert_eq!(
                usd_to_units(x),
                (x * SCALE).round_ties_even() as i64,
                "x = {x}"
            );
        }
    }

    #[test]
    fn cents_round_half_even() {
        assert_eq!(Money::from_units(12_350).to_cents(), 124);
        assert_eq!(Money::from_units(12_250).to_cents(), 122);
        assert_eq!(Money::from_units(12_251).to_cents(), 123);
        assert_eq!(Money::from_units(-12_350).to_cents(), -124);
        assert_eq!(Money::from_units(-12_251).to_cents(), -123);
        assert_eq!(Money::from_usd(-3.456).to_string(), "-3.46");
        assert_eq!(Money::from_usd(1234.5).to_string(), "1234.50");
    }
}
