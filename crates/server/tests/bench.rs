//! `summit bench` end to end on loopback: a real `summit serve`, fifty-one simulated peers (the
//! publisher in three simulcast layers) over UDP, and figures that say the media arrived. Speed targets live in the benchmark itself
//! (docs/performance.md); this only checks that it measures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

#[test]
fn bench_measures_a_one_to_fifty_meeting_and_writes_json() {
    let work = std::env::temp_dir().join(format!("summit-bench-test-{}", std::process::id()));
    let json = work.join("bench.json");
    let out = Command::new(env!("CARGO_BIN_EXE_summit"))
        .args([
            "bench",
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
    assert!(table.contains("| 1-to-50 | summit |"), "{table}");
    assert!(table.contains("| 1-to-50 | summit-no-bwe |"), "{table}");

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
    let bwe = &report["rows"][1];
    assert_eq!(bwe["server"], "summit", "{bwe}");
    assert!(
        bwe["forwarded_per_second"].as_f64().unwrap() > 1_000.0,
        "{bwe}"
    );
    assert!(bwe["server_cpu"].as_f64().unwrap() > 0.0, "{bwe}");
    let _ = std::fs::remove_dir_all(&work);
}
