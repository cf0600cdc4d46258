//! Exit codes and one-line AWS failures, through the binary: usage 2, bad input 3, a run
//! that fails 1, a service that cannot be reached or refuses the credentials 4.

use std::process::{Command, Output};

use super::{mcflow, repo, text};

/// A port on 127.0.0.1 with nothing listening.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    port
}

/// `mcflow status` against an S3 endpoint nobody answers, with or without credentials.
fn status_unanswered(credentials: bool) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mcflow"));
    c.args([
        "status",
        "r1",
        "--store",
        "s3://bkt",
        "--endpoint-url",
        &format!("http://127.0.0.1:{}", closed_port()),
    ])
    .current_dir(repo())
    .env_remove("RUST_LOG")
    .env("AWS_REGION", "us-east-1")
    // No instance-metadata probe: it would wait for a host that is not there.
    .env("AWS_EC2_METADATA_DISABLED", "true")
    .env("HOME", std::env::temp_dir().join("mcflow-no-home"))
    .env("AWS_CONFIG_FILE", "/nonexistent")
    .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    if credentials {
        c.env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test");
    } else {
        c.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE");
    }
    c.output().expect("spawn mcflow")
}

#[test]
fn an_unreachable_endpoint_is_one_plain_line_and_exit_4() {
    let o = status_unanswered(true);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(4), "{stdout}\n{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "colour on a pipe: {stderr:?}");
    assert!(
        stderr.starts_with("error: S3 GetObject on s3://bkt/runs/r1/manifest.json failed: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: the service did not answer"),
        "{stderr}"
    );
}

#[test]
fn missing_credentials_are_one_line_with_a_hint_and_exit_4() {
    let o = status_unanswered(false);
    let (stdout, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(4), "{stdout}\n{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no credentials"), "{stderr}");
    assert!(
        stderr.contains("hint: no usable AWS credentials"),
        "{stderr}"
    );
}

#[test]
fn usage_bad_input_and_failed_runs_exit_differently() {
    // Usage: clap's own code, a malformed --set included.
    assert_eq!(mcflow(&["run", "--no-such-flag"]).status.code(), Some(2));
    assert_eq!(
        mcflow(&["validate", "--set", "model.severity_pct"])
            .status
            .code(),
        Some(2)
    );
    // --set where no run configuration is read (the synthetic bench, a hypothetical
    // plan) would be ignored: it is refused instead.
    for args in [
        &["bench", "--set", "model.scenarios=5"][..],
        &[
            "plan",
            "--loans",
            "1000",
            "--scenarios",
            "10",
            "--set",
            "model.scenarios=5",
        ][..],
    ] {
        let o = mcflow(args);
        let (_, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--set"), "{args:?}: {stderr}");
    }
    // An override that cannot apply (a key below a value) is bad input.
    let o = mcflow(&[
        "validate",
        "--config",
        "data/sifma-a.toml",
        "--portfolio",
        "data/sifma_pool.csv",
        "--set",
        "run_id.x=1",
    ]);
    assert_eq!(o.status.code(), Some(3), "{:?}", text(&o));
    // Bad input: a missing config, a bad override, a bad portfolio.
    for args in [
        &["validate", "--config", "data/no-such.toml"][..],
        &[
            "validate",
            "--config",
            "data/sifma-a.toml",
            "--portfolio",
            "data/sifma_pool.csv",
            "--set",
            "model.severity_pct=-5",
        ][..],
        &[
            "validate",
            "--config",
            "data/sifma-a.toml",
            "--portfolio",
            "data/run.toml",
        ][..],
    ] {
        let o = mcflow(args);
        let (_, stderr) = text(&o);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {stderr}");
    }
    // `--out` naming a file is bad input, said in one line before anything runs.
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let run_into = |out: &std::path::Path| {
        mcflow(&[
            "run",
            "--config",
            "data/sifma-a.toml",
            "--portfolio",
            "data/sifma_pool.csv",
            "--out",
            out.to_str().expect("utf-8"),
        ])
    };
    let o = run_into(&file);
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(3), "{stderr}");
    assert_eq!(
        stderr.trim(),
        format!(
            "error: {} is not a valid store location: it is a file; name a directory (created if missing) or s3://bucket/prefix",
            file.display()
        )
    );
    // A run that fails: its output folder cannot be created (a file is in the way).
    let o = run_into(&file.join("out"));
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
}
