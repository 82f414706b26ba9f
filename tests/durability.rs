//! The crash test of SPEC "Durability and reliability": the real binary, several widgets writing
//! at once, SIGKILL at random moments (seeded; set SWITCHBOARD_TEST_SEED to replay), restart on
//! the same data directory, and then: every acknowledged message is there exactly once with its
//! seq and msg_id, no dialog is lost or duplicated, assignments are as they were, a pending
//! timeout that fell due while the server was down fires (once), and resumed widgets receive
//! exactly what they ask for.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

const ROUNDS: usize = 5;
const WIDGETS: usize = 3;

fn seed() -> u64 {
    let seed = std::env::var("SWITCHBOARD_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("durability seed: {seed} (SWITCHBOARD_TEST_SEED={seed} replays it)");
    seed
}

/// A small deterministic generator (xorshift), enough for kill delays.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below
    }
}

/// An acknowledged client message.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Acked {
    seq: u64,
    msg_id: u64,
    text: String,
}

/// Sends messages until the connection dies; returns what was acknowledged.
async fn write_until_killed(mut widget: Widget, name: String, start: usize) -> Vec<Acked> {
    let mut acked = Vec::new();
    for i in start.. {
        let req = 10_000 + i as u64;
        let text = format!("{name}-{i}");
        if !widget
            .conn
            .try_send(json!({"type": "message", "req": req, "client_msg_id": text, "text": text}))
            .await
        {
            break;
        }
        let reply = widget
            .conn
            .try_recv_where(Duration::from_secs(3), |f| f["req"].as_u64() == Some(req))
            .await;
        match reply {
            Some(ack) if frame_type(&ack) == "ack" => acked.push(Acked {
                seq: field_u64(&ack, "seq"),
                msg_id: field_u64(&ack, "msg_id"),
                text,
            }),
            _ => break,
        }
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_message_survives_kill_9() {
    let mut rng = Rng(seed() | 1);
    let config =
        Config::new()
            .operators(&["anna"])
            .line(line("support", "all", &["anna"], "10m").section(
                "[lines.auto]\nunanswered_after = \"2s\"\nunanswered_text = \"still here\"",
            ))
            .limit("messages_per_sec", "100000")
            .limit("messages_burst", "100000");
    let mut server = Server::start("durability", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut tokens = Vec::new();
    let mut dialogs = Vec::new();
    let mut acked: Vec<Vec<Acked>> = vec![Vec::new(); WIDGETS];
    for (w, acked) in acked.iter_mut().enumerate() {
        let mut widget = Widget::join(&server, "support", &format!("w{w}")).await;
        let ack = widget
            .say(&format!("w{w}-open"), &format!("w{w}-open"))
            .await;
        acked.push(Acked {
            seq: field_u64(&ack, "seq"),
            msg_id: field_u64(&ack, "msg_id"),
            text: format!("w{w}-open"),
        });
        dialogs.push(field_u64(&ack, "dialog_id"));
        tokens.push(widget.resume_token());
    }
    // Anna takes the first two; the third stays unanswered and its 2 s timeout is pending.
    for d in &dialogs[..2] {
        anna.offered(*d).await;
        anna.accept(*d).await;
    }
    anna.conn.disconnect().await;

    for round in 0..ROUNDS {
        let mut writers = Vec::new();
        for (w, token) in tokens.iter().enumerate() {
            let hello = json!({"type": "hello", "line": "support", "resume_token": token});
            let widget = Widget::connect(&server, hello, Enc::Json).await;
            writers.push(tokio::spawn(write_until_killed(
                widget,
                format!("w{w}"),
                round * 100_000,
            )));
        }
        let delay = 50 + rng.next(400);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        server.kill9();
        let mut total = 0;
        for (w, writer) in writers.into_iter().enumerate() {
            let got = writer.await.expect("writer task");
            total += got.len();
            acked[w].extend(got);
        }
        eprintln!(
            "round {round}: killed after {delay} ms, {total} messages acknowledged in the round"
        );
        server.restart();
        // Every widget resumes its dialog and asks for everything from the start.
        for w in 0..WIDGETS {
            assert_resumed_history(&server, round, w, &tokens[w], dialogs[w], &acked[w]).await;
        }
    }

    // Assignments survived: anna still holds the first two, the third is still waiting.
    let anna = Operator::connect(&server, "anna").await;
    let held: BTreeMap<u64, String> = anna.welcome["dialogs"]
        .as_array()
        .expect("dialogs")
        .iter()
        .map(|d| (field_u64(d, "dialog_id"), field_str(d, "state").to_string()))
        .collect();
    assert_eq!(
        held.get(&dialogs[0]).map(String::as_str),
        Some("active"),
        "{held:?}"
    );
    assert_eq!(
        held.get(&dialogs[1]).map(String::as_str),
        Some("active"),
        "{held:?}"
    );
    // The unanswered timeout (2 s) fell due across the kills: it fired, and only once.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let hello =
        json!({"type": "hello", "line": "support", "resume_token": tokens[2], "last_seq": 0});
    let mut widget = Widget::connect(&server, hello, Enc::Json).await;
    let replay = widget.conn.gather(Duration::from_millis(300)).await;
    let notices = replay
        .iter()
        .filter(|f| frame_type(f) == "message" && f["text"] == "still here")
        .count();
    assert_eq!(
        notices, 1,
        "the pending unanswered timeout fires exactly once"
    );
}

/// Widget `w` resumes its dialog after the restart of `round` and asks for everything from
/// the start: its history is gap-free, with every message it had acknowledged (`acked`) there
/// once, with its seq and msg_id.
async fn assert_resumed_history(
    server: &Server,
    round: usize,
    w: usize,
    token: &str,
    dialog: u64,
    acked: &[Acked],
) {
    let hello = json!({"type": "hello", "line": "support", "resume_token": token, "last_seq": 0});
    let mut widget = Widget::connect(server, hello, Enc::Json).await;
    assert_eq!(
        field_u64(&widget.welcome, "dialog_id"),
        dialog,
        "round {round}: widget w{w} lost its dialog"
    );
    let replay = widget.conn.gather(Duration::from_millis(300)).await;
    let messages: Vec<&Value> = replay
        .iter()
        .filter(|f| frame_type(f) == "message")
        .collect();
    let mut by_seq: BTreeMap<u64, &Value> = BTreeMap::new();
    for m in &messages {
        assert!(
            by_seq.insert(field_u64(m, "seq"), m).is_none(),
            "round {round}: seq {} sent twice to w{w}",
            field_u64(m, "seq")
        );
    }
    let seqs: Vec<u64> = by_seq.keys().copied().collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "round {round}: w{w}'s history has gaps"
    );
    let mut texts: HashMap<&str, usize> = HashMap::new();
    for m in &messages {
        *texts.entry(field_str(m, "text")).or_default() += 1;
    }
    for a in acked {
        let stored = by_seq
            .get(&a.seq)
            .unwrap_or_else(|| panic!("round {round}: acknowledged {a:?} of w{w} is missing"));
        assert_eq!(
            (field_str(stored, "text"), field_u64(stored, "msg_id")),
            (a.text.as_str(), a.msg_id),
            "round {round}: w{w} seq {}",
            a.seq
        );
        assert_eq!(
            texts.get(a.text.as_str()),
            Some(&1),
            "round {round}: {} stored more than once",
            a.text
        );
    }
    widget.conn.disconnect().await;
}

/// A closed dialog's id is never handed out again after a restart: the next dialog gets an id
/// of its own, and the closed one's stored history is not mixed with (or overwritten by) it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_dialogs_id_is_not_reused_after_a_restart() {
    let config = Config::new()
        .operators(&["anna", "boris"])
        .operator_raw("id = \"dana\"\nname = \"Dana\"\ntoken = \"dana-token\"\nsupervisor = true")
        .line(line("support", "strict", &["anna"], "1m"));
    let mut server = Server::start("id-reuse", &config);
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let first = field_u64(&widget.say("m1", "before the restart").await, "dialog_id");
    anna.offered(first).await;
    anna.accept(first).await;
    anna.close_dialog(first).await;
    drop((anna, widget));

    server.kill9();
    server.restart();
    let mut widget = Widget::join(&server, "support", "c2").await;
    let second = field_u64(&widget.say("m1", "after the restart").await, "dialog_id");
    assert_ne!(first, second, "a closed dialog's id was handed out again");

    let mut dana = Operator::connect(&server, "dana").await;
    for (d, text) in [(first, "before the restart"), (second, "after the restart")] {
        let page = dana
            .request(json!({"type": "history", "dialog_id": d}))
            .await;
        let texts: Vec<&str> = page["messages"]
            .as_array()
            .unwrap_or_else(|| panic!("no messages: {page}"))
            .iter()
            .filter(|m| m["author"] == "client")
            .map(|m| m["text"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(texts, [text], "history of dialog {d}: {page}");
    }
    // The operator who held the closed dialog reads its history too; another one may not.
    let mut anna = Operator::connect(&server, "anna").await;
    let page = anna
        .request(json!({"type": "history", "dialog_id": first}))
        .await;
    assert_eq!(page["messages"][0]["text"], "before the restart", "{page}");
    let mut boris = Operator::connect(&server, "boris").await;
    let refused = boris
        .request(json!({"type": "history", "dialog_id": first}))
        .await;
    assert_error(&refused, "forbidden");
}
