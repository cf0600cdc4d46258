//! `mcflow validate`: both inputs checked, nothing run. The portfolio may be a local
//! file or `s3://bucket/key`, as for `mcflow run`.

use anyhow::Result;
use worker::aws::LazyAws;
use worker::portfolio_file::{PortfolioSource, load_portfolio_from};

use super::load_config;
use crate::cli::ValidateArgs;

pub(crate) fn validate(args: &ValidateArgs, aws: &LazyAws) -> Result<()> {
    let json = args.json;
    let args = &args.inputs;
    // Both inputs are checked whatever the other's outcome, so one pass shows every
    // problem.
    let config = load_config(&args.config, &args.set.set).map(|l| l.config);
    let portfolio = PortfolioSource::open(&args.portfolio, || aws.get())
        .map_err(anyhow::Error::from)
        .and_then(|source| Ok(load_portfolio_from(&source)?));
    match (config, portfolio) {
        (Ok(config), Ok(portfolio)) if json => {
            println!(
                "{}",
                serde_json::json!({
                    "ok": true,
                    "loans": portfolio.len(),
                    "portfolio": args.portfolio,
                    "run_id": config.run_id.as_str(),
                    "model": config.model.describe(),
                })
            );
            Ok(())
        }
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
        (config, portfolio) if json => {
            // Every problem of both inputs, one string each, then the usual error.
            let errors: Vec<anyhow::Error> = [config.err(), portfolio.err()]
                .into_iter()
                .flatten()
                .collect();
            let problems: Vec<String> = errors
                .iter()
                .flat_map(|e| {
                    super::render(e)
                        .lines()
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect();
            println!(
                "{}",
                serde_json::json!({ "ok": false, "problems": problems })
            );
            // An unreachable store or any failure that is not about the inputs keeps its
            // own exit code.
            if let Some(other) = errors
                .into_iter()
                .find(|e| super::exit_code(e) != super::exit::BAD_INPUT)
            {
                return Err(other);
            }
            Err(super::BadInput(format!(
                "{} found (listed on stdout)",
                mcflow::render::count(problems.len() as u64, "problem")
            ))
            .into())
        }
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
        (Err(config), Err(portfolio)) => Err(super::BadInput(format!(
            "{}\n{}",
            super::render(&config),
            super::render(&portfolio)
        ))
        .into()),
    }
}
