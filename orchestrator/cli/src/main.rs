//! The `mcflow` binary: parses the arguments, hands each subcommand to its module under
//! `commands/`, and renders an error as one `error: ...` line with a non-zero exit.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, Command, ImportCommand, InvokeCommand};
use worker::aws::{AwsSettings, LazyAws};

fn main() -> ExitCode {
    // An invoked function's init phase counts from here.
    let process_started = std::time::Instant::now();
    end_quietly_on_a_closed_pipe();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // AWS clients are built on first use, so local commands never configure the SDK.
    let aws = LazyAws::new(AwsSettings {
        endpoint_url: cli.endpoint_url.clone(),
        ..AwsSettings::default()
    });
    let endpoint_url = cli.endpoint_url.as_deref();
    let result = match cli.command {
        Command::Run(args) => commands::run::run(&args, &aws),
        Command::Validate(args) => commands::validate::validate(&args, &aws),
        Command::Bench(args) => commands::bench::bench(&args),
        Command::Sample(args) => commands::sample::sample(&args),
        Command::Scenarios(args) => commands::scenarios::scenarios(&args),
        Command::Report(args) => commands::report::report(&args, &aws),
        Command::Import(ImportCommand::Fannie(args)) => commands::import::import_fannie(&args),
        Command::Submit(args) => commands::submit::submit(&args, &aws),
        Command::Status(args) => commands::status::status(&args, &aws),
        Command::Retry(args) => commands::status::retry(&args, &aws),
        Command::Worker(args) => commands::poll_worker::poll_worker(&args, aws),
        Command::Plan(args) => commands::plan::plan_capacity(&args, &aws),
        Command::Invoke(InvokeCommand::Worker(args)) => {
            commands::invoke::invoke_worker(&args, endpoint_url)
        }
        Command::Sweep(args) => commands::sweep::sweep(&args, &aws, endpoint_url),
        Command::InvokeChild(args) => commands::invoke::invoke_child(&args, aws, process_started),
        Command::GenerateEvent(args) => {
            print!("{}", orchestrator::cloud::events::sample(args.kind.into()));
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", commands::render(&commands::in_flag_terms(e)));
            ExitCode::FAILURE
        }
    }
}

/// `mcflow report | head` closes the pipe early. Rust ignores SIGPIPE, so the next
/// `println!` would panic ("failed printing to stdout: Broken pipe", exit 101); with the
/// signal's default action restored the process ends quietly, as `cat` and `grep` do.
fn end_quietly_on_a_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
