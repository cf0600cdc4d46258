//! `mcflow validate`: both inputs checked, nothing run. The portfolio may be a local
//! file or `s3://bucket/key`, as for `mcflow run`.

use anyhow::Result;
use worker::aws::LazyAws;
use worker::portfolio_file::{PortfolioSource, load_portfolio_from};

use super::load_config;
use crate::cli::InputArgs;

pub(crate) fn validate(args: &InputArgs, aws: &LazyAws) -> Result<()> {
    let config = load_config(&args.config)?;
    let source = PortfolioSource::open(&args.portfolio, || aws.get())?;
    let portfolio = load_portfolio_from(&source)?;
    println!(
        "ok: {} loans in {}, run {} ({})",
        portfolio.len(),
        args.portfolio,
        config.run_id,
        config.model.describe()
    );
    Ok(())
}
