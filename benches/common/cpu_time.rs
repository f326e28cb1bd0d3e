//! CPU time of the whole process, for benchmarks on a machine shared with other work: wall time
//! there measures the load as much as the code, CPU time per inference the code alone.

use std::time::Duration;

/// CPU time all threads of this process have run so far (Linux's per-thread schedstat, in ns;
/// zero where /proc is missing).
pub fn cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Duration::ZERO };
    let ns: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(ns)
}
