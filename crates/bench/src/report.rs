//! The bench's results: one row per server and scenario, printed as a table (Summit and Janus
//! side by side, with the ratio) or written as JSON.

use std::fmt::Write as _;

use serde::Serialize;

/// What one server did in one scenario's measuring window.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    /// Scenario name (`ramp +N` for a ramp step).
    pub(crate) scenario: String,
    /// `summit`, `summit-no-bwe` or `janus`; `summit@LABEL` when builds are compared.
    pub(crate) server: String,
    /// Measuring window, seconds.
    pub(crate) seconds: f64,
    /// Packets that reached a receiver, per second.
    pub(crate) forwarded_per_second: f64,
    /// Server CPU as a share of one core.
    pub(crate) server_cpu: f64,
    /// Server CPU-seconds per million forwarded packets.
    pub(crate) cpu_seconds_per_million: f64,
    /// With `--repeat`, that figure in every run, lowest first (this row is the median run).
    pub(crate) cpu_seconds_per_million_runs: Vec<f64>,
    /// With `--repeat`, every run's p99 latency (ms), lowest first: p99 moves more between
    /// runs than CPU does, so comparisons of it take the median of these.
    pub(crate) p99_ms_runs: Vec<f64>,
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
    /// (receiver, stream) pairs that delivered at least once, of those the scenario has.
    pub(crate) streams_flowing: usize,
    pub(crate) streams_expected: usize,
    /// In a join storm: what the joiners got and what they cost the media task.
    pub(crate) storm: Option<StormFigures>,
}

/// A join storm's own figures.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StormFigures {
    /// (receiver, stream) pairs of the joiners flowing at the end, of those expected.
    pub(crate) joined_streams: usize,
    pub(crate) expected_streams: usize,
    /// The media task's stalls over 5 ms during the window (`None`: the build does not count
    /// them).
    pub(crate) stalls: Option<super::summit::Stalls>,
    /// With `--repeat`: the stalls of every run added up, and how many runs counted them.
    pub(crate) stalls_in_all_runs: Option<(usize, super::summit::Stalls)>,
}

/// The generator counts as the limit past 90 % of its CPU or 5 ms late at p99.
const GENERATOR_CPU_LIMIT: f64 = 0.90;
const GENERATOR_LAG_LIMIT_MS: f64 = 5.0;

impl Row {
    /// Whether the generator, not the server, limited this measurement.
    pub(crate) fn generator_limited(&self) -> bool {
        self.generator_cpu > GENERATOR_CPU_LIMIT
            || self.generator_lag_p99_ms > GENERATOR_LAG_LIMIT_MS
    }
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
    /// Scenarios a server could not complete: (scenario, server, why).
    pub(crate) failures: Vec<(String, String, String)>,
}

/// The suffix of a scenario run with its registry in memory.
pub(crate) const MEMORY: &str = " (memory registry)";

/// The middle value of a sorted list (the lower one of an even count); `None` for fewer than 2.
fn median(sorted: &[f64]) -> Option<f64> {
    (sorted.len() > 1).then(|| sorted[(sorted.len() - 1) / 2])
}

fn ms(v: f64) -> String {
    format!("{v:.2}")
}

impl Report {
    /// Notes that `subject` could not complete `scenario`, and why.
    pub(crate) fn failed(&mut self, scenario: &str, subject: &str, e: anyhow::Error) {
        eprintln!("{scenario}, {subject}: failed: {e:#}");
        self.failures
            .push((scenario.into(), subject.into(), format!("{e:#}")));
    }

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
        let storms: Vec<String> = self
            .rows
            .iter()
            .filter_map(|r| {
                let st = r.storm.as_ref()?;
                let stalls = match st.stalls {
                    Some(s) => format!(
                        "media task stalls over 5 ms: {} ({} caused by the registry)",
                        s.any, s.registry
                    ),
                    None => "media task stalls: not counted by this build".into(),
                };
                let stalls = match st.stalls_in_all_runs {
                    Some((runs, s)) if runs > 1 => format!(
                        "{stalls}; in all {runs} runs: {} ({} caused by the registry)",
                        s.any, s.registry
                    ),
                    _ => stalls,
                };
                Some(format!(
                    "- {}, {}: p99 {} ms; joiners' streams flowing {}/{}; {stalls}.",
                    r.scenario,
                    r.server,
                    ms(r.latency_ms[1]),
                    st.joined_streams,
                    st.expected_streams
                ))
            })
            .collect();
        if !storms.is_empty() {
            out.push('\n');
            out.push_str(&storms.join("\n"));
            out.push('\n');
        }
        let ratios: Vec<String> = self
            .rows
            .iter()
            .filter(|r| r.server.starts_with("summit"))
            .filter_map(|s| {
                let j = self
                    .rows
                    .iter()
                    .find(|j| j.server == "janus" && j.scenario == s.scenario)?;
                (j.packets_per_cpu_second > 0.0).then(|| {
                    format!(
                        "- {}: {} forwards {:.1}× as many packets per CPU-second as Janus (p99 {} ms against {} ms).",
                        s.scenario,
                        s.server,
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
        for r in self
            .rows
            .iter()
            .filter(|r| r.streams_flowing < r.streams_expected)
        {
            let _ = writeln!(
                out,
                "- {}, {}: only {} of {} (receiver, stream) pairs ever delivered; the loss counts the rest.",
                r.scenario, r.server, r.streams_flowing, r.streams_expected
            );
        }
        for r in self.rows.iter().filter(|r| r.generator_limited()) {
            let _ = writeln!(
                out,
                "- {}, {}: the generator was the limit ({:.0}% of its CPU, sending {} ms late at p99): these figures say more about the generator than the server.",
                r.scenario,
                r.server,
                r.generator_cpu * 100.0,
                ms(r.generator_lag_p99_ms)
            );
        }
        for r in self
            .rows
            .iter()
            .filter(|r| r.cpu_seconds_per_million_runs.len() > 1)
        {
            let runs: Vec<String> = r
                .cpu_seconds_per_million_runs
                .iter()
                .map(|v| format!("{v:.2}"))
                .collect();
            let _ = writeln!(
                out,
                "- {}, {}: CPU-s per M pkt in {} runs: {} (the row is the median run).",
                r.scenario,
                r.server,
                runs.len(),
                runs.join(", ")
            );
            if let Some(m) = median(&r.p99_ms_runs) {
                let p99s: Vec<String> = r.p99_ms_runs.iter().map(|v| ms(*v)).collect();
                let _ = writeln!(
                    out,
                    "- {}, {}: p99 ms in {} runs: {} (median {}).",
                    r.scenario,
                    r.server,
                    p99s.len(),
                    p99s.join(", "),
                    ms(m)
                );
            }
        }
        // A join storm with the registry on disk against the same build's in memory: what the
        // registry adds to forwarding latency (median p99 over the runs).
        for mem in self.rows.iter().filter(|r| r.scenario.ends_with(MEMORY)) {
            let disk_name = mem.scenario.trim_end_matches(MEMORY);
            let Some(disk) = self
                .rows
                .iter()
                .find(|d| d.scenario == disk_name && d.server == mem.server)
            else {
                continue;
            };
            let p99 = |r: &Row| median(&r.p99_ms_runs).unwrap_or(r.latency_ms[1]);
            let (d, m) = (p99(disk), p99(mem));
            if m > 0.0 {
                let _ = writeln!(
                    out,
                    "- {}, {}: median p99 with the registry on disk {} ms, in memory {} ms ({:+.1}%).",
                    disk_name,
                    mem.server,
                    ms(d),
                    ms(m),
                    (d / m - 1.0) * 100.0
                );
            }
        }
        // Builds compared (`summit@LABEL`): each against the first of its kind.
        for r in &self.rows {
            let Some((kind, _)) = r.server.split_once('@') else {
                continue;
            };
            let Some(base) = self.rows.iter().find(|b| {
                b.scenario == r.scenario && b.server.split_once('@').map(|(k, _)| k) == Some(kind)
            }) else {
                continue;
            };
            if base.server == r.server || base.cpu_seconds_per_million <= 0.0 {
                continue;
            }
            let _ = writeln!(
                out,
                "- {}: {} costs {:+.1}% CPU per forwarded packet against {} (p99 {} ms against {} ms).",
                r.scenario,
                r.server,
                (r.cpu_seconds_per_million / base.cpu_seconds_per_million - 1.0) * 100.0,
                base.server,
                ms(r.latency_ms[1]),
                ms(base.latency_ms[1]),
            );
        }
        for (scenario, server, why) in &self.failures {
            let _ = writeln!(out, "- {scenario}, {server}: not measured: {why}");
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

    fn row(server: &str, ppcs: f64) -> Row {
        Row {
            scenario: "1-to-50".into(),
            server: server.into(),
            seconds: 10.0,
            forwarded_per_second: 12_000.0,
            server_cpu: 0.1,
            cpu_seconds_per_million: 1e6 / ppcs,
            cpu_seconds_per_million_runs: Vec::new(),
            p99_ms_runs: Vec::new(),
            packets_per_cpu_second: ppcs,
            latency_ms: [0.2, 0.5, 0.9],
            loss: 0.0,
            server_rss_mib: 20.0,
            generator_cpu: 0.3,
            generator_lag_p99_ms: 0.1,
            streams_flowing: 100,
            streams_expected: 100,
            storm: None,
        }
    }

    #[test]
    fn the_table_puts_servers_side_by_side_with_their_ratio() {
        let report = Report {
            date: "2026-11-28".into(),
            machine: "test".into(),
            floor_ms: [0.1, 0.3],
            rows: vec![row("summit", 200_000.0), row("janus", 80_000.0), {
                let mut r = row("summit", 1.0);
                r.scenario = "50-audio".into();
                r.generator_lag_p99_ms = 200.0;
                r.streams_flowing = 2150;
                r.streams_expected = 2500;
                r
            }],
            ramp_stops: vec![("summit".into(), "p99 passed 5 ms at 300 receivers".into())],
            failures: vec![(
                "50-audio".into(),
                "janus".into(),
                "only 3 of 2500 streams".into(),
            )],
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
        assert!(
            t.contains("- 50-audio, summit: the generator was the limit"),
            "{t}"
        );
        assert!(!t.contains("- 1-to-50, summit: the generator"), "{t}");
        assert!(
            t.contains("- 50-audio, janus: not measured: only 3 of 2500 streams"),
            "{t}"
        );
    }

    #[test]
    fn a_join_storm_says_what_the_joiners_got_and_cost() {
        let storm = |server: &str, stalls| {
            let mut r = row(server, 100_000.0);
            r.scenario = "join-storm".into();
            r.storm = Some(StormFigures {
                joined_streams: 40,
                expected_streams: 40,
                stalls,
                stalls_in_all_runs: stalls.map(|s| {
                    (
                        3,
                        crate::summit::Stalls {
                            any: s.any + 1,
                            registry: s.registry,
                        },
                    )
                }),
            });
            r
        };
        let counted = Some(crate::summit::Stalls {
            any: 3,
            registry: 0,
        });
        let report = Report {
            date: "2026-12-01".into(),
            machine: "test".into(),
            floor_ms: [0.1, 0.3],
            rows: vec![storm("summit@after", counted), storm("summit@before", None)],
            ramp_stops: Vec::new(),
            failures: Vec::new(),
        };
        let t = report.table();
        assert!(
            t.contains("- join-storm, summit@after: p99 0.50 ms; joiners' streams flowing 40/40; media task stalls over 5 ms: 3 (0 caused by the registry); in all 3 runs: 4 (0 caused by the registry)."),
            "{t}"
        );
        assert!(
            t.contains("- join-storm, summit@before: p99 0.50 ms; joiners' streams flowing 40/40; media task stalls: not counted by this build."),
            "{t}"
        );
    }

    #[test]
    fn two_builds_are_compared_with_every_run_shown() {
        let mut after = row("summit@after", 180_000.0);
        after.cpu_seconds_per_million_runs = vec![5.4, 5.56, 6.0];
        let report = Report {
            date: "2026-12-01".into(),
            machine: "test".into(),
            floor_ms: [0.1, 0.3],
            rows: vec![row("summit@before", 200_000.0), after],
            ramp_stops: Vec::new(),
            failures: Vec::new(),
        };
        let t = report.table();
        assert!(
            t.contains("- 1-to-50: summit@after costs +11.1% CPU per forwarded packet against summit@before"),
            "{t}"
        );
        assert!(
            t.contains("- 1-to-50, summit@after: CPU-s per M pkt in 3 runs: 5.40, 5.56, 6.00"),
            "{t}"
        );
        assert!(!t.contains("summit@before costs"), "{t}");
    }

    #[test]
    fn a_join_storm_compares_the_median_p99_on_disk_and_in_memory() {
        let mut disk = row("summit@after", 180_000.0);
        disk.scenario = "join-storm".into();
        disk.cpu_seconds_per_million_runs = vec![5.0, 5.5, 6.0];
        disk.p99_ms_runs = vec![40.0, 55.0, 80.0];
        let mut memory = row("summit@after", 180_000.0);
        memory.scenario = format!("join-storm{MEMORY}");
        memory.cpu_seconds_per_million_runs = vec![5.0, 5.5, 6.0];
        memory.p99_ms_runs = vec![45.0, 50.0, 90.0];
        let report = Report {
            date: "2026-12-01".into(),
            machine: "test".into(),
            floor_ms: [0.1, 0.3],
            rows: vec![disk, memory],
            ramp_stops: Vec::new(),
            failures: Vec::new(),
        };
        let t = report.table();
        assert!(
            t.contains(
                "- join-storm, summit@after: p99 ms in 3 runs: 40.00, 55.00, 80.00 (median 55.00)."
            ),
            "{t}"
        );
        assert!(
            t.contains("- join-storm, summit@after: median p99 with the registry on disk 55.00 ms, in memory 50.00 ms (+10.0%)."),
            "{t}"
        );
    }
}
