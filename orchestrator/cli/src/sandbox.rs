//! Lambda-like limits for one local invocation of the worker function: the handler runs in
//! a child process whose CPU is capped at the memory size's vCPU share (a CPU cgroup of
//! its own when the host allows it, otherwise a model), whose resident memory is watched
//! against the memory size, and which is killed at the timeout. What comes back is what
//! Lambda's REPORT line says: duration, billed duration, memory size, max memory used.
//!
//! The child is `mcflow __invoke-child`: it initialises (thread pool, runner), prints a
//! ready line with its init time, waits for the word to go, runs the handler and writes
//! a result file. Waiting for the word lets the parent put it into the CPU group first,
//! so initialisation runs at full speed and the handler under the limit, as on Lambda,
//! which boosts the init phase.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use worker::lambda_facts::{
    INIT_TIMEOUT, MAX_MEMORY_MB, billed_ms, threads_for_memory, vcpu_share,
};
use worker::process_memory::status_mb;

/// The hidden subcommand that runs the handler inside the limits.
pub const CHILD_COMMAND: &str = "__invoke-child";
/// The child's first line on stdout once initialised: `READY_LINE <init_ms> <rss_mb>`.
pub const READY_LINE: &str = "__mcflow_invoke_ready__";
/// How often the child's resident memory is sampled. A spike shorter than this can pass
/// the watch, but not the check of the child's own peak (`VmHWM`) at the end.
const WATCH_INTERVAL: Duration = Duration::from_millis(2);
/// cgroup v1/v2 CPU period: quota is `vcpu x period`.
const CPU_PERIOD_US: u64 = 100_000;

/// How the CPU share was applied to a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CpuLimit {
    /// Enforced by a CPU cgroup's quota; the duration is measured.
    Cgroup,
    /// Not enforceable here; the duration is the unlimited measurement scaled by the
    /// parallelism this host gave over the parallelism Lambda would give.
    Model,
}

impl CpuLimit {
    pub fn name(self) -> &'static str {
        match self {
            CpuLimit::Cgroup => "cgroup",
            CpuLimit::Model => "model",
        }
    }
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuLimitMode {
    /// A cgroup where the host allows it and the share fits its cores, else the model.
    Auto,
    /// A cgroup or an error.
    Cgroup,
    /// The model, never a cgroup.
    Model,
}

/// The limits of one invocation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub memory_mb: u32,
    pub timeout: Duration,
    pub cpu: CpuLimitMode,
}

/// How the invocation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The handler returned this response.
    Success(Value),
    /// The handler returned an error (Lambda's `Runtime error`).
    HandlerError { error_type: String, message: String },
    /// Resident memory exceeded the memory size: killed, as Lambda kills it.
    OutOfMemory,
    /// Still running at the timeout: killed.
    TimedOut,
    /// The process died without a result (a panic, a signal).
    Crashed(String),
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Outcome::Success(_))
    }
}

/// One invocation's measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct Invocation {
    pub request_id: String,
    pub memory_mb: u32,
    pub vcpu: f64,
    pub threads: usize,
    pub cpu_limit: CpuLimit,
    /// Why the model was used, when it was.
    pub cpu_limit_note: Option<String>,
    pub timeout: Duration,
    pub init_ms: f64,
    /// Resident memory once initialised, before the handler: the function's base.
    pub init_rss_mb: f64,
    /// Handler duration as Lambda would report it (modelled under `CpuLimit::Model`;
    /// the timeout itself when timed out).
    pub duration_ms: f64,
    /// Handler wall time as measured here.
    pub measured_ms: f64,
    /// CPU time the child used, user plus system.
    pub cpu_ms: f64,
    /// Peak resident memory, MB.
    pub peak_rss_mb: f64,
    pub outcome: Outcome,
}

impl Invocation {
    /// Lambda's error document for a failed invocation, as `aws lambda invoke` prints it.
    pub fn error_document(&self) -> Option<Value> {
        let id = &self.request_id;
        let (error_type, message) = match &self.outcome {
            Outcome::Success(_) => return None,
            Outcome::HandlerError {
                error_type,
                message,
            } => (error_type.clone(), message.clone()),
            Outcome::OutOfMemory => (
                "Runtime.OutOfMemory".to_string(),
                format!("RequestId: {id} Error: Runtime exited with error: signal: killed"),
            ),
            Outcome::TimedOut => (
                "Sandbox.Timedout".to_string(),
                format!(
                    "RequestId: {id} Error: Task timed out after {:.2} seconds",
                    self.timeout.as_secs_f64()
                ),
            ),
            Outcome::Crashed(why) => (
                "Runtime.ExitError".to_string(),
                format!("RequestId: {id} Error: Runtime exited with error: {why}"),
            ),
        };
        Some(json!({"errorType": error_type, "errorMessage": message}))
    }

    /// Lambda's REPORT line. A custom runtime's cold start bills its init phase too.
    pub fn report_line(&self) -> String {
        let mut line = format!(
            "REPORT RequestId: {}\tDuration: {:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\tInit Duration: {:.2} ms",
            self.request_id,
            self.duration_ms,
            billed_ms(self.init_ms + self.duration_ms),
            self.memory_mb,
            self.peak_rss_mb.ceil() as u64,
            self.init_ms,
        );
        match &self.outcome {
            Outcome::Success(_) => {}
            Outcome::TimedOut => line.push_str("\tStatus: timeout"),
            Outcome::OutOfMemory => {
                line.push_str("\tStatus: error\tError Type: Runtime.OutOfMemory")
            }
            Outcome::HandlerError { .. } => {
                line.push_str("\tStatus: error\tError Type: Runtime.Unknown")
            }
            Outcome::Crashed(_) => line.push_str("\tStatus: error\tError Type: Runtime.ExitError"),
        }
        line
    }
}

/// What the child writes when its handler returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildResult {
    pub duration_ms: f64,
    pub cpu_ms: f64,
    pub peak_rss_mb: f64,
    pub response: Option<Value>,
    pub error: Option<ChildError>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildError {
    pub error_type: String,
    pub message: String,
}

/// Why an invocation could not be set up (as opposed to an invocation that failed).
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot start {exe}: {source}")]
    Spawn {
        exe: PathBuf,
        source: std::io::Error,
    },
    #[error("CPU limit: {0}")]
    Cgroup(String),
    #[error("memory size {0} MB is outside 1..={max}", max = MAX_MEMORY_MB)]
    Memory(u32),
    #[error("invocation I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// One invocation to run.
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    /// The `mcflow` executable (its hidden child command runs the handler).
    pub exe: PathBuf,
    /// The event file.
    pub event: PathBuf,
    pub limits: Limits,
    /// Extra environment for the function (e.g. `AWS_ENDPOINT_URL`).
    pub env: Vec<(String, String)>,
    pub request_id: String,
}

/// Runs the worker handler on the request's event under its limits. Each line the
/// handler logs goes to `log`.
pub fn invoke(
    request: &InvokeRequest,
    log: &mut dyn FnMut(&str),
) -> Result<Invocation, SandboxError> {
    let (exe, event, limits) = (&request.exe, &request.event, request.limits);
    if limits.memory_mb == 0 || limits.memory_mb > MAX_MEMORY_MB {
        return Err(SandboxError::Memory(limits.memory_mb));
    }
    let vcpu = vcpu_share(limits.memory_mb);
    let threads = threads_for_memory(limits.memory_mb);
    let host_cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (group, note) = match limits.cpu {
        CpuLimitMode::Model => (None, Some("--cpu-limit model".to_string())),
        mode => {
            let attempt = if vcpu > host_cores as f64 {
                Err(format!(
                    "the share, {vcpu:.2} vCPU, exceeds this host's {host_cores} cores"
                ))
            } else {
                CpuGroup::create(vcpu)
            };
            match (attempt, mode) {
                (Ok(g), _) => (Some(g), None),
                (Err(e), CpuLimitMode::Cgroup) => return Err(SandboxError::Cgroup(e)),
                (Err(e), _) => (None, Some(e)),
            }
        }
    };
    let request_id = request.request_id.clone();
    let dir = tempfile::Builder::new()
        .prefix("mcflow-invoke-")
        .tempdir()?;
    let result_path = dir.path().join("result.json");
    let mut child = Command::new(exe)
        .arg(CHILD_COMMAND)
        .arg("--event")
        .arg(event)
        .arg("--result")
        .arg(&result_path)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            limits.memory_mb.to_string(),
        )
        .env(
            "AWS_LAMBDA_FUNCTION_TIMEOUT",
            limits.timeout.as_secs().max(1).to_string(),
        )
        .env("AWS_LAMBDA_REQUEST_ID", &request_id)
        .envs(request.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| SandboxError::Spawn {
            exe: exe.clone(),
            source,
        })?;
    let pid = child.id();
    // Registered before anything else can fail or wait: an interrupt kills it.
    let _registered = LiveChild::register(pid);
    let stdout = child.stdout.take().expect("piped");
    let (ready_tx, ready_rx) = mpsc::channel::<(f64, f64)>();
    let (line_tx, line_rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match line.strip_prefix(READY_LINE) {
                Some(rest) => {
                    let mut numbers = rest.split_whitespace().map(|n| n.parse().unwrap_or(0.0));
                    let init_ms = numbers.next().unwrap_or(0.0);
                    let _ = ready_tx.send((init_ms, numbers.next().unwrap_or(0.0)));
                }
                None => {
                    let _ = line_tx.send(line);
                }
            }
        }
    });
    let mut watch = Watch {
        pid,
        memory_mb: limits.memory_mb,
        peak_rss_mb: 0.0,
    };
    // Init: until the ready line, at full speed, within Lambda's init limit.
    let init_started = Instant::now();
    let (init_ms, init_rss_mb) = loop {
        drain(&line_rx, log);
        if let Ok(ready) = ready_rx.try_recv() {
            break ready;
        }
        let failure = if let Some(status) = child.try_wait()? {
            Some(Outcome::Crashed(format!("exited during init: {status}")))
        } else if watch.over_memory() {
            Some(Outcome::OutOfMemory)
        } else if init_started.elapsed() > INIT_TIMEOUT {
            Some(Outcome::Crashed("init timed out after 10 s".into()))
        } else {
            None
        };
        if let Some(outcome) = failure {
            // A child that already exited is only reaped again.
            kill(&mut child);
            let _ = reader.join();
            drain(&line_rx, log);
            return Ok(failed_early(
                request_id, limits, vcpu, threads, &watch, outcome,
            ));
        }
        std::thread::sleep(WATCH_INTERVAL);
    };
    if let Some(g) = &group
        && let Err(e) = g.add(pid)
    {
        kill(&mut child);
        let _ = reader.join();
        return Err(SandboxError::Cgroup(e));
    }
    // Under the model the child runs unthrottled: where Lambda would run it faster than
    // this host can (a share above the host's cores), it gets that much longer here
    // before it is stopped; the modelled duration decides afterwards.
    let kill_after = match &group {
        Some(_) => limits.timeout,
        None => limits
            .timeout
            .mul_f64((vcpu.min(threads as f64) / threads.min(host_cores).max(1) as f64).max(1.0)),
    };
    let started = Instant::now();
    {
        let mut stdin = child.stdin.take().expect("piped");
        // A child that already died cannot read the word; try_wait below tells why.
        let _ = stdin.write_all(b"go\n");
    }
    let mut outcome = None;
    loop {
        drain(&line_rx, log);
        if child.try_wait()?.is_some() {
            break;
        }
        if watch.over_memory() {
            kill(&mut child);
            outcome = Some(Outcome::OutOfMemory);
            break;
        }
        if started.elapsed() > kill_after {
            kill(&mut child);
            outcome = Some(Outcome::TimedOut);
            break;
        }
        std::thread::sleep(WATCH_INTERVAL);
    }
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let _ = reader.join();
    drain(&line_rx, log);
    let result: Option<ChildResult> = fs::read(&result_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    drop(dir);
    drop(group);
    let (measured_ms, cpu_ms) = result
        .as_ref()
        .map_or((wall_ms, 0.0), |r| (r.duration_ms, r.cpu_ms));
    if let Some(r) = &result {
        watch.peak_rss_mb = watch.peak_rss_mb.max(r.peak_rss_mb);
    }
    let outcome = match (outcome, result) {
        (Some(o), _) => o,
        // The watch samples; the child's own peak is exact. Over the size is out of
        // memory even when no sample caught it.
        (None, _) if watch.peak_rss_mb > f64::from(limits.memory_mb) => Outcome::OutOfMemory,
        (None, Some(ChildResult { error: Some(e), .. })) => Outcome::HandlerError {
            error_type: e.error_type,
            message: e.message,
        },
        (None, Some(r)) => Outcome::Success(r.response.unwrap_or(Value::Null)),
        (None, None) => Outcome::Crashed("exited without a result".into()),
    };
    let (cpu_limit, duration_ms) = match (&note, &outcome) {
        (_, Outcome::TimedOut) => (
            if note.is_some() {
                CpuLimit::Model
            } else {
                CpuLimit::Cgroup
            },
            limits.timeout.as_secs_f64() * 1000.0,
        ),
        (None, _) => (CpuLimit::Cgroup, measured_ms),
        (Some(_), _) => (
            CpuLimit::Model,
            modelled_ms(measured_ms, cpu_ms, threads, host_cores, vcpu),
        ),
    };
    // A modelled duration past the timeout is a timeout too.
    let timeout_ms = limits.timeout.as_secs_f64() * 1000.0;
    let (outcome, duration_ms) = if outcome.is_success() && duration_ms > timeout_ms {
        (Outcome::TimedOut, timeout_ms)
    } else {
        (outcome, duration_ms)
    };
    Ok(Invocation {
        request_id,
        memory_mb: limits.memory_mb,
        vcpu,
        threads,
        cpu_limit,
        cpu_limit_note: note,
        timeout: limits.timeout,
        init_ms,
        init_rss_mb,
        duration_ms,
        measured_ms,
        cpu_ms,
        peak_rss_mb: watch.peak_rss_mb,
        outcome,
    })
}

/// The model, for a handler that ran without a CPU limit: its CPU time over the
/// parallelism Lambda would give it. That is the vCPU share capped at the thread count,
/// and capped again at the parallelism the work reached here unless it saturated this
/// host's cores (a shard of one loan chunk stays on one core whatever the share). One
/// thread at 128 MB: 13.8 x the CPU time; six threads at 10,240 MB that kept both of
/// this host's cores busy: CPU time / 5.79, assuming the work spreads as well over six.
/// Without a CPU time, the wall time scaled by the parallelism here over Lambda's.
pub fn modelled_ms(
    measured_ms: f64,
    cpu_ms: f64,
    threads: usize,
    host_cores: usize,
    vcpu: f64,
) -> f64 {
    let here = threads.min(host_cores).max(1) as f64;
    let lambda = vcpu.min(threads as f64);
    if cpu_ms <= 0.0 || measured_ms <= 0.0 {
        return measured_ms * here / lambda;
    }
    let reached = cpu_ms / measured_ms;
    let parallelism = if reached >= 0.9 * here {
        lambda
    } else {
        lambda.min(reached)
    };
    cpu_ms / parallelism
}

fn failed_early(
    request_id: String,
    limits: Limits,
    vcpu: f64,
    threads: usize,
    watch: &Watch,
    outcome: Outcome,
) -> Invocation {
    Invocation {
        request_id,
        memory_mb: limits.memory_mb,
        vcpu,
        threads,
        cpu_limit: CpuLimit::Model,
        cpu_limit_note: Some("failed before the handler started".into()),
        timeout: limits.timeout,
        init_ms: 0.0,
        init_rss_mb: 0.0,
        duration_ms: 0.0,
        measured_ms: 0.0,
        cpu_ms: 0.0,
        peak_rss_mb: watch.peak_rss_mb,
        outcome,
    }
}

fn drain(lines: &mpsc::Receiver<String>, log: &mut dyn FnMut(&str)) {
    while let Ok(line) = lines.try_recv() {
        log(&line);
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Samples a process's resident memory against its size.
#[derive(Debug)]
struct Watch {
    pid: u32,
    memory_mb: u32,
    peak_rss_mb: f64,
}

impl Watch {
    fn over_memory(&mut self) -> bool {
        if let Some(rss) = status_mb(self.pid, "VmRSS:") {
            self.peak_rss_mb = self.peak_rss_mb.max(rss);
        }
        self.peak_rss_mb > f64::from(self.memory_mb)
    }
}

static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// What an interrupt must clean up: the measured children still running (registered as
/// soon as they are spawned, in a group or not) and the CPU groups not yet removed.
#[derive(Debug, Default)]
struct Live {
    children: Vec<u32>,
    groups: Vec<PathBuf>,
    /// Set by the interrupt handler: no group is created after it.
    interrupted: bool,
}

static LIVE: std::sync::Mutex<Live> = std::sync::Mutex::new(Live {
    children: Vec::new(),
    groups: Vec::new(),
    interrupted: false,
});

fn live() -> std::sync::MutexGuard<'static, Live> {
    // A panic elsewhere while holding the list leaves it usable: it is only ids and paths.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// A spawned child, registered until it has been waited for.
struct LiveChild(u32);

impl LiveChild {
    fn register(pid: u32) -> LiveChild {
        live().children.push(pid);
        LiveChild(pid)
    }
}

impl Drop for LiveChild {
    /// Runs when the invocation is done with its child, whatever the outcome. If an
    /// interrupt killed the child, this thread must not go on to report the death as a
    /// failed invocation (exit 1) while the handler is still removing groups: taking the
    /// list waits for the handler's clean-up, and parking leaves the exit (130) to it.
    fn drop(&mut self) {
        let mut live = live();
        live.children.retain(|&p| p != self.0);
        if live.interrupted {
            drop(live);
            loop {
                std::thread::park();
            }
        }
    }
}

/// Installs the handler `mcflow invoke` and `mcflow sweep` run under: on Ctrl-C or
/// SIGTERM it kills the measured child, removes the CPU groups created for it, says so,
/// and exits 130.
pub fn clean_up_on_interrupt() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(|| {
        let removed = stop_live_children();
        eprintln!(
            "\ninterrupted: the measured child stopped; {} removed",
            crate::render::count(removed as u64, "CPU cgroup")
        );
        std::process::exit(130);
    })
}

/// Kills the live children and removes the live groups once they are empty; how many
/// groups were removed. Holds the list to the end, so that nothing is spawned into a
/// group or created meanwhile.
fn stop_live_children() -> usize {
    let mut live = live();
    live.interrupted = true;
    for &pid in &live.children {
        if let Ok(pid) = libc::pid_t::try_from(pid) {
            // SAFETY: kill(2) with a pid this process spawned and a valid signal reads
            // no memory of ours.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
    let mut removed = 0;
    for dir in live.groups.drain(..) {
        // A killed task leaves its group as it exits; wait briefly for that.
        for _ in 0..200 {
            if fs::remove_dir(&dir).is_ok() {
                removed += 1;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    removed
}

/// A request id shaped like Lambda's: a random (version 4) UUID.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// A CPU cgroup of our own, holding only the measured child; removed when dropped (the
/// child has exited by then, so the group is empty). Other groups are never written, and
/// the memory controller is never touched.
#[derive(Debug)]
struct CpuGroup {
    dir: PathBuf,
}

impl CpuGroup {
    fn create(vcpu: f64) -> Result<CpuGroup, String> {
        let mounts = fs::read_to_string("/proc/self/mounts")
            .map_err(|e| format!("cannot read /proc/self/mounts: {e}"))?;
        let own = fs::read_to_string("/proc/self/cgroup")
            .map_err(|e| format!("cannot read /proc/self/cgroup: {e}"))?;
        let quota_us = ((vcpu * CPU_PERIOD_US as f64).round() as u64).max(1000);
        let name = format!(
            "mcflow-invoke-{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        );
        // cgroup v1: a hierarchy mounted with the cpu controller.
        if let Some(mount) = cgroup_mount(&mounts, "cgroup", Some("cpu")) {
            let path = own_group(&own, Some("cpu")).ok_or("no cpu line in /proc/self/cgroup")?;
            let dir = mount.join(path.trim_start_matches('/')).join(&name);
            fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let group = CpuGroup::live(dir)?;
            group.write("cpu.cfs_period_us", &CPU_PERIOD_US.to_string())?;
            group.write("cpu.cfs_quota_us", &quota_us.to_string())?;
            return Ok(group);
        }
        // cgroup v2: only where our own group already delegates the cpu controller.
        if let Some(mount) = cgroup_mount(&mounts, "cgroup2", None) {
            let path = own_group(&own, None).ok_or("no v2 line in /proc/self/cgroup")?;
            let parent = mount.join(path.trim_start_matches('/'));
            let delegated =
                fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
            if !delegated.split_whitespace().any(|c| c == "cpu") {
                return Err(format!(
                    "the cpu controller is not enabled for sub-groups of {}",
                    parent.display()
                ));
            }
            let dir = parent.join(&name);
            fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let group = CpuGroup::live(dir)?;
            group.write("cpu.max", &format!("{quota_us} {CPU_PERIOD_US}"))?;
            return Ok(group);
        }
        Err("no CPU cgroup controller is mounted".into())
    }

    fn write(&self, file: &str, value: &str) -> Result<(), String> {
        let path = self.dir.join(file);
        fs::write(&path, value).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// A group just created, registered so that an interrupt removes it; refused (and
    /// removed) once an interrupt is under way.
    fn live(dir: PathBuf) -> Result<CpuGroup, String> {
        let mut live = live();
        if live.interrupted {
            let _ = fs::remove_dir(&dir);
            return Err("interrupted".into());
        }
        live.groups.push(dir.clone());
        Ok(CpuGroup { dir })
    }

    fn add(&self, pid: u32) -> Result<(), String> {
        self.write("cgroup.procs", &pid.to_string())
    }
}

impl Drop for CpuGroup {
    fn drop(&mut self) {
        // The child has been reaped, so the group is empty and can go.
        live().groups.retain(|d| *d != self.dir);
        let _ = fs::remove_dir(&self.dir);
    }
}

/// The mount point of a cgroup hierarchy of `fstype` (with `controller` among its
/// options, for v1).
fn cgroup_mount(mounts: &str, fstype: &str, controller: Option<&str>) -> Option<PathBuf> {
    mounts.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (&point, &kind, &options) = (fields.get(1)?, fields.get(2)?, fields.get(3)?);
        let has = controller.is_none_or(|c| options.split(',').any(|o| o == c));
        (kind == fstype && has).then(|| PathBuf::from(point))
    })
}

/// This process's group path: on the v1 line listing `controller`, or the v2 `0::` line.
fn own_group(cgroup: &str, controller: Option<&str>) -> Option<String> {
    cgroup.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let matches = match controller {
            Some(c) => controllers.split(',').any(|x| x == c),
            None => controllers.is_empty(),
        };
        matches.then(|| path.to_string())
    })
}

/// The child's side: initialise, announce readiness, wait for the word, run `handler`,
/// and write the result file.
pub fn child_main(
    result: &Path,
    init_started: Instant,
    handler: impl FnOnce() -> Result<Value, ChildError>,
) -> std::io::Result<()> {
    let init_ms = init_started.elapsed().as_secs_f64() * 1000.0;
    let rss_mb = status_mb(std::process::id(), "VmRSS:").unwrap_or(0.0);
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{READY_LINE} {init_ms:.3} {rss_mb:.3}")?;
        out.flush()?;
    }
    let mut word = String::new();
    std::io::stdin().read_line(&mut word)?;
    let cpu_before = cpu_ms_self();
    let started = Instant::now();
    let outcome = handler();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (response, error) = match outcome {
        Ok(v) => (Some(v), None),
        Err(e) => (None, Some(e)),
    };
    let record = ChildResult {
        duration_ms,
        cpu_ms: cpu_ms_self() - cpu_before,
        peak_rss_mb: worker::process_memory::peak_mb(),
        response,
        error,
    };
    std::io::stdout().flush()?;
    fs::write(result, serde_json::to_vec(&record).expect("serialises"))
}

/// CPU time of this process so far (all threads, user plus system), from
/// `/proc/self/stat` in clock ticks of 10 ms (Linux's USER_HZ is 100 everywhere).
fn cpu_ms_self() -> f64 {
    fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the parenthesised command name; utime and stime are 14 and 15.
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) * 10.0)
        })
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation(outcome: Outcome) -> Invocation {
        Invocation {
            request_id: "3f5e0c1a-0000-4000-a000-000000000001".into(),
            memory_mb: 1024,
            vcpu: vcpu_share(1024),
            threads: 1,
            cpu_limit: CpuLimit::Cgroup,
            cpu_limit_note: None,
            timeout: Duration::from_secs(60),
            init_ms: 12.5,
            init_rss_mb: 20.0,
            duration_ms: 1466.12,
            measured_ms: 1466.12,
            cpu_ms: 840.0,
            peak_rss_mb: 86.2,
            outcome,
        }
    }

    #[test]
    fn the_report_line_has_lambdas_fields_and_rounding() {
        let ok = invocation(Outcome::Success(json!({})));
        assert_eq!(
            ok.report_line(),
            "REPORT RequestId: 3f5e0c1a-0000-4000-a000-000000000001\tDuration: 1466.12 ms\tBilled Duration: 1479 ms\tMemory Size: 1024 MB\tMax Memory Used: 87 MB\tInit Duration: 12.50 ms"
        );
        assert_eq!(ok.error_document(), None);
        let late = invocation(Outcome::TimedOut);
        assert!(late.report_line().ends_with("\tStatus: timeout"));
        assert_eq!(
            late.error_document().expect("an error")["errorMessage"],
            "RequestId: 3f5e0c1a-0000-4000-a000-000000000001 Error: Task timed out after 60.00 seconds"
        );
        let oom = invocation(Outcome::OutOfMemory);
        assert!(
            oom.report_line()
                .contains("Error Type: Runtime.OutOfMemory")
        );
        assert_eq!(
            oom.error_document().expect("an error")["errorType"],
            "Runtime.OutOfMemory"
        );
    }

    #[test]
    fn the_model_scales_by_parallelism() {
        // One busy thread at 128 MB gets 7.2% of a core: 13.8 x its CPU time.
        let slow = modelled_ms(100.0, 100.0, 1, 2, vcpu_share(128));
        assert!((slow - 1382.0).abs() < 1.0, "{slow}");
        // Six threads at 10,240 MB that kept two cores busy: CPU time / 5.79.
        let fast = modelled_ms(100.0, 200.0, 6, 2, vcpu_share(10240));
        assert!((fast - 34.55).abs() < 0.1, "{fast}");
        // Six threads that only ever used one core: more vCPUs do not help.
        let serial = modelled_ms(100.0, 100.0, 6, 2, vcpu_share(10240));
        assert_eq!(serial, 100.0);
        // Exactly one vCPU on one thread: as measured.
        assert_eq!(modelled_ms(100.0, 100.0, 1, 2, 1.0), 100.0);
        // No CPU time known: wall time x parallelism here / Lambda's.
        let blind = modelled_ms(100.0, 0.0, 6, 2, vcpu_share(10240));
        assert!((blind - 34.55).abs() < 0.1, "{blind}");
    }

    #[test]
    fn cgroup_paths_are_found_for_v1_and_v2() {
        let mounts = "cgroup /sys/fs/cgroup/cpu cgroup rw,relatime,cpu 0 0\n\
                      cgroup /sys/fs/cgroup/cpuacct cgroup rw,relatime,cpuacct 0 0\n\
                      cgroup2 /sys/fs/cgroup/unified cgroup2 rw,relatime 0 0\n";
        assert_eq!(
            cgroup_mount(mounts, "cgroup", Some("cpu")),
            Some(PathBuf::from("/sys/fs/cgroup/cpu"))
        );
        assert_eq!(
            cgroup_mount(mounts, "cgroup2", None),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(cgroup_mount(mounts, "cgroup", Some("blkio")), None);
        let own = "4:memory:/a/b\n2:cpu,cpuacct:/jobs/7\n0::/user.slice\n";
        assert_eq!(own_group(own, Some("cpu")).as_deref(), Some("/jobs/7"));
        assert_eq!(own_group(own, None).as_deref(), Some("/user.slice"));
    }

    #[test]
    fn request_ids_look_like_uuids_and_differ() {
        let (a, b) = (new_request_id(), new_request_id());
        assert_ne!(a, b);
        let parts: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{a}");
    }
}
