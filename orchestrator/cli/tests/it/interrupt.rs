//! Ctrl-C during `mcflow run`: the completed shards are kept and said, no temporary file
//! is left, and the same command resumes from them to the same bytes as a fresh run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{base_run_config, feed_and_wait, repo, s, text};

/// 3,000 sample loans under 20 scenarios and the stress path, in 10 shards on one
/// thread: long enough to interrupt between shards, short enough for the suite.
fn run_command(portfolio: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_mcflow"));
    c.args([
        "run",
        "--config",
        "-",
        "--portfolio",
        s(portfolio),
        "--set",
        "model.scenarios=20",
        "--shards",
        "10",
        "--threads",
        "1",
        "--out",
        s(out),
    ])
    .args(extra)
    .current_dir(repo().join("data"))
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    c
}

fn run_to_end(portfolio: &Path, out: &Path, extra: &[&str]) -> Output {
    feed_and_wait(&mut run_command(portfolio, out, extra), &base_run_config())
}

fn files_named(dir: &Path, wanted: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if wanted(&e.file_name().to_string_lossy()) {
                found.push(p);
            }
        }
    }
    found
}

fn markers(out: &Path) -> usize {
    files_named(out, &|n| n == "_SUCCESS.json").len()
}

#[cfg(unix)]
#[test]
fn an_interrupted_run_keeps_its_shards_and_resumes_to_the_same_bytes() {
    let dir = tempfile::tempdir().expect("tmp");
    let (resumed_out, fresh_out) = (dir.path().join("resumed"), dir.path().join("fresh"));
    let portfolio = dir.path().join("portfolio.parquet");
    let o = super::mcflow(&["sample", "--loans", "3000", "--out", s(&portfolio)]);
    assert!(o.status.success(), "{:?}", text(&o));
    let mut child = run_command(&portfolio, &resumed_out, &[])
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&base_run_config())
        .expect("config");
    // Interrupt once the first shard is complete.
    let started = Instant::now();
    while markers(&resumed_out) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no shard completed in 120 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: signalling our own child, which is still running (it has not been waited).
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let o = child.wait_with_output().expect("wait");
    let (_, stderr) = text(&o);
    assert_eq!(o.status.code(), Some(130), "{stderr}");
    let kept = markers(&resumed_out);
    assert!((1..10).contains(&kept), "{kept} shards kept: {stderr}");
    // The message counts the markers on disk as it exits; a shard may finish between.
    let said: usize = stderr
        .split("interrupted: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {stderr}"));
    assert!(
        said >= 1 && said <= kept,
        "said {said}, kept {kept}: {stderr}"
    );
    assert!(
        stderr.contains(" of 10 shards of run sample complete and kept"),
        "{stderr}"
    );

    // The same command resumes: the kept shards are not recomputed.
    let o = run_to_end(&portfolio, &resumed_out, &[]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("resumed               {kept} of 10 shards kept")),
        "{stdout}"
    );
    // No temporary file of the cut writes survives the resumed run (the handler removes
    // them on exit, and a write cut after its sweep leaves one the next run removes).
    assert!(
        files_named(&resumed_out, &|n| n.starts_with(".mcflow-tmp-")).is_empty(),
        "temporary files left"
    );
    // A fresh run elsewhere writes the same table bytes.
    let o = run_to_end(&portfolio, &fresh_out, &["--fresh"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains("resumed"), "{stdout}");
    let tables = |out: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut parts = files_named(out, &|n| n.ends_with(".parquet"));
        parts.sort();
        parts
            .into_iter()
            .map(|p| {
                let bytes = std::fs::read(&p).expect("read");
                (p.strip_prefix(out).expect("under out").to_path_buf(), bytes)
            })
            .collect()
    };
    let (resumed, fresh) = (tables(&resumed_out), tables(&fresh_out));
    assert_eq!(resumed.len(), 3, "{resumed:?}");
    assert!(
        resumed == fresh,
        "the resumed run's tables differ from a fresh run's"
    );
}
