//! `summit-bench` end to end on loopback: a real `summit serve`, fifty-one simulated peers (the
//! publisher in three simulcast layers) over UDP, and figures that say the media arrived; two
//! builds compared side by side (here the same binary under two labels). Speed targets live in
//! the benchmark itself (docs/performance.md); this only checks that it measures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn bench_measures_a_one_to_fifty_meeting_and_writes_json() {
    // Cargo builds the workspace's binaries into one folder; a test of this crate alone
    // cannot ask it for another crate's binary.
    let summit = Path::new(env!("CARGO_BIN_EXE_summit-bench")).with_file_name("summit");
    assert!(
        summit.is_file(),
        "{} is missing: build it first (cargo build -p summit, with this test's profile)",
        summit.display()
    );
    let work = std::env::temp_dir().join(format!("summit-bench-test-{}", std::process::id()));
    let json = work.join("bench.json");
    let out = Command::new(env!("CARGO_BIN_EXE_summit-bench"))
        .args([
            "--scenarios",
            "1-to-50",
            "--servers",
            "summit-no-bwe,summit",
            // Publishers send three layers as browsers do; with no tile sizes reported,
            // receivers get the top one when their link carries it.
            "--simulcast",
            "--seconds",
            "3",
            "--no-pin",
        ])
        .arg(format!("--summit-bin=before={}", summit.display()))
        .arg(format!("--summit-bin=after={}", summit.display()))
        .arg("--work")
        .arg(&work)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // Progress is shown while it runs, the table at the end.
    assert!(stderr.contains("streams flowing"), "{stderr}");
    assert!(stderr.contains("measuring  3/3 s"), "{stderr}");
    let table = String::from_utf8_lossy(&out.stdout);
    for server in [
        "summit-no-bwe@before",
        "summit-no-bwe@after",
        "summit@before",
        "summit@after",
    ] {
        assert!(
            table.contains(&format!("| 1-to-50 | {server} |")),
            "{table}"
        );
    }
    assert!(
        table.contains("- 1-to-50: summit@after costs ")
            && table.contains("CPU per forwarded packet against summit@before"),
        "{table}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let row = &report["rows"][0];
    // One publisher's top layer and audio at ~240 packets/s reaching fifty receivers: ~12,000
    // packets/s.
    let forwarded = row["forwarded_per_second"].as_f64().unwrap();
    assert!((8_000.0..16_000.0).contains(&forwarded), "{row}");
    assert!(row["loss"].as_f64().unwrap() < 0.05, "{row}");
    let latency: Vec<f64> = row["latency_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(
        latency[0] > 0.0 && latency[0] <= latency[1] && latency[1] <= latency[2],
        "{row}"
    );
    assert!(row["server_cpu"].as_f64().unwrap() > 0.0, "{row}");
    assert!(row["server_rss_mib"].as_f64().unwrap() > 1.0, "{row}");
    // With bandwidth estimation (the default) it is measured too; in this unoptimized build
    // fifty paced subscribers cost far more CPU, so only that it was measured is checked.
    let bwe = &report["rows"][2];
    assert_eq!(bwe["server"], "summit@before", "{bwe}");
    assert!(
        bwe["forwarded_per_second"].as_f64().unwrap() > 1_000.0,
        "{bwe}"
    );
    assert!(bwe["server_cpu"].as_f64().unwrap() > 0.0, "{bwe}");
    let _ = std::fs::remove_dir_all(&work);
}
