//! `mcflow scenarios`: a stochastic configuration's scenario paths exported as Parquet.

use anyhow::{Context, Result};

use super::load_config;
use crate::cli::ScenariosArgs;

pub(crate) fn scenarios(args: &ScenariosArgs) -> Result<()> {
    let config = load_config(&args.config, &args.set.set)?.config;
    let worker::config::Model::Stochastic(spec) = &config.model else {
        anyhow::bail!(
            "{}: model.kind is {:?}; scenario paths need model.kind = \"stochastic\"",
            args.config.display(),
            config.model.kind()
        );
    };
    let months = args.months.or(config.horizon_months).unwrap_or(360);
    anyhow::ensure!(
        (1..=480).contains(&months),
        "--months must be between 1 and 480"
    );
    let model = spec
        .model(months, 1)
        .with_context(|| format!("run config {}", args.config.display()))?;
    worker::results_parquet::write_scenario_paths(&args.out, model.scenarios())?;
    println!(
        "wrote {} x {} to {}",
        mcflow::render::count(u64::from(model.scenarios().count()), "scenario"),
        mcflow::render::count(u64::from(months + 1), "month"),
        args.out.display()
    );
    Ok(())
}
