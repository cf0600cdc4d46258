//! `mcflow completions SHELL` and `mcflow man`: shell completion scripts and man pages,
//! generated from the same clap definitions that parse the arguments, so they never drift.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

pub(crate) fn completions(shell: clap_complete::Shell) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "mcflow", &mut std::io::stdout());
}

/// Writes `mcflow.1` and one page per visible subcommand (`mcflow-run.1`, ...).
pub(crate) fn man_pages(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let command = Cli::command();
    clap_mangen::generate_to(command, out)
        .with_context(|| format!("cannot write man pages into {}", out.display()))?;
    let mut pages: Vec<String> = std::fs::read_dir(out)
        .with_context(|| format!("cannot list {}", out.display()))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".1"))
        .collect();
    pages.sort();
    println!(
        "wrote {} into {} (read one with `man -l {}/mcflow.1`)",
        mcflow::render::count(pages.len() as u64, "man page"),
        out.display(),
        out.display()
    );
    Ok(())
}
