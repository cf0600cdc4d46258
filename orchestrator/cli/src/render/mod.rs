//! What `mcflow` shows a person: text tables, the progress bar and SVG charts. Each
//! function takes finished results and returns text (or writes a chart); none computes.

pub mod charts;
pub mod plan;
pub mod progress;
pub mod status;
pub mod summary;
pub mod sweep;
