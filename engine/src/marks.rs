//! Marks: each property's value at the run date, from the loan's current LTV, a house-price
//! history since origination, or the origination value, and how many loans each way.

use std::collections::{BTreeMap, HashMap};

use crate::kernel::annuity_factor;
use crate::portfolio::{Portfolio, YearMonth};

/// How much older than the month asked an index may be: a series that stopped earlier
/// no longer describes the month, and the loan falls back to the next way of marking.
pub const MAX_STALE_MONTHS: i32 = 6;

/// A house-price index history: a national series, per-state series, or both. Indices
/// are levels (any base); only ratios are used.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HpiHistory {
    national: BTreeMap<YearMonth, f64>,
    by_state: HashMap<[u8; 2], BTreeMap<YearMonth, f64>>,
}

/// Why a history row was rejected; the file reader adds the file and row.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistoryError {
    #[error("index {0} must be a positive number")]
    Index(f64),
    #[error("{month} appears twice for {region}")]
    Duplicate { month: YearMonth, region: String },
}

impl HpiHistory {
    /// Adds one observation; `state` is `None` for the national series.
    pub fn insert(
        &mut self,
        month: YearMonth,
        state: Option<[u8; 2]>,
        index: f64,
    ) -> Result<(), HistoryError> {
        if !(index.is_finite() && index > 0.0) {
            return Err(HistoryError::Index(index));
        }
        let series = match state {
            None => &mut self.national,
            Some(s) => self.by_state.entry(s).or_default(),
        };
        if series.insert(month, index).is_some() {
            return Err(HistoryError::Duplicate {
                month,
                region: state.map_or("the national series".into(), |s| {
                    String::from_utf8_lossy(&s).into_owned()
                }),
            });
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.national.is_empty() && self.by_state.is_empty()
    }

    /// House-price growth from `from` to `to` in the loan's state, else nationally. Each
    /// end uses the latest index at or before its month, at most [`MAX_STALE_MONTHS`]
    /// older (indices are published with a lag, so the run date's own month is often not
    /// out yet); `None` when a series does not cover both ends that closely.
    pub fn growth(&self, state: Option<[u8; 2]>, from: YearMonth, to: YearMonth) -> Option<f64> {
        let ratio = |series: &BTreeMap<YearMonth, f64>| {
            let at = |m: YearMonth| {
                series
                    .range(m.plus_months(-MAX_STALE_MONTHS)..=m)
                    .next_back()
                    .map(|(_, v)| *v)
            };
            Some(at(to)? / at(from)?)
        };
        state
            .and_then(|s| self.by_state.get(&s))
            .and_then(ratio)
            .or_else(|| ratio(&self.national))
    }
}

/// How a loan's property was valued at the run date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum MarkMethod {
    /// From the portfolio's `current_ltv_pct`.
    CurrentLtv = 1,
    /// Origination value grown by the house-price history from origination to the run date.
    History = 2,
    /// The origination value, not grown.
    Origination = 3,
}

impl MarkMethod {
    pub fn name(self) -> &'static str {
        match self {
            MarkMethod::CurrentLtv => "current_ltv",
            MarkMethod::History => "history",
            MarkMethod::Origination => "origination",
        }
    }
    pub fn from_code(code: u8) -> Option<MarkMethod> {
        match code {
            1 => Some(MarkMethod::CurrentLtv),
            2 => Some(MarkMethod::History),
            3 => Some(MarkMethod::Origination),
            _ => None,
        }
    }
}

/// Each loan's property value at the run date and how it was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Marks {
    pub value_usd: Vec<f64>,
    pub method: Vec<MarkMethod>,
}

/// The balance a loan was originated with: `orig_upb` when given, else today's balance
/// carried back along its own schedule, `current x a(term) / a(remaining)` (the scheduled
/// balance factor inverted; prepayments in the past are unknown and ignored).
pub fn origination_balance(portfolio: &Portfolio, i: usize) -> f64 {
    portfolio.orig_upb()[i].unwrap_or_else(|| {
        let c = portfolio.note_rate_pct()[i] / 1200.0;
        let term = portfolio.orig_term_months()[i];
        let remaining = portfolio.remaining_term_months(i);
        portfolio.current_upb()[i] * annuity_factor(c, term) / annuity_factor(c, remaining)
    })
}

/// The property value at origination: origination balance / original LTV, with
/// `missing_ltv_pct` where the loan has none.
pub fn origination_value(portfolio: &Portfolio, i: usize, missing_ltv_pct: f64) -> f64 {
    let ltv_pct = portfolio.orig_ltv_pct()[i].unwrap_or(missing_ltv_pct);
    origination_balance(portfolio, i) / (ltv_pct / 100.0)
}

/// Values every property at `as_of`, in this order: `current_ltv_pct` (value = current
/// balance / current LTV); else the origination value grown by `history` from the
/// origination month (`orig_date`, or `as_of` less `loan_age_months`) to `as_of`; else the
/// origination value.
pub fn mark(
    portfolio: &Portfolio,
    history: Option<&HpiHistory>,
    as_of: YearMonth,
    missing_ltv_pct: f64,
) -> Marks {
    let n = portfolio.len();
    let mut marks = Marks {
        value_usd: Vec::with_capacity(n),
        method: Vec::with_capacity(n),
    };
    for i in 0..n {
        let (value, method) = if let Some(ltv) = portfolio.current_ltv_pct()[i] {
            (
                portfolio.current_upb()[i] / (ltv / 100.0),
                MarkMethod::CurrentLtv,
            )
        } else {
            let origination = origination_value(portfolio, i, missing_ltv_pct);
            let orig_month = portfolio.orig_date()[i]
                .unwrap_or_else(|| as_of.plus_months(-(portfolio.loan_age_months()[i] as i32)));
            match history
                .filter(|_| orig_month <= as_of)
                .and_then(|h| h.growth(portfolio.state()[i], orig_month, as_of))
            {
                Some(growth) => (origination * growth, MarkMethod::History),
                None => (origination, MarkMethod::Origination),
            }
        };
        marks.value_usd.push(value);
        marks.method.push(method);
    }
    marks
}

/// Loans marked each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct MarkCounts {
    pub current_ltv: u64,
    pub history: u64,
    pub origination: u64,
}

impl MarkCounts {
    pub fn add(&mut self, method: MarkMethod) {
        match method {
            MarkMethod::CurrentLtv => self.current_ltv += 1,
            MarkMethod::History => self.history += 1,
            MarkMethod::Origination => self.origination += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::portfolio::{LoanRecord, ProblemSink};

    fn ym(text: &str) -> YearMonth {
        YearMonth::parse(text).expect("month")
    }

    fn loan(id: &str) -> LoanRecord {
        LoanRecord {
            loan_id: id.into(),
            current_upb: 200_000.0,
            note_rate_pct: 6.0,
            orig_term_months: 360,
            loan_age_months: 120,
            orig_ltv_pct: Some(80.0),
            state: Some("CA".into()),
            ..Default::default()
        }
    }

    #[test]
    fn marks_follow_the_documented_order() {
        let mut with_ltv = loan("ltv");
        with_ltv.current_ltv_pct = Some(50.0);
        let mut dated = loan("dated");
        dated.orig_date = Some("2016-06".into());
        dated.orig_upb = Some(250_000.0);
        let mut undated = loan("undated");
        undated.state = Some("TX".into());
        let mut early = loan("early");
        early.orig_date = Some("1990-01".into());
        early.orig_upb = Some(250_000.0);
        let p = Portfolio::from_records(
            vec![with_ltv, dated, undated, early],
            ProblemSink::default(),
        )
        .expect("valid");
        let mut h = HpiHistory::default();
        h.insert(ym("2016-06"), Some(*b"CA"), 200.0).expect("valid");
        h.insert(ym("2026-09"), Some(*b"CA"), 300.0).expect("valid");
        h.insert(ym("2016-11"), None, 100.0).expect("valid");
        h.insert(ym("2026-10"), None, 150.0).expect("valid");
        let marks = mark(&p, Some(&h), ym("2026-11"), 80.0);
        assert_eq!(
            marks.method,
            vec![
                MarkMethod::CurrentLtv,
                MarkMethod::History,
                MarkMethod::History,
                MarkMethod::Origination
            ]
        );
        assert_eq!(marks.value_usd[0], 400_000.0);
        // 250,000 / 0.8 grown by CA's 300 / 200 (September is the latest at or before November).
        assert!((marks.value_usd[1] - 312_500.0 * 1.5).abs() < 1e-6);
        // No TX series: national, origination month = 2026-11 less 120 months = 2016-11.
        // Origination balance carried back along the schedule: closed form in the test.
        let c: f64 = 0.005;
        let a = |n: i32| (1.0 - (1.0 + c).powi(-n)) / c;
        let orig = 200_000.0 * a(360) / a(240);
        assert!((marks.value_usd[2] - orig / 0.8 * 1.5).abs() < 1e-6);
        // A series that ended more than six months before the month asked does not
        // describe it.
        assert_eq!(h.growth(None, ym("2016-11"), ym("2027-04")), Some(1.5));
        assert_eq!(h.growth(None, ym("2016-11"), ym("2027-05")), None);
        // History starts after 1990: the origination value, not grown.
        assert_eq!(marks.value_usd[3], 312_500.0);
        let mut h2 = HpiHistory::default();
        h2.insert(ym("2016-06"), None, 1.0).expect("valid");
        assert!(matches!(
            h2.insert(ym("2016-06"), None, 2.0),
            Err(HistoryError::Duplicate { .. })
        ));
        assert!(matches!(
            h2.insert(ym("2016-07"), None, -1.0),
            Err(HistoryError::Index(_))
        ));
    }
}
