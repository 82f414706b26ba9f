//! `--find-max --compare-baseline` as a person runs it: the real load generator searches the
//! plain relay, the durable relay and the real server binary (built next to it by
//! `cargo test --workspace`), in that order, and reports each search.

mod common;

use common::run_load;

#[test]
fn find_max_with_baselines_searches_both_relays_then_switchboard() {
    let output = run_load(&[
        "--spawn",
        "--scenario",
        "firehose",
        "--dialogs",
        "20",
        "--rate",
        "100",
        "--duration",
        "1s",
        "--warmup",
        "0s",
        "--find-max",
        "--find-max-steps",
        "1",
        "--p99-max-ms",
        "1000",
        "--compare-baseline",
        "--json",
        "--quiet",
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{}:\n{stdout}\n{stderr}",
        output.status
    );
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON report");
    let searches = report["find_max"].as_array().expect("find_max searches");
    let targets: Vec<&str> = searches
        .iter()
        .map(|s| s["target"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        targets,
        ["relay", "durable-relay", "switchboard"],
        "{stdout}"
    );
    for search in searches {
        let steps = search["steps"].as_array().expect("steps");
        assert_eq!(steps.len(), 1, "{search}");
        assert_eq!(steps[0]["rate"], 100.0, "{search}");
    }
}
