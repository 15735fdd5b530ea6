//! The bench's results: one row per server and scenario, printed as a table (Summit and Janus
//! side by side, with the ratio) or written as JSON.

use std::fmt::Write as _;

use serde::Serialize;

/// What one server did in one scenario's measuring window.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    /// Scenario name (`ramp +N` for a ramp step).
    pub(crate) scenario: String,
    /// `summit` or `janus`.
    pub(crate) server: &'static str,
    /// Measuring window, seconds.
    pub(crate) seconds: f64,
    /// Packets that reached a receiver, per second.
    pub(crate) forwarded_per_second: f64,
    /// Server CPU as a share of one core.
    pub(crate) server_cpu: f64,
    /// Server CPU-seconds per million forwarded packets.
    pub(crate) cpu_seconds_per_million: f64,
    /// Forwarded packets per server CPU-second.
    pub(crate) packets_per_cpu_second: f64,
    /// Added latency, ms: p50, p99, p99.9 (send by one peer to receipt by another).
    pub(crate) latency_ms: [f64; 3],
    /// Packets sent in the window that never arrived, as a share of those expected.
    pub(crate) loss: f64,
    /// Server resident memory, MiB.
    pub(crate) server_rss_mib: f64,
    /// The generator's CPU as a share of one core.
    pub(crate) generator_cpu: f64,
    /// How late the generator sent what was due, p99, ms.
    pub(crate) generator_lag_p99_ms: f64,
}

/// A whole run.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// When it ran (RFC 3339).
    pub(crate) date: String,
    /// The machine (CPU model and count, kernel).
    pub(crate) machine: String,
    /// One-way latency between the server's and the generator's CPU with no server (a UDP
    /// echo), p50 and p99, ms: what any server pays before forwarding.
    pub(crate) floor_ms: [f64; 2],
    /// Every measured row, in order.
    pub(crate) rows: Vec<Row>,
    /// Why the ramp stopped, per server.
    pub(crate) ramp_stops: Vec<(String, String)>,
}

fn ms(v: f64) -> String {
    format!("{v:.2}")
}

impl Report {
    /// The table a person reads (Markdown, so it goes into docs/performance.md as is).
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Run {} on {}.", self.date, self.machine);
        let _ = writeln!(
            out,
            "Latency floor between the two CPUs (UDP echo, no server): p50 {} ms, p99 {} ms.\n",
            ms(self.floor_ms[0]),
            ms(self.floor_ms[1])
        );
        out.push_str("| scenario | server | forwarded pkt/s | server CPU | CPU-s per M pkt | pkt per CPU-s | p50 ms | p99 ms | p99.9 ms | loss | server RSS | generator CPU, lag p99 |\n");
        out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.1}% | {:.2} | {:.0} | {} | {} | {} | {:.3}% | {:.0} MiB | {:.0}%, {} ms |",
                r.scenario,
                r.server,
                r.forwarded_per_second,
                r.server_cpu * 100.0,
                r.cpu_seconds_per_million,
                r.packets_per_cpu_second,
                ms(r.latency_ms[0]),
                ms(r.latency_ms[1]),
                ms(r.latency_ms[2]),
                r.loss * 100.0,
                r.server_rss_mib,
                r.generator_cpu * 100.0,
                ms(r.generator_lag_p99_ms),
            );
        }
        let ratios: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r.server == "summit")
            .filter_map(|s| {
                let j = self
                    .rows
                    .iter()
                    .find(|j| j.server == "janus" && j.scenario == s.scenario)?;
                (j.packets_per_cpu_second > 0.0).then(|| {
                    format!(
                        "- {}: Summit forwards {:.1}× as many packets per CPU-second as Janus (p99 {} ms against {} ms).",
                        s.scenario,
                        s.packets_per_cpu_second / j.packets_per_cpu_second,
                        ms(s.latency_ms[1]),
                        ms(j.latency_ms[1]),
                    )
                })
            })
            .collect();
        if !ratios.is_empty() {
            out.push('\n');
            out.push_str(&ratios.join("\n"));
            out.push('\n');
        }
        for (server, why) in &self.ramp_stops {
            let _ = writeln!(out, "- Ramp, {server}: {why}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(server: &'static str, ppcs: f64) -> Row {
        Row {
            scenario: "1-to-50".into(),
            server,
            seconds: 10.0,
            forwarded_per_second: 12_000.0,
            server_cpu: 0.1,
            cpu_seconds_per_million: 1e6 / ppcs,
            packets_per_cpu_second: ppcs,
            latency_ms: [0.2, 0.5, 0.9],
            loss: 0.0,
            server_rss_mib: 20.0,
            generator_cpu: 0.3,
            generator_lag_p99_ms: 0.1,
        }
    }

    #[test]
    fn the_table_puts_servers_side_by_side_with_their_ratio() {
        let report = Report {
            date: "2026-11-28".into(),
            machine: "test".into(),
            floor_ms: [0.1, 0.3],
            rows: vec![row("summit", 200_000.0), row("janus", 80_000.0)],
            ramp_stops: vec![("summit".into(), "p99 passed 5 ms at 300 receivers".into())],
        };
        let t = report.table();
        assert!(
            t.contains("| 1-to-50 | summit | 12000 | 10.0% | 5.00 | 200000 |"),
            "{t}"
        );
        assert!(
            t.contains("2.5× as many packets per CPU-second as Janus"),
            "{t}"
        );
        assert!(t.contains("Ramp, summit: p99 passed 5 ms"), "{t}");
    }
}
