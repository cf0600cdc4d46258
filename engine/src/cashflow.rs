//! Monthly cash-flow tables: the SIFMA default-cash-flow columns summed exactly over
//! loans, per projection month, for one scenario.

use crate::money::Money;

/// The amounts the kernel sums per loan and month. Each is rounded once per loan-month to
/// the [`Money`] grid; the other output columns are exact differences of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Summed {
    PerformingBalance = 0,
    NewDefault,
    ForeclosureBalance,
    ExpectedAmortization,
    VoluntaryPrepayment,
    DefaultedAmortization,
    ActualAmortization,
    ExpectedInterest,
    LostInterest,
    NetInterest,
    LiquidatedBalance,
    PrincipalLoss,
    InterestLoss,
    ForeclosureCost,
    MortgageInsurance,
    RecoupedInterest,
}

/// How many amounts are summed per loan-month.
pub const SUMMED_COUNT: usize = 16;

/// One month of a projected cash-flow table. Names follow the SIFMA chapter SF default
/// cash-flow table, plus the pass-through (net) interest and the servicing fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CashflowRow {
    /// 1-based projection month.
    pub month: u32,
    /// Balance of loans still paying at the end of the month.
    pub performing_balance: Money,
    /// Balance entering foreclosure this month (MDR x last month's performing balance).
    pub new_default: Money,
    /// Balance in the foreclosure pipeline at month end, excluding this month's liquidations.
    pub foreclosure_balance: Money,
    /// Scheduled principal due on performing and foreclosed (not yet liquidated) loans.
    pub expected_amortization: Money,
    /// Voluntary prepayments (curtailments and payoffs).
    pub voluntary_prepayment: Money,
    /// Scheduled principal of defaulted loans (advanced by the servicer when advancing).
    pub defaulted_amortization: Money,
    /// Scheduled principal actually paid by borrowers.
    pub actual_amortization: Money,
    /// Gross interest due on performing and foreclosed loans.
    pub expected_interest: Money,
    /// Gross interest not paid by borrowers (new defaults and loans in foreclosure).
    pub lost_interest: Money,
    /// expected_interest - lost_interest.
    pub actual_interest: Money,
    /// Interest passed through to investors at the net rate (note - servicing): on the
    /// expected balance when P&I are advanced, on the actually paying balance otherwise.
    pub net_interest: Money,
    /// The servicing strip on the same balance as `net_interest`.
    pub servicing_fee: Money,
    /// liquidated_balance - principal_loss.
    pub principal_recovery: Money,
    /// min(severity x balance at default, liquidated_balance).
    pub principal_loss: Money,
    /// Balance of loans liquidated this month (SIFMA's "amortized default balance in
    /// recovery month").
    pub liquidated_balance: Money,
    /// Net-rate interest the loans liquidated this month did not pay from default to
    /// liquidation, on their unpaid balance.
    pub interest_loss: Money,
    /// Interest the servicer advanced on those loans (on their amortising balance) and
    /// recouped from the proceeds; 0 without advancing.
    pub recouped_interest: Money,
    /// Foreclosure and REO costs paid at liquidation.
    pub foreclosure_cost: Money,
    /// Mortgage insurance claims paid on the loans liquidated this month.
    pub mi_recovery: Money,
    /// principal_loss + interest_loss + foreclosure_cost - mi_recovery.
    pub credit_loss: Money,
}

impl CashflowRow {
    /// Principal plus interest an investor receives this month (scheduled and prepaid
    /// principal, recoveries, and the net interest), less the advanced interest recouped
    /// and the foreclosure costs paid from liquidation proceeds, plus mortgage insurance;
    /// before any discounting.
    pub fn investor_cash_flow(&self, advancing: bool) -> Money {
        let principal = if advancing {
            self.expected_amortization
        } else {
            self.actual_amortization
        };
        principal + self.voluntary_prepayment + self.principal_recovery + self.net_interest
            - self.recouped_interest
            - self.foreclosure_cost
            + self.mi_recovery
    }
}

/// Exact per-month totals of one scenario. Adding two tables is exact and commutative,
/// so tables from any split of the loans combine to the same bits.
///
/// Totals are `i64` [`Money`] units, half the memory of `i128`, and they cannot overflow
/// for a valid portfolio. Per loan and month, every summed amount is at most about 5.1
/// times the loan's balance at the run date:
/// - balances (performing, foreclosure, new default, liquidated, amortization,
///   prepayment, principal loss, foreclosure cost) never exceed it: balances only fall
///   (the schedule ratio is at most 1 for a note rate of at least 0) and every flow is a
///   part of a balance;
/// - a month's interest is at most the note rate (below 30%) / 12 of it;
/// - interest loss and recouped interest cover at most lag + 1 <= 121 months of the net
///   rate: 121 x 0.025 = 3.025 times it;
/// - mortgage insurance is at most the uncovered loss: 1 + 3.025 + 1 times it.
///
/// So a month total is at most 5.1 x [`crate::portfolio::MAX_PORTFOLIO_UPB_USD`]
/// (1e14 USD) = 5.1e18 units, below `i64::MAX` (9.22e18), plus half a unit of rounding
/// per loan. `engine/tests/it/properties.rs` projects a portfolio at that limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashflowTable {
    horizon_months: u32,
    advancing: bool,
    /// `horizon_months x SUMMED_COUNT`, month-major, in [`Money`] units.
    totals: Vec<i64>,
}

impl CashflowTable {
    pub fn new(horizon_months: u32, advancing: bool) -> CashflowTable {
        CashflowTable {
            horizon_months,
            advancing,
            totals: vec![0; horizon_months as usize * SUMMED_COUNT],
        }
    }

    /// Rebuilds a table from [`CashflowTable::units`] (for partial results stored by
    /// shards). Returns `None` when the length does not match the horizon.
    pub fn from_units(
        horizon_months: u32,
        advancing: bool,
        units: Vec<i64>,
    ) -> Option<CashflowTable> {
        (units.len() == horizon_months as usize * SUMMED_COUNT).then_some(CashflowTable {
            horizon_months,
            advancing,
            totals: units,
        })
    }

    /// The raw sums, month-major, [`Summed`] order within a month, in [`Money`] units.
    /// The table's first `months` months (all of it when it is no longer).
    pub fn truncated(&self, months: u32) -> CashflowTable {
        let months = months.min(self.horizon_months());
        CashflowTable::from_units(
            months,
            self.advancing(),
            self.units()[..months as usize * SUMMED_COUNT].to_vec(),
        )
        .expect("a prefix of a valid table")
    }

    pub fn units(&self) -> &[i64] {
        &self.totals
    }

    pub fn horizon_months(&self) -> u32 {
        self.horizon_months
    }

    pub fn advancing(&self) -> bool {
        self.advancing
    }

    /// Adds one month's chunk sums (indexed by [`Summed`]) to month `month` (1-based).
    pub(crate) fn add_month(&mut self, month: u32, sums: &[i64; SUMMED_COUNT]) {
        let base = (month as usize - 1) * SUMMED_COUNT;
        for (t, s) in self.totals[base..base + SUMMED_COUNT].iter_mut().zip(sums) {
            *t += *s;
        }
    }

    /// Adds another table of the same shape.
    ///
    /// # Panics
    /// When the horizons or advancing flags differ: that is a programming error.
    pub fn merge(&mut self, other: &CashflowTable) {
        assert_eq!(
            self.horizon_months, other.horizon_months,
            "horizon mismatch"
        );
        assert_eq!(self.advancing, other.advancing, "advancing mismatch");
        for (a, b) in self.totals.iter_mut().zip(&other.totals) {
            *a += *b;
        }
    }

    /// The raw summed amount of one column in one month (1-based).
    pub fn summed(&self, month: u32, column: Summed) -> Money {
        Money::from_units(i128::from(
            self.totals[(month as usize - 1) * SUMMED_COUNT + column as usize],
        ))
    }

    /// The full row of month `month` (1-based), derived columns included.
    pub fn row(&self, month: u32) -> CashflowRow {
        let g = |c| self.summed(month, c);
        let expected_interest = g(Summed::ExpectedInterest);
        let lost_interest = g(Summed::LostInterest);
        let actual_interest = expected_interest - lost_interest;
        let net_interest = g(Summed::NetInterest);
        let interest_base = if self.advancing {
            expected_interest
        } else {
            actual_interest
        };
        let liquidated_balance = g(Summed::LiquidatedBalance);
        let principal_loss = g(Summed::PrincipalLoss);
        let interest_loss = g(Summed::InterestLoss);
        let foreclosure_cost = g(Summed::ForeclosureCost);
        let mi_recovery = g(Summed::MortgageInsurance);
        CashflowRow {
            month,
            performing_balance: g(Summed::PerformingBalance),
            new_default: g(Summed::NewDefault),
            foreclosure_balance: g(Summed::ForeclosureBalance),
            expected_amortization: g(Summed::ExpectedAmortization),
            voluntary_prepayment: g(Summed::VoluntaryPrepayment),
            defaulted_amortization: g(Summed::DefaultedAmortization),
            actual_amortization: g(Summed::ActualAmortization),
            expected_interest,
            lost_interest,
            actual_interest,
            net_interest,
            servicing_fee: interest_base - net_interest,
            principal_recovery: liquidated_balance - principal_loss,
            principal_loss,
            liquidated_balance,
            interest_loss,
            recouped_interest: g(Summed::RecoupedInterest),
            foreclosure_cost,
            mi_recovery,
            credit_loss: principal_loss + interest_loss + foreclosure_cost - mi_recovery,
        }
    }

    /// All rows, month 1 first.
    pub fn rows(&self) -> impl Iterator<Item = CashflowRow> + '_ {
        (1..=self.horizon_months).map(|m| self.row(m))
    }

    /// Sum of one summed column over all months.
    pub fn column_total(&self, column: Summed) -> Money {
        (1..=self.horizon_months)
            .map(|m| self.summed(m, column))
            .fold(Money::ZERO, |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_and_rows_derive_columns() {
        let mut a = CashflowTable::new(2, true);
        let mut sums = [0i64; SUMMED_COUNT];
        sums[Summed::ExpectedInterest as usize] = 100;
        sums[Summed::LostInterest as usize] = 30;
        sums[Summed::NetInterest as usize] = 90;
        sums[Summed::LiquidatedBalance as usize] = 50;
        sums[Summed::PrincipalLoss as usize] = 10;
        a.add_month(2, &sums);
        let b = a.clone();
        a.merge(&b);
        let row = a.row(2);
        assert_eq!(row.actual_interest, Money::from_units(140));
        assert_eq!(row.servicing_fee, Money::from_units(20));
        assert_eq!(row.principal_recovery, Money::from_units(80));
        assert_eq!(
            a.row(1),
            CashflowRow {
                month: 1,
                ..Default::default()
            }
        );
    }
}
