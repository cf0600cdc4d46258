//! What `mcflow` shows a person: text tables and the progress bar. Each function
//! takes finished results and returns text; none computes.

pub mod plan;
pub mod progress;
pub mod status;
pub mod summary;
pub mod sweep;

// The figure formats are the report page's too (it is written by the reducer, which
// links no CLI code), so they live beside it.
pub use orchestrator::page::figures::{count, grouped, money, pct_of};
