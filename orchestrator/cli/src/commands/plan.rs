//! `mcflow plan`: worker memory and shard size for a deadline, a budget and a concurrency.

use anyhow::{Context, Result};
use mcflow::render::plan;
use orchestrator::capacity::{Calibration, Limits, Workload, plan_run};
use orchestrator::run::plan::RunShape;
use worker::aws::LazyAws;
use worker::lambda_facts::PRICES_READ_ON;
use worker::portfolio_file::{PortfolioSource, load_portfolio_from};

use super::load_config;
use crate::cli::PlanArgs;

pub(crate) fn plan_capacity(args: &PlanArgs, aws: &LazyAws) -> Result<()> {
    // Without sizes, plan the bundled sample, as `mcflow run` runs it.
    let (portfolio, config) = match args.loans {
        None => (
            Some(
                args.portfolio
                    .clone()
                    .unwrap_or_else(|| "data/sample_portfolio.parquet".into()),
            ),
            Some(
                args.config
                    .clone()
                    .unwrap_or_else(|| "data/run.toml".into()),
            ),
        ),
        Some(_) => (None, None),
    };
    let workload = match (&portfolio, &config, args.loans, args.scenarios) {
        (Some(p), Some(c), _, _) => {
            let config = load_config(c, &args.set.set)?.config;
            let source = PortfolioSource::open(p, || aws.get())?;
            let portfolio = load_portfolio_from(&source)?;
            let shape = RunShape::of(&config, &portfolio, chrono::Utc::now().date_naive())?;
            Workload {
                loans: shape.loans,
                scenarios: shape.scenarios,
                loan_months: shape.planned_loan_months as f64,
                horizon_months: shape.horizon_months,
                risk_multiplier: f64::from(shape.scenarios)
                    / f64::from(shape.blocks[0].end - shape.blocks[0].start),
            }
        }
        (None, None, Some(loans), Some(scenarios)) => {
            anyhow::ensure!(
                loans > 0 && scenarios > 0,
                "--loans and --scenarios must be positive"
            );
            Workload {
                loans,
                scenarios,
                loan_months: loans as f64 * f64::from(scenarios) * f64::from(args.months),
                horizon_months: args.months,
                risk_multiplier: 1.0,
            }
        }
        _ => anyhow::bail!("give --portfolio and --config, or --loans and --scenarios"),
    };
    let calibration = match &args.calibration {
        Some(path) => serde_json::from_slice::<Calibration>(
            &std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a calibration file", path.display()))?,
        None => Calibration::default(),
    };
    let calibration_name = args
        .calibration
        .as_ref()
        .map_or("the default calibration".to_string(), |p| {
            p.display().to_string()
        });
    anyhow::ensure!(
        calibration.loan_months_per_vcpu_second > 0.0
            && calibration.loan_months_per_vcpu_second.is_finite(),
        "{calibration_name}: loan_months_per_vcpu_second must be a positive number"
    );
    anyhow::ensure!(
        calibration.overhead_seconds_per_shard >= 0.0
            && calibration.base_memory_mb >= 0.0
            && calibration.bytes_per_scenario_month >= 0.0,
        "{calibration_name}: overhead_seconds_per_shard, base_memory_mb and bytes_per_scenario_month must not be negative"
    );
    let limits = Limits {
        deadline_seconds: args.deadline.map(|d| d.as_secs_f64()),
        budget_usd: args.budget_usd,
        concurrency: args.concurrency.max(1),
        arch: args.arch.into(),
    };
    let (points, best) = plan_run(&workload, &calibration, &limits);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "workload": {"loans": workload.loans, "scenarios": workload.scenarios, "loan_months": workload.loan_months, "risk_multiplier": workload.risk_multiplier},
                "calibration": calibration,
                "prices_read_on": PRICES_READ_ON,
                "points": points,
                "recommended": best.map(|i| &points[i]),
            }))?
        );
    } else {
        print!(
            "{}",
            plan::table(&workload, &calibration, &limits, &points, best)
        );
    }
    let Some(best) = best else {
        anyhow::bail!(
            "no memory size meets the deadline, the budget and the shard's memory at concurrency {}; raise one of them",
            limits.concurrency
        );
    };
    if !args.json {
        println!("{}", plan::recommendation(&points[best], limits.arch));
    }
    Ok(())
}
