//! `mcflow sample`: a seeded synthetic portfolio.

use anyhow::Result;

use crate::cli::SampleArgs;

pub(crate) fn sample(args: &SampleArgs) -> Result<()> {
    anyhow::ensure!(args.loans > 0, "--loans must be at least 1");
    let loans = engine::sample::synthetic_loans(args.loans, args.seed);
    worker::portfolio_file::write_portfolio(&args.out, &loans)?;
    println!(
        "wrote {} to {}",
        mcflow::render::count(loans.len() as u64, "loan"),
        args.out.display()
    );
    Ok(())
}
