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
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(QUIET_LOGS)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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
        Command::Init(args) => commands::init::init(&args),
        Command::Completions(args) => {
            commands::manual::completions(args.shell);
            Ok(())
        }
        Command::Man(args) => commands::manual::man_pages(&args.out),
        Command::Bench(args) => commands::bench::bench(&args, &aws),
        Command::Sample(args) => commands::sample::sample(&args),
        Command::Scenarios(args) => commands::scenarios::scenarios(&args),
        Command::Report(args) => commands::report::report(&args, &aws),
        Command::Diff(args) => commands::diff::diff(&args, &aws),
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
        Err(_) if commands::run::interrupted() => {
            // The interrupt handler is ending the process with its own message; the
            // failure here is a write it cut short.
            loop {
                std::thread::park();
            }
        }
        Err(e) => {
            let code = commands::exit_code(&e);
            eprintln!("error: {}", commands::render(&commands::in_flag_terms(e)));
            ExitCode::from(code)
        }
    }
}

/// Without `RUST_LOG`, warnings only, and none from the AWS SDK: its retries and
/// credential-chain probes (IMDS) are its business, and a failed call is reported once,
/// summarised, as the command's error. `RUST_LOG=aws_config=debug` shows them.
const QUIET_LOGS: &str = "warn,aws_config=off,aws_runtime=off,aws_smithy_runtime=off,aws_smithy_runtime_api=off,aws_sdk_s3=off,aws_sdk_sqs=off,aws_sdk_cloudformation=off,aws_sdk_lambda=off,aws_sdk_codedeploy=off";

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
