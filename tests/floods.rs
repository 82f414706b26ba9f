//! Floods and slow peers against the real binary, each with a canary conversation that must
//! keep getting answers throughout: request heads that never finish are cut at
//! `request_head_timeout`; one source address cannot hold more than `half_open_per_source_max`
//! connections without a complete head (both cuts counted in `/metrics`); an operator pipelining
//! 10,000 requests gets every answer in order; 300 pages of history asked at once do not stall
//! others; a widget that never reads is cut off and resumes from the store; at the process's
//! descriptor limit open conversations go on and accepting recovers once descriptors are freed;
//! a widget writing at full speed is held to its rate and served again when it slows down.

mod common;

use common::*;
use serde_json::json;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn config() -> Config {
    Config::new()
        .operators(&["anna"])
        .line(line("support", "even", &["anna"], "30s"))
        .limit("request_head_timeout", "\"1s\"")
        .limit("half_open_per_source_max", "50")
}

/// A TCP connection to `server` from the loopback address `source`.
async fn connect_from(server: &Server, source: Ipv4Addr) -> TcpStream {
    let addr: SocketAddr = server.addr.parse().unwrap();
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    socket.connect(addr).await.expect("connect")
}

/// Whether the server closed `tcp` within `within` (a read gives end of file or an error).
async fn closed_within(tcp: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 512];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, tcp.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// A widget and an operator that still talk: one round trip.
async fn canary(widget: &mut Widget, operator: &mut Operator, dialog: u64, n: u32) {
    operator
        .say(dialog, &format!("a{n}"), &format!("answer {n}"))
        .await;
    widget.operator_said(&format!("answer {n}")).await;
}

async fn cut(server: &Server, reason: &str) -> u64 {
    let text = Http::with_token(server, None).get("/metrics").await.text;
    let prefix = format!("switchboard_connections_cut_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

async fn conversation(server: &Server) -> (Widget, Operator, u64) {
    let mut operator = Operator::connect(server, "anna").await;
    let mut widget = Widget::join(server, "support", "canary").await;
    let ack = widget.say("m1", "hello").await;
    let dialog = field_u64(&ack, "dialog_id");
    operator.offered(dialog).await;
    operator.accept(dialog).await;
    (widget, operator, dialog)
}

#[tokio::test]
async fn request_heads_that_never_finish_are_cut_at_their_deadline() {
    let server = Server::start("slow-heads", &config());
    let (mut widget, mut operator, dialog) = conversation(&server).await;
    // 200 connections from 4 source addresses send the first line of an upgrade and stop.
    let mut slow = Vec::new();
    for i in 0..200u32 {
        let mut tcp = connect_from(&server, Ipv4Addr::new(127, 0, 0, 2 + (i % 4) as u8)).await;
        tcp.write_all(b"GET /ws/widget HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slow.push(tcp);
    }
    let started = Instant::now();
    canary(&mut widget, &mut operator, dialog, 1).await;
    for tcp in &mut slow {
        assert!(
            closed_within(tcp, Duration::from_secs(5)).await,
            "a connection without a complete request head was still open after {:?}",
            started.elapsed()
        );
    }
    canary(&mut widget, &mut operator, dialog, 2).await;
    assert!(cut(&server, "head_timeout").await >= 200);
    // A complete request on a fresh connection is still served.
    let health = Http::with_token(&server, None).get("/healthz").await;
    assert_eq!(health.status, 200);
}

#[tokio::test]
async fn one_source_cannot_hold_more_than_its_half_open_bound() {
    let server = Server::start("half-open", &config());
    let (mut widget, mut operator, dialog) = conversation(&server).await;
    let source = Ipv4Addr::new(127, 0, 0, 9);
    let mut held = Vec::new();
    for _ in 0..50 {
        held.push(connect_from(&server, source).await);
    }
    // Give the server time to count them, then one more from the same address is closed at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = connect_from(&server, source).await;
    assert!(closed_within(&mut extra, Duration::from_millis(500)).await);
    // Other addresses (the canary's, 127.0.0.1) are not affected.
    canary(&mut widget, &mut operator, dialog, 1).await;
    assert!(cut(&server, "half_open_per_source").await >= 1);
    // The held ones are still open (their deadline has not passed), then cut at it.
    assert!(!closed_within(&mut held[0], Duration::from_millis(100)).await);
    for tcp in &mut held {
        assert!(closed_within(tcp, Duration::from_secs(5)).await);
    }
    // Once they are gone, the address may connect again.
    let mut again = connect_from(&server, source).await;
    again
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    again.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    canary(&mut widget, &mut operator, dialog, 2).await;
}

/// A config whose rate limits do not stop one connection's flood (the bounds under test are the
/// pipelining and queue bounds).
fn open_config() -> Config {
    Config::new()
        .admin()
        .operators(&["anna", "boris"])
        .line(line("support", "even", &["anna"], "30s"))
        .line(line("sales", "even", &["boris"], "30s"))
        .limit("messages_per_sec", "1000000")
        .limit("messages_burst", "1000000")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_pipelining_10_000_requests_gets_every_answer_in_order() {
    let server = Server::start("pipelining", &open_config());
    let (mut widget, mut operator, dialog) = conversation(&server).await;
    let mut boris = Operator::connect(&server, "boris").await;
    // 10,000 requests written without waiting for one answer (the server reads at most 256
    // ahead, so most wait in the socket).
    let writer = tokio::spawn({
        let mut frames = Vec::new();
        for req in 1..=10_000u64 {
            let state = if req % 2 == 0 { "online" } else { "away" };
            frames.push(json!({"type": "status", "req": req, "state": state}).to_string());
        }
        let addr = server.addr.clone();
        async move { frames_over_new_socket(&addr, frames).await }
    });
    canary(&mut widget, &mut operator, dialog, 1).await;
    let mut flooder = writer.await.unwrap();
    let mut next = 1u64;
    while next <= 10_000 {
        let frame = flooder.next_json().await;
        if frame["req"].is_u64() {
            assert_eq!(
                field_u64(&frame, "req"),
                next,
                "answers in the order asked: {frame}"
            );
            assert_eq!(frame_type(&frame), "ack", "{frame}");
            next += 1;
        }
    }
    canary(&mut widget, &mut operator, dialog, 2).await;
    boris.status("online").await;
}

/// A raw operator connection (boris) that says hello and writes `frames` at once.
struct Raw {
    ws: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
}

impl Raw {
    async fn next_json(&mut self) -> serde_json::Value {
        use futures_util::StreamExt;
        loop {
            let message = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .expect("an answer within 30 s")
                .expect("the connection stays open")
                .expect("a frame");
            if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
                return serde_json::from_str(&text).unwrap();
            }
        }
    }
}

async fn frames_over_new_socket(addr: &str, frames: Vec<String>) -> Raw {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/operator"))
        .await
        .expect("connect");
    ws.send(Message::text(
        json!({"type": "hello", "token": token("boris")}).to_string(),
    ))
    .await
    .unwrap();
    for frame in frames {
        ws.feed(Message::text(frame)).await.unwrap();
    }
    ws.flush().await.unwrap();
    Raw { ws }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_huge_history_request_after_another_does_not_stall_others() {
    let server = Server::start("history-flood", &open_config());
    let (mut widget, mut operator, dialog) = conversation(&server).await;
    for i in 0..300 {
        operator
            .say(dialog, &format!("h{i}"), &"x".repeat(1_000))
            .await;
    }
    // A supervisor-less operator may read only its own dialogs: anna floods her own history,
    // 300 pages of 200 messages of 1 KB, asked at once.
    let mut reader = Operator::connect(&server, "anna").await;
    for req in 0..300u64 {
        reader
            .send(
                json!({"type": "history", "req": 10_000 + req, "dialog_id": dialog, "limit": 200}),
            )
            .await;
    }
    canary(&mut widget, &mut operator, dialog, 1).await;
    let mut answered = 0;
    while answered < 300 {
        let (page, _) = reader
            .recv_where("a history page", |f| frame_type(f) == "history")
            .await;
        assert_eq!(page["messages"].as_array().unwrap().len(), 200);
        answered += 1;
    }
    canary(&mut widget, &mut operator, dialog, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_that_never_reads_is_cut_off_and_others_go_on() {
    let server = Server::start(
        "widget-never-reads",
        &open_config().limit("outbound_frames_max", "16"),
    );
    let (mut widget, mut operator, dialog) = conversation(&server).await;
    // A second client that writes once and then never reads its socket.
    let mut sleeper = Widget::join(&server, "support", "sleeper").await;
    let sleepy = field_u64(&sleeper.say("m1", "hello").await, "dialog_id");
    operator.offered(sleepy).await;
    operator.accept(sleepy).await;
    // 3,000 answers of 4 KB: far more than the socket buffers and the 16-frame queue hold.
    for i in 0..3_000 {
        let sent = operator
            .request(json!({"type": "message", "dialog_id": sleepy, "client_msg_id": format!("s{i}"), "text": "y".repeat(4_000)}))
            .await;
        assert_eq!(frame_type(&sent), "ack", "{sent}");
    }
    canary(&mut widget, &mut operator, dialog, 1).await;
    // When it finally reads, what is buffered comes first, then the end: a close with 4000,
    // or, when the close frame could not get through the full socket, a reset.
    match sleeper.expect_end().await {
        Ok(code) => assert_eq!(code, Some(4000)),
        Err(reset) => assert!(reset.contains("reset"), "{reset}"),
    }
    // Resuming gets what it missed, from the store.
    let mut resumed = Widget::connect(
        &server,
        json!({"type": "hello", "line": "support", "resume_token": sleeper.resume_token(), "last_seq": 1}),
        Enc::Json,
    )
    .await;
    let (last, _) = resumed
        .recv_where("the last answer", |f| {
            frame_type(f) == "message" && f["seq"] == 3_001
        })
        .await;
    assert_eq!(last["dialog_id"], sleepy);
    canary(&mut widget, &mut operator, dialog, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_descriptor_limit_open_conversations_go_on_and_accept_recovers() {
    // 128 descriptors: the store, the runtime and the canary take some; 200 silent connections
    // take the rest and more wait in the accept queue.
    let server = Server::start_with_open_files("fd-limit", &config(), 128);
    let (mut widget, mut operator, dialog) = conversation(&server).await;
    let mut silent = Vec::new();
    for i in 0..200u32 {
        silent.push(connect_from(&server, Ipv4Addr::new(127, 0, 0, 20 + (i % 8) as u8)).await);
    }
    // No descriptor is free: a new request is not served for now.
    let saturated = tokio::time::timeout(
        Duration::from_millis(300),
        Http::with_token(&server, None).get("/healthz"),
    )
    .await;
    assert!(
        saturated.is_err(),
        "the server still accepted: the limit was not reached"
    );
    // Connections already open keep working while no descriptor is free.
    canary(&mut widget, &mut operator, dialog, 1).await;
    // The silent ones are cut at their request-head deadline (1 s here), which frees their
    // descriptors: the ones waiting in the queue are accepted and cut in turn, then a new
    // client gets in.
    drop(silent);
    let started = Instant::now();
    let mut joined = None;
    while started.elapsed() < Duration::from_secs(20) {
        let health = tokio::time::timeout(
            Duration::from_secs(2),
            Http::with_token(&server, None).get("/healthz"),
        )
        .await;
        if matches!(health, Ok(ref answer) if answer.status == 200) {
            joined = Some(Widget::join(&server, "support", "after").await);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut after = joined.expect("accepting again within 20 s of the descriptors being freed");
    let ack = after.say("m1", "made it").await;
    assert!(ack["dialog_id"].is_u64(), "{ack}");
    canary(&mut widget, &mut operator, dialog, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widget_writing_at_full_speed_is_held_to_its_rate_and_others_go_on() {
    // The default limits: 20 messages a second, bursts of 40.
    let server = Server::start(
        "widget-flood",
        &Config::new()
            .operators(&["anna"])
            .line(line("support", "even", &["anna"], "30s")),
    );
    let (mut widget, mut operator, dialog) = conversation(&server).await;
    let mut flooder = Widget::join(&server, "support", "flooder").await;
    let started = Instant::now();
    for i in 0..2_000u64 {
        flooder
            .send(json!({"type": "message", "req": i + 1, "client_msg_id": format!("f{i}"), "text": "spam"}))
            .await;
    }
    canary(&mut widget, &mut operator, dialog, 1).await;
    let (mut acked, mut limited) = (0u64, 0u64);
    while acked + limited < 2_000 {
        let frame = flooder.next().await;
        match frame_type(&frame) {
            "ack" => acked += 1,
            "error" if field_str(&frame, "code") == "rate_limited" => limited += 1,
            _ => {}
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // At most the burst plus the refill over the flood's duration got through.
    assert!(
        acked as f64 <= 40.0 + 20.0 * seconds + 1.0,
        "{acked} acked in {seconds:.1} s"
    );
    assert!(limited >= 1_900, "{limited} refused");
    // The connection stays open and is served again once it slows down.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let ack = flooder.say("later", "calm now").await;
    assert!(ack["dialog_id"].is_u64(), "{ack}");
    canary(&mut widget, &mut operator, dialog, 2).await;
}
