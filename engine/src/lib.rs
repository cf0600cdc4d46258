//! mcflow's pure core: validated portfolios, behaviour models, the cash-flow kernel and
//! exact aggregation. No I/O, no clock, no environment: results leave through return
//! values.
//!
//! The central types are [`Portfolio`] (validated loans in structure-of-arrays form),
//! [`kernel::Behaviour`] (what a model supplies per loan and month) and
//! [`CashflowTable`] (exact monthly totals of one scenario).
//!
//! A guided tour, in the order a projection goes:
//! - In: [`portfolio`] turns raw [`LoanRecord`]s into a [`Portfolio`], collecting every
//!   bad cell in a [`ProblemSink`].
//! - Marks: [`marks`] values each property at the run date (current LTV, a house-price
//!   history since origination, or the origination value).
//! - Models: [`deterministic`] (SIFMA's PSA/CPR x SDA/CDR conventions, [`speed`]) and
//!   [`stochastic`] (Hull-White rates and house prices from [`scenario`] and [`curve`],
//!   with refinancing, turnover, default and severity models).
//! - The kernels: [`kernel`] projects chunks of loans month by month on rayon for any
//!   [`kernel::Behaviour`] (the deterministic model is one); [`path_kernel`] is the
//!   stochastic model's, which advances a chunk under a batch of scenario paths at once.
//!   Both are compiled for AVX-512, AVX2 and a baseline ([`Isa`]); [`fastexp`] keeps `exp`
//!   portable.
//! - Out, exactly: [`money`] rounds each loan-month once to 1/10,000 USD, [`cashflow`]
//!   sums them in integers, and [`risk`] derives PV, percentiles, VaR/ES and per-loan
//!   sums. Any split of the work gives the same bits.
//! - [`sample`]: seeded synthetic portfolios for tests and benchmarks.
//!
//! The `serde` feature adds derives (and nothing else) to the parameter and summary
//! types the worker reads from config files and writes into reports.

pub mod bumps;
pub mod calibration;
pub mod cashflow;
pub mod curve;
pub mod deterministic;
pub mod fastexp;
pub mod kernel;
pub mod marks;
pub mod money;
pub mod path_kernel;
pub mod portfolio;
pub mod risk;
pub mod sample;
pub mod sampler;
pub mod scenario;
pub mod sensitivities;
pub mod speed;
pub mod stochastic;

pub use cashflow::{CashflowRow, CashflowTable, Summed};
pub use deterministic::{
    DefaultSpeed, DeterministicModel, PrepaySpeed, project_deterministic, project_deterministic_on,
};
pub use kernel::{Isa, Pipeline, Projection};
pub use money::Money;
pub use portfolio::{LoanRecord, Portfolio, PortfolioError, Problem, ProblemSink, YearMonth};
