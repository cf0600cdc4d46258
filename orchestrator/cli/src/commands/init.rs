//! `mcflow init DIR`: a new run's starting point, so nobody has to copy files out of the
//! repository: the bundled sample's commented configuration, the two files it names, and
//! a seeded sample portfolio.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cli::InitArgs;

/// The bundled run configuration and the files it names, by their names in `DIR`; the
/// config names them relative to itself, so they keep these paths.
const FILES: [(&str, &str); 3] = [
    ("run.toml", include_str!("../../../../data/run.toml")),
    (
        "stress/severely_adverse.csv",
        include_str!("../../../../data/stress/severely_adverse.csv"),
    ),
    (
        "hpi_history.csv",
        include_str!("../../../../data/hpi_history.csv"),
    ),
];

/// The portfolio's name in `DIR`.
const PORTFOLIO: &str = "portfolio.parquet";

pub(crate) fn init(args: &InitArgs) -> Result<()> {
    anyhow::ensure!(args.loans > 0, "--loans must be at least 1");
    let dir = &args.dir;
    let targets: Vec<PathBuf> = FILES
        .iter()
        .map(|(name, _)| *name)
        .chain([PORTFOLIO])
        .map(|name| dir.join(name))
        .collect();
    // Nothing is written unless everything can be: an existing file is never replaced.
    if let Some(existing) = targets.iter().find(|p| p.exists()) {
        anyhow::bail!(
            "{} already exists; `mcflow init` never overwrites (choose an empty or new directory)",
            existing.display()
        );
    }
    for (name, text) in FILES {
        let path = dir.join(name);
        write_new(&path, text.as_bytes())?;
    }
    let loans = engine::sample::synthetic_loans(args.loans, args.seed);
    let portfolio = dir.join(PORTFOLIO);
    worker::portfolio_file::write_portfolio(&portfolio, &loans)?;
    println!(
        "wrote {} (commented; edit it or override keys with --set), {} and {}, and {} in {}",
        FILES[0].0,
        FILES[1].0,
        FILES[2].0,
        mcflow::render::count(loans.len() as u64, "sample loan"),
        dir.join(PORTFOLIO).display()
    );
    println!("next:");
    let config = dir.join(FILES[0].0);
    println!(
        "  mcflow validate --config {} --portfolio {}",
        config.display(),
        portfolio.display()
    );
    println!(
        "  mcflow run --config {} --portfolio {} --out {}",
        config.display(),
        portfolio.display(),
        dir.join("out").display()
    );
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create directory {}", parent.display()))?;
    }
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
