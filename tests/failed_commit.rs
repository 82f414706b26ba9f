//! What a failed commit does (fail-stop, `Hub::fail`): the batch whose commit failed is never
//! acknowledged or published, nothing after it is released either, and the server stops with an
//! error (the binary exits non-zero) instead of running on with memory the disk does not hold.
//! On restart the disk is the truth: what was acknowledged is there, what failed is not.
//!
//! The store runs on a redb backend that fails every write and sync while the test's
//! `FaultSwitch` is on (real file, real redb, a fault injected below redb).

mod common;

use common::in_process::InProcess;
use common::*;
use serde_json::json;
use std::sync::Arc;
use switchboard::server::ServerError;
use switchboard::store::records::MessageRecord;
use switchboard::store::{FaultSwitch, Store, StoreOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_commit_acknowledges_nothing_and_stops_the_server() {
    let faults = Arc::new(FaultSwitch::default());
    let options = StoreOptions {
        faults: Some(faults.clone()),
        ..StoreOptions::default()
    };
    let config =
        Config::new()
            .operators(&["anna"])
            .line(line("support", "strict", &["anna"], "60s"));
    let server = InProcess::start_with_store("failed-commit", &config, options);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "before the fault").await, "dialog_id");
    anna.offered(d).await;

    faults.fail();
    let req = widget.req();
    widget
        .send(json!({"type": "message", "req": req, "client_msg_id": "m2", "text": "lost in the fault"}))
        .await;
    widget
        .assert_none_within(QUIET, "an ack of a message whose commit failed", |f| {
            f["req"].as_u64() == Some(req) && frame_type(f) == "ack"
        })
        .await;
    anna.assert_none_within(QUIET, "a message whose commit failed", |f| {
        is_message_with_text(f, "lost in the fault")
    })
    .await;

    let (served, dir) = server.stopped_by_itself().await;
    assert!(
        matches!(served, Err(ServerError::CommitFailed(_))),
        "the server must stop with the failed commit, got {served:?}"
    );

    // The disk is the truth: the acknowledged message is there, the failed one is not.
    drop((anna, widget));
    faults.heal();
    let store = reopen(&dir.join("data")).await;
    let texts: Vec<String> = store
        .messages(d, 0, u64::MAX, 100)
        .expect("read the dialog's messages")
        .iter()
        .map(|(_, bytes)| {
            rmp_serde::from_slice::<MessageRecord>(bytes)
                .expect("a stored message decodes")
                .text
        })
        .collect();
    assert!(
        texts.iter().any(|t| t == "before the fault"),
        "the acknowledged message survives: {texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t == "lost in the fault"),
        "the message whose commit failed is not on disk: {texts:?}"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Opens the store again once the stopped server's last handles (its shard tasks, closing
/// sessions) have let go of the file; bounded by [`RECV_TIMEOUT`].
async fn reopen(data_dir: &std::path::Path) -> Store {
    let deadline = tokio::time::Instant::now() + RECV_TIMEOUT;
    loop {
        match Store::open(data_dir, StoreOptions::default()) {
            Ok(store) => return store,
            Err(switchboard::store::StoreError::Locked { .. })
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await
            }
            Err(e) => panic!("reopen the store: {e}"),
        }
    }
}
