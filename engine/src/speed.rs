//! Prepayment and default speed conventions of the SIFMA Uniform Practices, chapter SF
//! "Standard Formulas": SMM/CPR/PSA (SF-5, SF-6) and MDR/CDR/SDA (SF-20, SF-21).
//!
//! All rates here are fractions (0.06 is 6%); the `_pct` arguments are percentages.
//! Powers go through `libm` so every platform computes the same bits.

/// Single monthly mortality from an annual conditional rate: `1 - (1 - CPR)^(1/12)` (SF-5).
/// The same conversion turns an annual default rate (CDR) into a monthly one (MDR, SF-21 g).
pub fn monthly_from_annual(annual: f64) -> f64 {
    if annual >= 1.0 {
        1.0
    } else {
        1.0 - libm::pow(1.0 - annual, 1.0 / 12.0)
    }
}

/// The annual rate equivalent to a monthly one: `1 - (1 - SMM)^12`.
pub fn annual_from_monthly(monthly: f64) -> f64 {
    1.0 - libm::pow(1.0 - monthly, 12.0)
}

/// CPR at `psa_pct` percent of the PSA benchmark in age month `month` (SF-6): the
/// benchmark is 0.2% CPR per month of age up to 6% at month 30 and after. `month` is the
/// month of age being accrued: 1 for a new loan's first payment, 4 for a loan of age 3.
/// PSA scales CPR, never SMM; the result is capped at 100%.
pub fn psa_cpr(psa_pct: f64, month: u32) -> f64 {
    let ramp_month = month.clamp(1, 30) as f64;
    (psa_pct / 100.0 * 0.002 * ramp_month).min(1.0)
}

/// Annual default rate at `sda_pct` percent of the Standard Default Assumption in age
/// month `month` (SF-20 C.4): 0.02% per month to 0.60% at month 30, flat to month 60,
/// down 0.0095% a month to 0.03% at month 120, flat after. Capped at 100%.
/// The "no defaults in the last n months" rule belongs to the pipeline, not the curve.
pub fn sda_cdr(sda_pct: f64, month: u32) -> f64 {
    let m = month.max(1) as f64;
    let benchmark = if m <= 30.0 {
        0.0002 * m
    } else if m <= 60.0 {
        0.006
    } else if m <= 120.0 {
        0.006 - 0.000095 * (m - 60.0)
    } else {
        0.0003
    };
    (sda_pct / 100.0 * benchmark).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn psa_ramp_matches_sf6() {
        assert!(close(psa_cpr(100.0, 1), 0.002, 1e-15));
        assert!(close(psa_cpr(100.0, 30), 0.06, 1e-15));
        assert!(close(psa_cpr(100.0, 200), 0.06, 1e-15));
        assert!(close(psa_cpr(150.0, 4), 0.012, 1e-15));
        assert_eq!(psa_cpr(5000.0, 30), 1.0);
    }

    #[test]
    fn smm_conversion_matches_sifma_examples() {
        // SF-9 conversion table: 6% CPR is 0.5143% SMM; 150% PSA in month 1 (Cash Flow B) is
        // an SMM of 0.000250 as printed.
        assert!(close(monthly_from_annual(0.06), 0.005_143_01, 5e-9));
        assert!(close(
            monthly_from_annual(psa_cpr(150.0, 1)),
            0.000_250,
            5e-7
        ));
        assert!(close(
            annual_from_monthly(monthly_from_annual(0.123)),
            0.123,
            1e-14
        ));
        assert_eq!(monthly_from_annual(1.0), 1.0);
    }

    #[test]
    fn sda_curve_matches_printed_annual_default_rates() {
        // Cash Flow B's "Annual Default Rate" column, SF-31 .. SF-38.
        assert!(close(sda_cdr(100.0, 1), 0.0002, 1e-15));
        assert!(close(sda_cdr(100.0, 30), 0.006, 1e-15));
        assert!(close(sda_cdr(100.0, 45), 0.006, 1e-15));
        assert!(close(sda_cdr(100.0, 61), 0.005_905, 1e-12));
        assert!(close(sda_cdr(100.0, 120), 0.0003, 1e-12));
        assert!(close(sda_cdr(100.0, 300), 0.0003, 1e-15));
        assert!(close(sda_cdr(200.0, 30), 0.012, 1e-15));
    }
}
