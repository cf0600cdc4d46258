//! mcflow's pure core: validated portfolios, behaviour models, the cash-flow kernel and
//! exact aggregation. No I/O, no clock, no environment: results leave through return
//! values.
//!
//! The central types are [`Portfolio`] (validated loans in structure-of-arrays form),
//! [`kernel::Behaviour`] (what a model supplies per loan and month) and
//! [`CashflowTable`] (exact monthly totals of one scenario).

pub mod cashflow;
pub mod curve;
pub mod deterministic;
pub mod fastexp;
pub mod kernel;
pub mod money;
pub mod portfolio;
pub mod risk;
pub mod sample;
pub mod scenario;
pub mod speed;
pub mod stochastic;

pub use cashflow::{CashflowRow, CashflowTable, Summed};
pub use deterministic::{
    DefaultSpeed, DeterministicModel, PrepaySpeed, project_deterministic, project_deterministic_on,
};
pub use kernel::{Isa, Pipeline, Projection};
pub use money::Money;
pub use portfolio::{LoanRecord, Portfolio, PortfolioError, Problem, ProblemSink};
