//! Setting up runs without editing TOML: `mcflow init`, `--set`, `--run-id`/`--as-of`,
//! `--config -`, shell completions and man pages, and `bench --config`.

use super::{has_line, mcflow, mcflow_with_stdin, repo, s, text};

fn report(out: &std::path::Path, run_id: &str) -> serde_json::Value {
    let path = out.join(format!("runs/{run_id}/report.json"));
    serde_json::from_slice(&std::fs::read(&path).expect("report")).expect("json")
}

#[test]
fn init_writes_a_run_that_validates_and_runs_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tmp");
    let new = dir.path().join("daily");
    let o = mcflow(&["init", s(&new), "--loans", "40"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("40 sample loans"), "{stdout}");
    let config = new.join("run.toml");
    let portfolio = new.join("portfolio.parquet");
    // The config is the bundled one, comments and all, and the files it names came along.
    let bundled = std::fs::read_to_string(repo().join("data/run.toml")).expect("bundled");
    assert_eq!(std::fs::read_to_string(&config).expect("config"), bundled);
    let o = mcflow(&[
        "validate",
        "--config",
        s(&config),
        "--portfolio",
        s(&portfolio),
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.starts_with("ok: 40 loans"), "{stdout}");
    // A small run of the new directory's inputs, as init's "next:" lines say.
    let out = new.join("out");
    let o = mcflow(&[
        "run",
        "--config",
        s(&config),
        "--portfolio",
        s(&portfolio),
        "--out",
        s(&out),
        "--set",
        "model.scenarios=4",
        "--set",
        "risk.key_rates_years=[10]",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert_eq!(report(&out, "sample")["loans"], 40);
    // The summary says which figures are Monte Carlo statistics, and sets stress apart.
    assert!(
        has_line(
            &stdout,
            "Monte Carlo",
            "means over 4 random scenarios; stress paths are apart, below"
        ),
        "{stdout}"
    );
    assert!(
        has_line(
            &stdout,
            "stress paths",
            "1 path, each on its own and in no figure above"
        ),
        "{stdout}"
    );
    let pv_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("PV mean +/- SE"))
        .expect("a PV line");
    assert!(pv_line.ends_with("% of par)"), "{pv_line}");
    let stress_line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("stress path "))
        .expect("a stress line");
    assert!(
        stress_line.contains("severely_adverse: PV ") && stress_line.contains("% of par), loss "),
        "{stress_line}"
    );

    // A second init into the same directory refuses and leaves every file as it was.
    std::fs::write(&config, "edited").expect("edit");
    let o = mcflow(&["init", s(&new)]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&config).expect("config"), "edited");
}

#[test]
fn set_and_run_id_and_as_of_override_the_config_and_its_fingerprint() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    // The SIFMA A example into `out` as run `sifma-a-30`, with `args` added.
    let sifma_a = |args: &[&str]| {
        let mut all = vec![
            "run",
            "--portfolio",
            "data/sifma_pool.csv",
            "--config",
            "data/sifma-a.toml",
            "--out",
            s(&out),
            "--run-id",
            "sifma-a-30",
        ];
        all.extend_from_slice(args);
        mcflow(&all)
    };
    let o = sifma_a(&["--set", "model.severity_pct=30", "--as-of", "2026-01-30"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let r = report(&out, "sifma-a-30");
    assert_eq!(r["run_id"], "sifma-a-30");
    assert_eq!(r["run_date"], "2026-01-30");
    assert!(
        r["model"]["description"]
            .as_str()
            .expect("model")
            .contains("severity 30%"),
        "{}",
        r["model"]
    );
    // The fingerprint is of the overridden settings, not the file, so a rerun without
    // the overrides under the same id is a different run.
    let file_sha = worker::report::sha256_bytes(
        &std::fs::read(repo().join("data/sifma-a.toml")).expect("config"),
    );
    assert_ne!(r["inputs"]["config_sha256"], file_sha.as_str());
    let file_text = std::fs::read_to_string(repo().join("data/sifma-a.toml")).expect("config");
    let overridden = worker::config_override::apply_overrides(
        &file_text,
        &[
            "model.severity_pct=30".parse().expect("set"),
            worker::config_override::ConfigOverride::string("run_id", "sifma-a-30"),
            worker::config_override::ConfigOverride::string("as_of", "2026-01-30"),
        ],
    )
    .expect("overrides");
    let settings_sha = |text: String| {
        worker::manifest::ConfigText {
            name: "c.toml".into(),
            text,
            files: Default::default(),
        }
        .config_sha256()
    };
    assert_eq!(
        r["inputs"]["config_sha256"],
        settings_sha(overridden).as_str()
    );
    // The run's name and business date are not its settings: the same checksum.
    let renamed = worker::config_override::apply_overrides(
        &file_text,
        &[
            "model.severity_pct=30".parse().expect("set"),
            worker::config_override::ConfigOverride::string("run_id", "other"),
        ],
    )
    .expect("overrides");
    assert_eq!(r["inputs"]["config_sha256"], settings_sha(renamed).as_str());
    // But a rerun of the id on another business date is refused like other inputs.
    let o = sifma_a(&["--set", "model.severity_pct=30", "--as-of", "2026-01-31"]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(
        stderr.contains("different inputs (business date 2026-01-30"),
        "{stderr}"
    );
    let o = sifma_a(&[]);
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(stderr.contains("different inputs"), "{stderr}");

    // Bad overrides are named: an unknown key, a key below a value, a malformed flag.
    for (set, says) in [
        ("model.severity=30", "model"),
        (
            "run_id.x=1",
            "--set run_id.x: run_id is a value, not a table",
        ),
        ("model.severity_pct", "expected key=value"),
    ] {
        let o = mcflow(&[
            "validate",
            "--portfolio",
            "data/sifma_pool.csv",
            "--config",
            "data/sifma-a.toml",
            "--set",
            set,
        ]);
        let (_, stderr) = text(&o);
        assert!(!o.status.success(), "--set {set} was accepted");
        assert!(stderr.contains(says), "--set {set}: {stderr}");
    }
}

#[test]
fn config_from_standard_input_resolves_its_files_against_the_working_directory() {
    let bundled = std::fs::read(repo().join("data/run.toml")).expect("bundled");
    let data = repo().join("data");
    let o = mcflow_with_stdin(
        &[
            "validate",
            "--config",
            "-",
            "--portfolio",
            "sample_portfolio.parquet",
        ],
        &bundled,
        &data,
    );
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("run sample"), "{stdout}");
    // From the repository root the stress file is not where the config says.
    let o = mcflow_with_stdin(&["validate", "--config", "-"], &bundled, &repo());
    let (_, stderr) = text(&o);
    assert!(!o.status.success());
    assert!(stderr.contains("<stdin>"), "{stderr}");
    assert!(stderr.contains("severely_adverse.csv"), "{stderr}");
}

#[test]
fn completions_and_man_pages_come_from_the_argument_definitions() {
    let o = mcflow(&["completions", "bash"]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stderr}");
    assert!(stdout.contains("_mcflow()"), "not a bash completion script");
    assert!(
        stdout.contains("--set") && stdout.contains("init"),
        "{stdout}"
    );
    let dir = tempfile::tempdir().expect("tmp");
    let o = mcflow(&["man", "--out", s(dir.path())]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let run_page = std::fs::read_to_string(dir.path().join("mcflow-run.1")).expect("run page");
    assert!(
        run_page.starts_with(".ie") || run_page.contains(".TH"),
        "not roff"
    );
    assert!(run_page.contains("\\-\\-run\\-id"), "{run_page}");
    assert!(dir.path().join("mcflow.1").exists());
    assert!(dir.path().join("mcflow-init.1").exists());
}

#[test]
fn bench_config_times_the_kernel_and_the_whole_run_on_the_same_work() {
    let o = mcflow(&[
        "bench",
        "--config",
        "data/sifma-a.toml",
        "--portfolio",
        "data/sifma_pool.csv",
        "--repeat",
        "2",
        "--threads",
        "1",
        "--json",
    ]);
    let (stdout, stderr) = text(&o);
    assert!(o.status.success(), "{stdout}\n{stderr}");
    let r: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(r["loan_months"], 360);
    assert_eq!(r["loans"], 1);
    assert_eq!(
        r["kernel_repetitions_seconds"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        r["run_repetitions_seconds"].as_array().map(Vec::len),
        Some(2)
    );
    let ratio = r["end_to_end_ratio"].as_f64().expect("ratio");
    let kernel = r["kernel_seconds"].as_f64().expect("kernel");
    let run = r["run_seconds"].as_f64().expect("run");
    assert!((ratio - kernel / run).abs() < 1e-12, "{r}");
    // Synthetic-portfolio flags do not mix with --config.
    let o = mcflow(&["bench", "--config", "data/sifma-a.toml", "--loans", "5"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_run_of_two_antithetic_pairs_is_read_back_by_report_and_diff() {
    // Two pairs leave the PV control variate no residual: its variance reduction is
    // undefined, and the report must still read back.
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("out");
    let portfolio = repo().join("data/sample_portfolio.parquet");
    let o = super::run_from_data(
        &portfolio,
        &out,
        &super::base_run_config(),
        &["--set", "model.scenarios=4"],
    );
    assert!(o.status.success(), "{:?}", text(&o));
    let o = mcflow(&["report", s(&out)]);
    assert!(o.status.success(), "{:?}", text(&o));
    let run = format!("{}/runs/sample", s(&out));
    let o = mcflow(&["diff", &run, &run]);
    assert!(o.status.success(), "{:?}", text(&o));
}
