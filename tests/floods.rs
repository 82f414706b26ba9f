//! Floods and slow peers against the real binary, each with a canary conversation that must
//! keep getting answers throughout: request heads that never finish are cut at
//! `request_head_timeout`, and one source address cannot hold more than
//! `half_open_per_source_max` connections without a complete head. Both cuts are counted in
//! `/metrics`.

mod common;

use common::*;
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
