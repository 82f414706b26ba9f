//! The crash scenario as CI runs it: a short seeded run of the real load generator against the
//! real server binary (built next to it by `cargo test --workspace`), killed with SIGKILL three
//! times; every check of the verdict table must pass.

mod common;

use common::run_load;

#[test]
fn three_sigkill_rounds_lose_nothing() {
    let output = run_load(&[
        "--spawn",
        "--scenario",
        "crash",
        "--rounds",
        "3",
        "--seed",
        "11",
        "--dialogs",
        "60",
        "--operators",
        "4",
        "--rate",
        "600",
        "--quiet",
    ]);
    let table = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "crash run failed ({}):\n{table}\n{stderr}",
        output.status
    );
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 12, "a header and 11 checks:\n{table}");
    for row in &rows[1..] {
        assert!(row.ends_with("| ok |"), "{row}\n{table}");
        let checked: u64 = row.split('|').nth(2).unwrap().trim().parse().unwrap();
        assert!(checked > 0, "a check that looked at nothing: {row}");
    }
    assert!(table.contains("3 rounds of SIGKILL"), "{table}");
}
