//! CPU time and memory of a process, from Linux's /proc.

use std::time::Duration;

use anyhow::{bail, Context};

/// Linux reports CPU time in USER_HZ ticks, 100 per second on every architecture it runs on.
const TICKS_PER_SECOND: u64 = 100;

/// One reading of a process's counters.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// User and system CPU time of all its threads so far.
    pub(crate) cpu: Duration,
    /// Resident memory now, in bytes.
    pub(crate) rss: u64,
}

/// Reads process `pid` (`None`: this process).
pub(crate) fn sample(pid: Option<u32>) -> anyhow::Result<Sample> {
    let dir = match pid {
        Some(p) => format!("/proc/{p}"),
        None => "/proc/self".into(),
    };
    let stat = std::fs::read_to_string(format!("{dir}/stat"))
        .with_context(|| format!("cannot read {dir}/stat (the process has exited?)"))?;
    let status = std::fs::read_to_string(format!("{dir}/status"))
        .with_context(|| format!("cannot read {dir}/status"))?;
    Ok(Sample {
        cpu: cpu_of_stat(&stat)?,
        rss: rss_of_status(&status).unwrap_or(0),
    })
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line; the name before them may
/// hold spaces and parentheses, so fields are counted from the last ')'.
fn cpu_of_stat(stat: &str) -> anyhow::Result<Duration> {
    let Some(rest) = stat.rfind(')').and_then(|i| stat.get(i + 1..)) else {
        bail!("unexpected /proc stat line");
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| -> anyhow::Result<u64> {
        fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .context("unexpected /proc stat line")
    };
    // Field 3 (state) is the first after the name: utime is field 14, so index 11 here.
    let ticks = tick(11)? + tick(12)?;
    Ok(Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND))
}

fn rss_of_status(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_memory_are_read_from_proc() {
        let line = "4242 (sum mit) (x)) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 75 0 0 20 0 9 0";
        assert_eq!(cpu_of_stat(line).ok(), Some(Duration::from_millis(3_250)));
        assert!(cpu_of_stat("garbage").is_err());
        assert_eq!(
            rss_of_status("Name:\tx\nVmRSS:\t  2048 kB\n"),
            Some(2 * 1024 * 1024)
        );
        let me = sample(None).unwrap_or(Sample {
            cpu: Duration::ZERO,
            rss: 0,
        });
        assert!(me.rss > 0);
    }
}
