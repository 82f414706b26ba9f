//! `switchboard store inspect` / `store export` on a data directory the real server wrote, and a
//! damaged data file: the service refuses to start, names the file, and leaves it untouched.

mod common;

use common::*;
use serde_json::json;
use std::process::Command;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_and_export_show_what_the_server_stored() {
    let config = Config::new().operators(&["anna"]).line(
        line("support", "strict", &["anna"], "1m")
            .section("[lines.consent]\ntext = \"We store your data.\"\nversion = 2"),
    );
    let mut server = Server::start("store-cli", &config);
    let mut widget = Widget::join(&server, "support", "c1").await;
    widget.expect("consent_request").await;
    widget
        .ack(json!({"type": "consent", "accepted": true}))
        .await;
    let d = field_u64(&widget.say("m1", "first words").await, "dialog_id");
    widget.say("m2", "second words").await;
    // A second client's dialog ends: its summary is stored
    let mut leaving = Widget::join(&server, "support", "c2").await;
    let closed = field_u64(&leaving.say("m1", "never mind").await, "dialog_id");
    leaving.ack(json!({"type": "close"})).await;
    server.terminate();
    assert_eq!(
        server
            .wait_exit(Duration::from_secs(10))
            .and_then(|s| s.code()),
        Some(0)
    );
    let data = server.dir.join("data");

    let out = Command::new(BIN)
        .args(["store", "inspect", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("messages: 3 in 2 dialogs"), "{text}");
    assert!(text.contains("open dialogs: 1"), "{text}");
    assert!(text.contains("closed dialog summaries: 1"), "{text}");
    assert!(text.contains("consent answers: 1"), "{text}");
    assert!(text.contains("format version: 1"), "{text}");

    let out = Command::new(BIN)
        .args(["store", "export", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    let messages: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["kind"] == "message").collect();
    let messages: Vec<&serde_json::Value> = messages
        .into_iter()
        .filter(|m| m["dialog_id"] == d)
        .collect();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["dialog_id"], d);
    assert_eq!(messages[0]["message"]["text"], "first words");
    assert_eq!(messages[1]["seq"], 2);
    let dialogs: Vec<&serde_json::Value> = lines.iter().filter(|l| l["kind"] == "dialog").collect();
    assert_eq!(dialogs.len(), 1);
    assert_eq!(dialogs[0]["dialog"]["record"]["id"], d);
    let summaries: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["kind"] == "closed_dialog")
        .collect();
    assert_eq!(summaries.len(), 1, "{lines:?}");
    assert_eq!(summaries[0]["dialog_id"], closed);
    let consents: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["kind"] == "consent").collect();
    assert_eq!(consents.len(), 1, "{lines:?}");
    let consent = &consents[0]["consent"];
    assert_eq!(consent["line"], "support", "{consent}");
    assert_eq!(consent["client_id"], "c1");
    assert_eq!(consent["version"], 2);
    assert_eq!(consent["accepted"], true);
}

#[test]
fn a_damaged_data_file_stops_the_start_and_is_left_untouched() {
    let dir = std::env::temp_dir().join(format!("switchboard-damaged-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let file = dir.join("data").join("switchboard.redb");
    let garbage: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&file, &garbage).unwrap();
    let example = std::fs::read_to_string("deploy/switchboard.toml").unwrap();
    let config = example
        .replace("listen = \"127.0.0.1:7878\"", "listen = \"127.0.0.1:0\"")
        .replace(
            "./switchboard-data",
            &dir.join("data").display().to_string(),
        );
    std::fs::write(dir.join("config.toml"), config).unwrap();
    let out = Command::new(BIN)
        .arg("serve")
        .arg("--config")
        .arg(dir.join("config.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("switchboard.redb"),
        "the error names the file: {stderr}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        garbage,
        "the damaged file was not touched"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
