//! `mcflow validate`: both inputs checked, nothing run. The portfolio may be a local
//! file or `s3://bucket/key`, as for `mcflow run`.

use anyhow::Result;
use worker::aws::LazyAws;
use worker::portfolio_file::{PortfolioSource, load_portfolio_from};

use super::load_config;
use crate::cli::InputArgs;

pub(crate) fn validate(args: &InputArgs, aws: &LazyAws) -> Result<()> {
    // Both inputs are checked whatever the other's outcome, so one pass shows every
    // problem.
    let config = load_config(&args.config);
    let portfolio = PortfolioSource::open(&args.portfolio, || aws.get())
        .map_err(anyhow::Error::from)
        .and_then(|source| Ok(load_portfolio_from(&source)?));
    match (config, portfolio) {
        (Ok(config), Ok(portfolio)) => {
            println!(
                "ok: {} in {}, run {} ({})",
                mcflow::render::count(portfolio.len() as u64, "loan"),
                args.portfolio,
                config.run_id,
                config.model.describe()
            );
            Ok(())
        }
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
        (Err(config), Err(portfolio)) => Err(anyhow::anyhow!(
            "{}\n{}",
            super::render(&config),
            super::render(&portfolio)
        )),
    }
}
