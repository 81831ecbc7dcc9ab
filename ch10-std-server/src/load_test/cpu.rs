//! Process CPU time, read from `/proc` (Linux only; `None` elsewhere).
//!
//! The precise source is the first field of `/proc/<pid>/task/<tid>/schedstat`: nanoseconds
//! each live thread has spent on a CPU. Threads that have exited are missing from that sum, so
//! for a whole process over a long run `/proc/<pid>/stat`'s `utime + stime` (clock ticks, 100 a
//! second on Linux) is the fallback, and the first choice when exited threads matter.

use std::time::Duration;

/// Clock ticks per second in `/proc/<pid>/stat` (`USER_HZ`, 100 on every Linux ABI).
const TICKS_PER_SECOND: u64 = 100;

/// CPU time of process `pid` (`None` = this process) summed over its live threads, in
/// nanoseconds; falls back to [`process_cpu_ticks`] if `schedstat` is unavailable.
pub fn process_cpu(pid: Option<u32>) -> Option<Duration> {
    schedstat_sum(pid).or_else(|| process_cpu_ticks(pid))
}

/// `utime + stime` of process `pid` (`None` = this process), including threads that exited;
/// 10 ms resolution.
pub fn process_cpu_ticks(pid: Option<u32>) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{}/stat", pid_part(pid))).ok()?;
    // The command name (field 2) may contain spaces; the fields after its `)` are fixed.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After `)`: state is index 0, so utime (field 14) is index 11 and stime index 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SECOND,
    ))
}

fn schedstat_sum(pid: Option<u32>) -> Option<Duration> {
    let dir = std::fs::read_dir(format!("/proc/{}/task", pid_part(pid))).ok()?;
    let mut total: u64 = 0;
    let mut any = false;
    for entry in dir.flatten() {
        let path = entry.path().join("schedstat");
        let Ok(text) = std::fs::read_to_string(path) else {
            continue; // the thread exited meanwhile
        };
        if let Some(ns) = text
            .split_whitespace()
            .next()
            .and_then(|f| f.parse::<u64>().ok())
        {
            total += ns;
            any = true;
        }
    }
    any.then(|| Duration::from_nanos(total))
}

/// CPU time of the calling thread (from `/proc/thread-self/schedstat`).
pub fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn pid_part(pid: Option<u32>) -> String {
    pid.map_or_else(|| "self".to_string(), |p| p.to_string())
}

/// CPU used over `wall` as a share of one core (0.01 = 1 %).
pub fn share_of_core(cpu: Duration, wall: Duration) -> f64 {
    if wall.is_zero() {
        0.0
    } else {
        cpu.as_secs_f64() / wall.as_secs_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn busy_work_shows_up_in_both_sources() {
        // Other tests' threads come and go in this process, so look at this thread alone for
        // the precise figure, and only check that the whole-process figure moves forward.
        let before = thread_cpu().unwrap();
        let ticks_before = process_cpu_ticks(None).unwrap();
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        let used = thread_cpu().unwrap().saturating_sub(before);
        assert!(used >= Duration::from_millis(50), "{used:?}");
        assert!(used <= Duration::from_millis(500), "{used:?}");
        assert!(process_cpu_ticks(None).unwrap() >= ticks_before);
        assert!(process_cpu(None).is_some());
    }
}
