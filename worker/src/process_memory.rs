//! A process's resident and peak memory, read from `/proc/<pid>/status` (Linux, as on
//! Lambda): what the worker reports as `PeakMemoryMB` and what the local sandbox watches.

/// One `/proc/<pid>/status` field (`"VmRSS:"`, `"VmHWM:"`) in MB; `None` where there is
/// no such file or field (not Linux, or the process has gone).
pub fn status_mb(pid: u32, field: &str) -> Option<f64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
}

/// This process's peak resident memory (`VmHWM`) in MB, 0 where unknown.
pub fn peak_mb() -> f64 {
    status_mb(std::process::id(), "VmHWM:").unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_peak_at_least_its_resident_size() {
        let rss = status_mb(std::process::id(), "VmRSS:").expect("Linux /proc");
        assert!(rss > 0.0);
        assert!(peak_mb() >= rss);
        assert_eq!(status_mb(std::process::id(), "NoSuchField:"), None);
    }
}
