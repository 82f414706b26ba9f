//! Long open dialogs, end to end against the real binary: once a dialog holds more than twice
//! `KEPT_MESSAGES` (32) messages and the older ones are durable, those leave memory and are read
//! back from the store. These tests grow one dialog past that (150 client messages, each acked
//! before the next is sent, so each is its own commit) and check what must still hold:
//!
//! - an operator's `history` of the open dialog joins store and memory: the newest page, a page
//!   wholly in the store and one across the boundary, gap-free, with the right ids and texts;
//! - a resuming widget (`hello {resume_token, last_seq}`) gets every message after its
//!   `last_seq`, in order, once;
//! - a client or operator message repeating the `client_msg_id` of a message that left memory
//!   gets that message's ack (same `msg_id` and `seq`) and is not stored or delivered again;
//! - after `kill -9` and a restart on the same data directory, all of that still holds, and the
//!   next message continues the dialog's numbering with a message id never handed out before.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// How many messages the client writes in the long dialog.
const LONG: u64 = 150;

/// One line, `support`, with anna in its queue; rate limits out of the way of a fast writer.
fn config() -> Config {
    Config::new()
        .operators(&["anna"])
        .line(line("support", "strict", &["anna"], "60s"))
        .limit("messages_per_sec", "100000")
        .limit("messages_burst", "100000")
}

/// An acknowledged message of the dialog.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sent {
    msg_id: u64,
    author: &'static str,
    text: String,
}

/// Every message of one dialog, by seq (1, 2, 3… without a gap).
type Log = BTreeMap<u64, Sent>;

fn client_key(i: u64) -> String {
    format!("cm-{i}")
}

fn client_text(i: u64) -> String {
    format!("client message #{i}")
}

/// The seq the next message of the dialog must get.
fn next_seq(log: &Log) -> u64 {
    log.len() as u64 + 1
}

/// The client's message #`i` in dialog `d`: its ack must name `d` and the next seq; it is
/// logged. Returns the ack.
async fn client_says(widget: &mut Widget, d: u64, i: u64, log: &mut Log) -> Value {
    let ack = widget.say(&client_key(i), &client_text(i)).await;
    assert_eq!(field_u64(&ack, "dialog_id"), d, "message #{i}: {ack}");
    let seq = next_seq(log);
    assert_eq!(field_u64(&ack, "seq"), seq, "message #{i}: {ack}");
    let sent = Sent {
        msg_id: field_u64(&ack, "msg_id"),
        author: "client",
        text: client_text(i),
    };
    log.insert(seq, sent);
    ack
}

/// Anna's message in dialog `d` with key `key`: its ack must carry the next seq; it is logged.
async fn operator_says(anna: &mut Operator, d: u64, key: &str, text: &str, log: &mut Log) -> Value {
    let ack = anna.say(d, key, text).await;
    assert_eq!(field_u64(&ack, "dialog_id"), d, "{ack}");
    let seq = next_seq(log);
    assert_eq!(field_u64(&ack, "dialog_seq"), seq, "{ack}");
    let sent = Sent {
        msg_id: field_u64(&ack, "msg_id"),
        author: "operator",
        text: text.to_string(),
    };
    log.insert(seq, sent);
    ack
}

/// A dialog of client `c1` on `support`, held by anna.
struct Dialog {
    anna: Operator,
    widget: Widget,
    d: u64,
    log: Log,
}

/// Anna connects; client `c1` opens a dialog with message #1 and anna accepts it.
async fn accepted_dialog(server: &Server) -> Dialog {
    let mut anna = Operator::connect(server, "anna").await;
    let mut widget = Widget::join(server, "support", "c1").await;
    let mut log = Log::new();
    let first = widget.say(&client_key(1), &client_text(1)).await;
    let d = field_u64(&first, "dialog_id");
    assert_eq!(field_u64(&first, "seq"), 1, "{first}");
    log.insert(
        1,
        Sent {
            msg_id: field_u64(&first, "msg_id"),
            author: "client",
            text: client_text(1),
        },
    );
    anna.offered(d).await;
    anna.accept(d).await;
    Dialog {
        anna,
        widget,
        d,
        log,
    }
}

/// An accepted dialog in which the client wrote messages #1..=#[`LONG`], one at a time.
async fn long_dialog(server: &Server) -> Dialog {
    let mut dialog = accepted_dialog(server).await;
    for i in 2..=LONG {
        client_says(&mut dialog.widget, dialog.d, i, &mut dialog.log).await;
    }
    dialog
}

/// The messages of an operator's `history` page of dialog `d`.
async fn history(anna: &mut Operator, d: u64, before: Option<u64>, limit: u64) -> Vec<Value> {
    let mut request = json!({"type": "history", "dialog_id": d, "limit": limit});
    if let Some(before) = before {
        request["before_seq"] = json!(before);
    }
    let reply = anna.request(request.clone()).await;
    assert_eq!(frame_type(&reply), "history", "{request} got {reply}");
    assert_eq!(reply["dialog_id"], d, "{reply}");
    reply["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("history without messages: {reply}"))
        .clone()
}

/// `message` (a history or widget frame) is message `seq` of dialog `d` as logged.
fn assert_logged(message: &Value, d: u64, seq: u64, log: &Log, what: &str) {
    let sent = log
        .get(&seq)
        .unwrap_or_else(|| panic!("{what}: seq {seq} was never acknowledged"));
    assert_eq!(message["dialog_id"], d, "{what}: {message}");
    assert_eq!(field_u64(message, "seq"), seq, "{what}: {message}");
    assert_eq!(
        field_u64(message, "msg_id"),
        sent.msg_id,
        "{what}: {message}"
    );
    assert_eq!(field_str(message, "text"), sent.text, "{what}: {message}");
    assert_eq!(
        field_str(message, "author"),
        sent.author,
        "{what}: {message}"
    );
}

/// The history page `before` / `limit` of dialog `d` is exactly messages `seqs` of `log`, oldest
/// first.
async fn assert_page(
    anna: &mut Operator,
    d: u64,
    (before, limit): (Option<u64>, u64),
    seqs: std::ops::RangeInclusive<u64>,
    log: &Log,
) {
    let page = history(anna, d, before, limit).await;
    let what = format!("history before_seq {before:?} limit {limit}");
    let got: Vec<u64> = page.iter().map(|m| field_u64(m, "seq")).collect();
    let want: Vec<u64> = seqs.collect();
    assert_eq!(got, want, "{what}: wrong seqs");
    for message in &page {
        assert_logged(message, d, field_u64(message, "seq"), log, &what);
    }
}

/// A new widget connection of `c1` resuming with `token` and `last_seq`.
async fn resume(server: &Server, token: &str, last_seq: u64) -> Widget {
    let hello = json!({
        "type": "hello",
        "line": "support",
        "resume_token": token,
        "last_seq": last_seq
    });
    Widget::connect(server, hello, Enc::Json).await
}

/// `widget`, resumed with `last_seq`, is told dialog `d` and gets every logged message after
/// `last_seq`, in order, and nothing more.
async fn assert_replayed(widget: &mut Widget, d: u64, last_seq: u64, log: &Log) {
    assert_eq!(widget.welcome["client_id"], "c1", "{}", widget.welcome);
    assert_eq!(widget.welcome["dialog_id"], d, "{}", widget.welcome);
    let last = next_seq(log) - 1;
    for seq in last_seq + 1..=last {
        let (message, _) = widget
            .recv_where(&format!("replayed message seq {seq}"), |f| {
                frame_type(f) == "message"
            })
            .await;
        assert_logged(&message, d, seq, log, "resumed widget");
    }
    widget
        .assert_none_within(QUIET, "a message after the replay", |f| {
            frame_type(f) == "message"
        })
        .await;
}

/// The widget re-sends message #`i` (same key, same text): the ack is the first one, and the
/// dialog did not grow.
async fn assert_repeat_acked(widget: &mut Widget, d: u64, i: u64, log: &Log) {
    let (seq, sent) = log
        .iter()
        .find(|(_, s)| s.text == client_text(i))
        .unwrap_or_else(|| panic!("message #{i} is not logged"));
    let again = widget.say(&client_key(i), &client_text(i)).await;
    assert_eq!(field_u64(&again, "dialog_id"), d, "repeat of #{i}: {again}");
    assert_eq!(
        field_u64(&again, "msg_id"),
        sent.msg_id,
        "repeat of #{i} (seq {seq}) got another msg_id: {again}"
    );
    assert_eq!(
        field_u64(&again, "seq"),
        *seq,
        "repeat of #{i} got another seq: {again}"
    );
}

/// The dialog holds exactly the logged messages: a full history page (every message, up to
/// 200) is the log, so a repeat stored nothing and the last seq is unchanged.
async fn assert_history_is_log(anna: &mut Operator, d: u64, log: &Log) {
    let last = next_seq(log) - 1;
    assert!(last <= 200, "a full page holds at most 200 messages");
    assert_page(anna, d, (None, 200), 1..=last, log).await;
}

/// (a) history pages join the store and memory; (b) a repeated old client key gets its first
/// ack and stores nothing; (c) a resuming widget gets everything after its `last_seq`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_dialog_reads_what_left_memory_from_the_store() {
    let server = Server::start("long-dialog", &config());
    let Dialog {
        mut anna,
        mut widget,
        d,
        mut log,
    } = long_dialog(&server).await;

    // (a) The newest 100; a page wholly older than what memory keeps; a page across the
    // boundary; a page of memory only; the oldest.
    assert_page(&mut anna, d, (None, 100), 51..=LONG, &log).await;
    assert_page(&mut anna, d, (Some(60), 50), 10..=59, &log).await;
    assert_page(&mut anna, d, (Some(130), 60), 70..=129, &log).await;
    assert_page(&mut anna, d, (None, 10), 141..=LONG, &log).await;
    assert_page(&mut anna, d, (Some(4), 50), 1..=3, &log).await;
    assert_history_is_log(&mut anna, d, &log).await;

    // (b) Message #3 again: its first ack, nothing stored, nothing delivered again.
    assert_repeat_acked(&mut widget, d, 3, &log).await;
    assert_history_is_log(&mut anna, d, &log).await;
    anna.gather(QUIET).await;
    let delivered = anna
        .log
        .iter()
        .filter(|f| is_message_with_text(f, &client_text(3)))
        .count();
    assert_eq!(delivered, 1, "anna got message #3 {delivered} times");

    // (c) A new connection of the client, resuming after seq 5.
    let mut resumed = resume(&server, &widget.resume_token(), 5).await;
    assert_replayed(&mut resumed, d, 5, &log).await;

    // The dialog goes on after the repeat with the next seq.
    client_says(&mut resumed, d, LONG + 1, &mut log).await;
    anna.client_said(&client_text(LONG + 1)).await;
    assert_page(&mut anna, d, (None, 3), LONG - 1..=LONG + 1, &log).await;
}

/// After `kill -9` and a restart on the same data directory the dialog comes back with only
/// its newest messages in memory: history, the widget's replay and repeated keys still reach
/// the older ones in the store, and new messages continue the numbering without reusing an id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_dialog_survives_kill_9_with_its_older_messages_in_the_store() {
    let mut server = Server::start("long-dialog-restart", &config());
    let Dialog {
        anna,
        widget,
        d,
        mut log,
    } = long_dialog(&server).await;
    let token = widget.resume_token();
    server.kill9();
    drop((anna, widget));
    server.restart();

    let mut anna = Operator::connect(&server, "anna").await;
    let summary = anna.welcome["dialogs"]
        .as_array()
        .and_then(|list| list.iter().find(|s| s["dialog_id"] == d))
        .unwrap_or_else(|| panic!("anna's dialog is not in her welcome: {}", anna.welcome))
        .clone();
    assert_eq!(summary["state"], "active", "{summary}");
    assert_eq!(field_u64(&summary, "last_seq"), LONG, "{summary}");
    assert_page(&mut anna, d, (None, 100), 51..=LONG, &log).await;
    assert_page(&mut anna, d, (Some(60), 50), 10..=59, &log).await;

    // The client comes back after seq 5: everything after it, from the store and memory.
    let mut widget = resume(&server, &token, 5).await;
    assert_replayed(&mut widget, d, 5, &log).await;

    // An old key (long out of memory) and the newest key (restored into memory): first acks.
    assert_repeat_acked(&mut widget, d, 3, &log).await;
    assert_repeat_acked(&mut widget, d, LONG, &log).await;
    assert_history_is_log(&mut anna, d, &log).await;

    // A new message: the next seq, and an id never handed out before (ids of one shard go up).
    let highest = log.values().map(|s| s.msg_id).max().expect("messages");
    let ack = client_says(&mut widget, d, LONG + 1, &mut log).await;
    let msg_id = field_u64(&ack, "msg_id");
    assert_eq!(field_u64(&ack, "seq"), LONG + 1, "{ack}");
    let reused: Vec<(&u64, &Sent)> = log
        .iter()
        .filter(|(seq, s)| **seq != LONG + 1 && s.msg_id == msg_id)
        .collect();
    assert!(
        reused.is_empty(),
        "msg_id {msg_id} handed out again: {reused:?}"
    );
    assert!(
        msg_id > highest,
        "msg_id {msg_id} after the restart is not above {highest}, the highest before"
    );
    let told = anna.client_said(&client_text(LONG + 1)).await;
    assert_eq!(field_u64(&told, "dialog_seq"), LONG + 1, "{told}");
    assert_eq!(field_u64(&told, "msg_id"), msg_id, "{told}");
    assert_history_is_log(&mut anna, d, &log).await;
}

/// An operator message repeated with its `client_msg_id` after more than 100 later messages
/// (it left memory long ago) gets its first ack and is stored and delivered once; the client's
/// keys and the operator's stay apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_message_repeated_long_after_gets_its_first_ack() {
    let server = Server::start("long-dialog-operator", &config());
    let Dialog {
        mut anna,
        mut widget,
        d,
        mut log,
    } = accepted_dialog(&server).await;
    let early = "How can I help you?";
    let first = operator_says(&mut anna, d, "op-1", early, &mut log).await;
    widget.operator_said(early).await;
    for i in 2..=110 {
        client_says(&mut widget, d, i, &mut log).await;
    }

    let again = anna.say(d, "op-1", early).await;
    for key in ["dialog_id", "msg_id", "dialog_seq"] {
        assert_eq!(
            again[key], first[key],
            "{key}: {first} vs the repeat {again}"
        );
    }
    assert_history_is_log(&mut anna, d, &log).await;
    widget.gather(QUIET).await;
    let delivered = widget
        .log
        .iter()
        .filter(|f| is_message_with_text(f, early))
        .count();
    assert_eq!(
        delivered, 1,
        "the widget got the operator message {delivered} times"
    );

    // The dialog goes on: a new operator message, then a client message whose key is the
    // operator's old one (a client's keys and an operator's never collide).
    operator_says(&mut anna, d, "op-2", "Anything else?", &mut log).await;
    widget.operator_said("Anything else?").await;
    let ack = widget.say("op-1", "my own op-1").await;
    let seq = next_seq(&log);
    assert_eq!(
        field_u64(&ack, "seq"),
        seq,
        "a client key taken for the operator's: {ack}"
    );
    log.insert(
        seq,
        Sent {
            msg_id: field_u64(&ack, "msg_id"),
            author: "client",
            text: "my own op-1".into(),
        },
    );
    assert_history_is_log(&mut anna, d, &log).await;
}
