//! The loan portfolio: raw rows as read from a file, validation, and the validated
//! structure-of-arrays [`Portfolio`] the kernel runs on.

use std::collections::HashSet;
use std::fmt;

/// Largest balance one row may carry. The kernel's exact aggregation converts every
/// monthly amount to integer ten-thousandths of a dollar with a conversion that is exact
/// below 2^51 units; one row above this bound could silently lose that exactness.
/// Pools bigger than this should be split into several rows.
pub const MAX_ROW_UPB_USD: f64 = 1.0e11;

/// Largest total balance of a portfolio. Monthly totals are exact 64-bit integers of
/// 1/10,000 USD, and every summed amount is bounded by a small multiple of the balance
/// (see [`crate::CashflowTable`]); this bound keeps them from overflowing. It is about
/// seven times the whole US residential mortgage market.
pub const MAX_PORTFOLIO_UPB_USD: f64 = 1.0e14;

/// How many problems validation collects before it stops looking, so that a file with a
/// million bad rows yields a readable error rather than a million lines.
pub const MAX_REPORTED_PROBLEMS: usize = 50;

/// Longest original term accepted, in months (40 years).
pub const MAX_TERM_MONTHS: u32 = 480;

/// One portfolio row as it arrives from a file, before any domain rule is checked.
/// Optional columns are `None` when the file lacks the column or the cell is blank.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoanRecord {
    pub loan_id: String,
    pub current_upb: f64,
    pub note_rate_pct: f64,
    pub servicing_fee_pct: Option<f64>,
    pub orig_term_months: i64,
    pub loan_age_months: i64,
    pub orig_ltv_pct: Option<f64>,
    pub fico: Option<i64>,
    pub state: Option<String>,
    pub orig_upb: Option<f64>,
    /// Mortgage insurance coverage, percent of the claim.
    pub mi_pct: Option<f64>,
    /// Origination month, `YYYY-MM`.
    pub orig_date: Option<String>,
    /// Mark-to-market LTV at the run date, percent, when the data provider has one.
    pub current_ltv_pct: Option<f64>,
    /// The loan's price, percent of its current balance: `[risk] loan_oas` solves its OAS.
    pub price_pct: Option<f64>,
}

/// A calendar month, counted from January of year 0 so months subtract directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth(i32);

impl YearMonth {
    pub fn new(year: i32, month: u32) -> Option<YearMonth> {
        ((1..=12).contains(&month) && (0..=9999).contains(&year))
            .then(|| YearMonth(year * 12 + month as i32 - 1))
    }
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<YearMonth> {
        let (year, month) = text.trim().split_once('-')?;
        if year.len() != 4 || month.len() != 2 {
            return None;
        }
        YearMonth::new(year.parse().ok()?, month.parse().ok()?)
    }
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }
    /// 1 to 12.
    pub fn month(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }
    /// Months from `earlier` to `self` (negative when `earlier` is later).
    pub fn months_since(self, earlier: YearMonth) -> i32 {
        self.0 - earlier.0
    }
    pub fn plus_months(self, months: i32) -> YearMonth {
        YearMonth(self.0 + months)
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

/// One thing wrong with one cell of the input. `row` is 1-based and counts data rows
/// (the header of a CSV file is not a row).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub row: usize,
    pub column: &'static str,
    pub value: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "row {}, column {}: {:?} {}",
            self.row, self.column, self.value, self.message
        )
    }
}

/// Why a portfolio could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PortfolioError {
    /// The input held no rows at all.
    #[error("the portfolio has no loans")]
    Empty,
    /// The balances add up to more than [`MAX_PORTFOLIO_UPB_USD`] by row `row`.
    #[error(
        "row {row}, column current_upb: the balances add up to more than the 100,000,000,000,000 USD limit on a portfolio's total (its monthly totals are exact 64-bit sums); split the portfolio into several runs"
    )]
    TooLarge { row: usize },
    /// One or more cells broke a rule; `truncated` is set when more problems existed
    /// than [`MAX_REPORTED_PROBLEMS`].
    #[error("{} invalid value(s){}:\n{}", problems.len(), if *truncated { " (first ones only)" } else { "" }, ProblemList(problems))]
    Invalid {
        problems: Vec<Problem>,
        truncated: bool,
    },
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// Collects problems up to the cap; shared by the engine's rules and the file readers'
/// parse errors so the user sees one list.
/// A cell with one problem gets no second one (a cell that failed to parse is not also
/// reported as out of range).
#[derive(Debug, Default)]
pub struct ProblemSink {
    problems: Vec<Problem>,
    reported: HashSet<(usize, &'static str)>,
    truncated: bool,
}

impl ProblemSink {
    pub fn push(&mut self, row: usize, column: &'static str, value: impl ToString, message: &str) {
        if !self.reported.insert((row, column)) {
            return;
        }
        if self.problems.len() >= MAX_REPORTED_PROBLEMS {
            self.truncated = true;
        } else {
            self.problems.push(Problem {
                row,
                column,
                value: value.to_string(),
                message: message.to_string(),
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.truncated
    }

    pub fn into_result(self) -> Result<(), PortfolioError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(PortfolioError::Invalid {
                problems: self.problems,
                truncated: self.truncated,
            })
        }
    }
}

/// A validated portfolio in structure-of-arrays form: column `k` of loan `i` is
/// `self.k[i]`. Fields are private so that every `Portfolio` has passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct Portfolio {
    loan_id: Vec<String>,
    current_upb: Vec<f64>,
    note_rate_pct: Vec<f64>,
    servicing_fee_pct: Vec<f64>,
    orig_term_months: Vec<u32>,
    loan_age_months: Vec<u32>,
    orig_ltv_pct: Vec<Option<f64>>,
    fico: Vec<Option<u16>>,
    state: Vec<Option<[u8; 2]>>,
    orig_upb: Vec<Option<f64>>,
    mi_pct: Vec<f64>,
    orig_date: Vec<Option<YearMonth>>,
    current_ltv_pct: Vec<Option<f64>>,
    price_pct: Vec<Option<f64>>,
    /// Property value at the run date, set by [`Portfolio::with_marked_values`]; `None`
    /// until a mark is applied (the behaviour models then use the origination value).
    marked_value: Vec<Option<f64>>,
}

/// Whether `code` is a USPS state code mcflow accepts.
pub fn is_us_state(code: &str) -> bool {
    // USPS codes for the states, DC and the territories that agency loans are written in.
    const CODES: &[&str] = &[
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
        "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
        "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
        "VA", "WA", "WV", "WI", "WY", "DC", "PR", "VI", "GU", "AS", "MP",
    ];
    CODES.contains(&code)
}

impl Portfolio {
    /// Checks every rule on every row and returns all problems found (up to the cap).
    /// `sink` may already hold problems found while parsing; they are reported together.
    pub fn from_records(
        records: Vec<LoanRecord>,
        mut sink: ProblemSink,
    ) -> Result<Portfolio, PortfolioError> {
        if records.is_empty() && sink.is_empty() {
            return Err(PortfolioError::Empty);
        }
        let mut seen: HashSet<&str> = HashSet::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            let row = i + 1;
            if sink.is_full() {
                break;
            }
            if r.loan_id.trim().is_empty() {
                sink.push(row, "loan_id", &r.loan_id, "is empty");
            } else if !seen.insert(r.loan_id.as_str()) {
                sink.push(row, "loan_id", &r.loan_id, "appears more than once");
            }
            if !(r.current_upb.is_finite() && r.current_upb > 0.0) {
                sink.push(
                    row,
                    "current_upb",
                    r.current_upb,
                    "must be a positive number",
                );
            } else if r.current_upb > MAX_ROW_UPB_USD {
                sink.push(
                    row,
                    "current_upb",
                    r.current_upb,
                    "exceeds the 100,000,000,000 USD per-row limit; split the pool into several rows",
                );
            }
            let rate_ok = r.note_rate_pct.is_finite() && (0.0..30.0).contains(&r.note_rate_pct);
            if !rate_ok {
                sink.push(
                    row,
                    "note_rate_pct",
                    r.note_rate_pct,
                    "must be at least 0 and below 30",
                );
            }
            if let Some(s) = r.servicing_fee_pct {
                if !(s.is_finite() && s >= 0.0) {
                    sink.push(row, "servicing_fee_pct", s, "must be a non-negative number");
                } else if rate_ok && s > r.note_rate_pct {
                    sink.push(
                        row,
                        "servicing_fee_pct",
                        s,
                        "exceeds note_rate_pct, so the net (pass-through) rate would be negative",
                    );
                }
            }
            let term_ok = (1..=i64::from(MAX_TERM_MONTHS)).contains(&r.orig_term_months);
            if !term_ok {
                sink.push(
                    row,
                    "orig_term_months",
                    r.orig_term_months,
                    "must be between 1 and 480",
                );
            }
            if r.loan_age_months < 0 {
                sink.push(
                    row,
                    "loan_age_months",
                    r.loan_age_months,
                    "must not be negative",
                );
            } else if term_ok && r.loan_age_months >= r.orig_term_months {
                sink.push(
                    row,
                    "loan_age_months",
                    r.loan_age_months,
                    "must be below orig_term_months (the loan has no payments left)",
                );
            }
            if let Some(ltv) = r.orig_ltv_pct
                && !(ltv.is_finite() && (1.0..=200.0).contains(&ltv))
            {
                sink.push(row, "orig_ltv_pct", ltv, "must be between 1 and 200");
            }
            if let Some(fico) = r.fico
                && !(300..=850).contains(&fico)
            {
                sink.push(row, "fico", fico, "must be between 300 and 850");
            }
            if let Some(state) = &r.state
                && !is_us_state(state)
            {
                sink.push(row, "state", state, "is not a two-letter US state code");
            }
            if let Some(orig) = r.orig_upb {
                if !(orig.is_finite() && orig > 0.0) {
                    sink.push(row, "orig_upb", orig, "must be a positive number");
                } else if r.current_upb.is_finite() && orig < r.current_upb {
                    sink.push(row, "orig_upb", orig, "is below current_upb");
                }
            }
            if let Some(mi) = r.mi_pct
                && !(mi.is_finite() && (0.0..=100.0).contains(&mi))
            {
                sink.push(row, "mi_pct", mi, "must be between 0 and 100");
            }
            if let Some(date) = &r.orig_date
                && YearMonth::parse(date).is_none()
            {
                sink.push(row, "orig_date", date, "must be a month written YYYY-MM");
            }
            if let Some(ltv) = r.current_ltv_pct
                && !(ltv.is_finite() && (1.0..=300.0).contains(&ltv))
            {
                sink.push(row, "current_ltv_pct", ltv, "must be between 1 and 300");
            }
            if let Some(price) = r.price_pct
                && !(price.is_finite() && price > 0.0 && price <= 500.0)
            {
                sink.push(row, "price_pct", price, "must be above 0 and at most 500");
            }
        }
        sink.into_result()?;
        let mut total_usd = 0.0;
        for (i, r) in records.iter().enumerate() {
            total_usd += r.current_upb;
            if total_usd > MAX_PORTFOLIO_UPB_USD {
                return Err(PortfolioError::TooLarge { row: i + 1 });
            }
        }

        let n = records.len();
        let mut p = Portfolio {
            loan_id: Vec::with_capacity(n),
            current_upb: Vec::with_capacity(n),
            note_rate_pct: Vec::with_capacity(n),
            servicing_fee_pct: Vec::with_capacity(n),
            orig_term_months: Vec::with_capacity(n),
            loan_age_months: Vec::with_capacity(n),
            orig_ltv_pct: Vec::with_capacity(n),
            fico: Vec::with_capacity(n),
            state: Vec::with_capacity(n),
            orig_upb: Vec::with_capacity(n),
            mi_pct: Vec::with_capacity(n),
            orig_date: Vec::with_capacity(n),
            current_ltv_pct: Vec::with_capacity(n),
            price_pct: Vec::with_capacity(n),
            marked_value: vec![None; n],
        };
        for r in records {
            p.current_upb.push(r.current_upb);
            p.note_rate_pct.push(r.note_rate_pct);
            p.servicing_fee_pct.push(r.servicing_fee_pct.unwrap_or(0.0));
            // Validated above: 1..=480 and 0..term.
            p.orig_term_months.push(r.orig_term_months as u32);
            p.loan_age_months.push(r.loan_age_months as u32);
            p.orig_ltv_pct.push(r.orig_ltv_pct);
            p.fico.push(r.fico.map(|f| f as u16));
            p.state.push(r.state.map(|s| {
                let b = s.as_bytes();
                [b[0], b[1]]
            }));
            p.orig_upb.push(r.orig_upb);
            p.mi_pct.push(r.mi_pct.unwrap_or(0.0));
            p.orig_date
                .push(r.orig_date.as_deref().and_then(YearMonth::parse));
            p.current_ltv_pct.push(r.current_ltv_pct);
            p.price_pct.push(r.price_pct);
            p.loan_id.push(r.loan_id);
        }
        Ok(p)
    }

    pub fn len(&self) -> usize {
        self.loan_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.loan_id.is_empty()
    }

    pub fn loan_id(&self) -> &[String] {
        &self.loan_id
    }
    pub fn current_upb(&self) -> &[f64] {
        &self.current_upb
    }
    pub fn note_rate_pct(&self) -> &[f64] {
        &self.note_rate_pct
    }
    pub fn servicing_fee_pct(&self) -> &[f64] {
        &self.servicing_fee_pct
    }
    pub fn orig_term_months(&self) -> &[u32] {
        &self.orig_term_months
    }
    pub fn loan_age_months(&self) -> &[u32] {
        &self.loan_age_months
    }
    pub fn orig_ltv_pct(&self) -> &[Option<f64>] {
        &self.orig_ltv_pct
    }
    pub fn fico(&self) -> &[Option<u16>] {
        &self.fico
    }
    /// Two-letter state codes, as ASCII bytes.
    pub fn state(&self) -> &[Option<[u8; 2]>] {
        &self.state
    }
    pub fn orig_upb(&self) -> &[Option<f64>] {
        &self.orig_upb
    }
    /// Mortgage insurance coverage, percent of the claim (0 when uninsured).
    pub fn mi_pct(&self) -> &[f64] {
        &self.mi_pct
    }
    pub fn orig_date(&self) -> &[Option<YearMonth>] {
        &self.orig_date
    }
    /// Each loan's price, percent of its current balance, when the file has one.
    pub fn price_pct(&self) -> &[Option<f64>] {
        &self.price_pct
    }
    pub fn current_ltv_pct(&self) -> &[Option<f64>] {
        &self.current_ltv_pct
    }
    /// Property values at the run date, when marked (see [`crate::marks`]).
    pub fn marked_value(&self) -> &[Option<f64>] {
        &self.marked_value
    }

    /// The same loans with each property valued at the run date.
    ///
    /// # Panics
    /// When `values` does not hold one value per loan.
    pub fn with_marked_values(mut self, values: Vec<f64>) -> Portfolio {
        assert_eq!(values.len(), self.len(), "one value per loan");
        self.marked_value = values.into_iter().map(Some).collect();
        self
    }

    /// Remaining scheduled payments of each loan.
    pub fn remaining_term_months(&self, i: usize) -> u32 {
        self.orig_term_months[i] - self.loan_age_months[i]
    }

    /// Loan-months of loans `range` over a horizon: each loan counts its remaining
    /// months, at most `horizon_months`.
    pub fn remaining_terms_up_to(&self, range: std::ops::Range<usize>, horizon_months: u32) -> u64 {
        range
            .map(|i| u64::from(self.remaining_term_months(i).min(horizon_months)))
            .sum()
    }

    /// The longest remaining term in the portfolio: the default projection horizon.
    pub fn max_remaining_term_months(&self) -> u32 {
        (0..self.len())
            .map(|i| self.remaining_term_months(i))
            .max()
            .unwrap_or(0)
    }

    /// The loans reordered by remaining term (stable), and for each new position the
    /// original one. The kernel runs a chunk until its longest loan matures, so grouping
    /// loans of similar term avoids projecting matured loans; totals are exact sums, so
    /// the order does not change them.
    /// A portfolio already in that order is borrowed, not copied.
    pub fn sorted_by_remaining_term(&self) -> (std::borrow::Cow<'_, Portfolio>, Vec<usize>) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by_key(|&i| self.remaining_term_months(i));
        if order.iter().enumerate().all(|(k, &i)| k == i) {
            return (std::borrow::Cow::Borrowed(self), order);
        }
        let pick = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<_>>();
        let sorted = Portfolio {
            loan_id: order.iter().map(|&i| self.loan_id[i].clone()).collect(),
            current_upb: pick(&self.current_upb),
            note_rate_pct: pick(&self.note_rate_pct),
            servicing_fee_pct: pick(&self.servicing_fee_pct),
            orig_term_months: order.iter().map(|&i| self.orig_term_months[i]).collect(),
            loan_age_months: order.iter().map(|&i| self.loan_age_months[i]).collect(),
            orig_ltv_pct: order.iter().map(|&i| self.orig_ltv_pct[i]).collect(),
            fico: order.iter().map(|&i| self.fico[i]).collect(),
            state: order.iter().map(|&i| self.state[i]).collect(),
            orig_upb: order.iter().map(|&i| self.orig_upb[i]).collect(),
            mi_pct: pick(&self.mi_pct),
            orig_date: order.iter().map(|&i| self.orig_date[i]).collect(),
            current_ltv_pct: order.iter().map(|&i| self.current_ltv_pct[i]).collect(),
            price_pct: order.iter().map(|&i| self.price_pct[i]).collect(),
            marked_value: order.iter().map(|&i| self.marked_value[i]).collect(),
        };
        (std::borrow::Cow::Owned(sorted), order)
    }

    /// Total current balance in USD (floating point; for display only).
    pub fn total_upb(&self) -> f64 {
        self.current_upb.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good(id: &str) -> LoanRecord {
        LoanRecord {
            loan_id: id.into(),
            current_upb: 250_000.0,
            note_rate_pct: 6.5,
            servicing_fee_pct: Some(0.25),
            orig_term_months: 360,
            loan_age_months: 12,
            orig_ltv_pct: Some(80.0),
            fico: Some(740),
            state: Some("CA".into()),
            orig_upb: Some(260_000.0),
            mi_pct: Some(25.0),
            orig_date: Some("2025-10".into()),
            current_ltv_pct: None,
            price_pct: None,
        }
    }

    #[test]
    fn accepts_valid_rows() {
        let p = Portfolio::from_records(vec![good("a"), good("b")], ProblemSink::default())
            .expect("valid");
        assert_eq!(p.len(), 2);
        assert_eq!(p.remaining_term_months(0), 348);
        assert_eq!(p.state()[0], Some(*b"CA"));
    }

    #[test]
    fn reports_every_problem_with_row_column_and_value() {
        let mut bad = good("a");
        bad.note_rate_pct = -1.0;
        bad.fico = Some(900);
        let mut dup = good("a");
        dup.loan_age_months = 360;
        dup.state = Some("XX".into());
        let err = Portfolio::from_records(vec![bad, good("b"), dup], ProblemSink::default())
            .expect_err("invalid");
        let PortfolioError::Invalid {
            problems,
            truncated,
        } = &err
        else {
            panic!("wrong error {err:?}")
        };
        assert!(!truncated);
        let got: Vec<(usize, &str)> = problems.iter().map(|p| (p.row, p.column)).collect();
        assert_eq!(
            got,
            vec![
                (1, "note_rate_pct"),
                (1, "fico"),
                (3, "loan_id"),
                (3, "loan_age_months"),
                (3, "state")
            ]
        );
        let text = err.to_string();
        assert!(
            text.contains("row 1, column note_rate_pct: \"-1\""),
            "{text}"
        );
        assert!(text.contains("row 3, column state: \"XX\""), "{text}");
    }

    #[test]
    fn caps_the_number_of_problems() {
        let rows: Vec<LoanRecord> = (0..200)
            .map(|i| {
                let mut r = good(&i.to_string());
                r.current_upb = -1.0;
                r
            })
            .collect();
        let err = Portfolio::from_records(rows, ProblemSink::default()).expect_err("invalid");
        let PortfolioError::Invalid {
            problems,
            truncated,
        } = err
        else {
            panic!()
        };
        assert_eq!(problems.len(), MAX_REPORTED_PROBLEMS);
        assert!(truncated);
    }

    #[test]
    fn rejects_empty_and_oversized_rows() {
        assert_eq!(
            Portfolio::from_records(vec![], ProblemSink::default()),
            Err(PortfolioError::Empty)
        );
        let mut huge = good("a");
        huge.current_upb = 2.0e11;
        huge.orig_upb = None;
        assert!(Portfolio::from_records(vec![huge], ProblemSink::default()).is_err());
    }
}
