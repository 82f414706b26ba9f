//! `switchboard-load`: the bundled load generator. Two scenarios so far:
//!
//! - `idle`: opens N widget connections (each says `hello`) and holds them, so the server's
//!   memory per idle connection can be read;
//! - `latency`: one operator and one widget; after the dialog is taken, the widget sends
//!   messages on a fixed timetable (open model: latency counts from the scheduled send time) and
//!   the operator side measures widget → operator delivery with an HDR histogram.
//!
//! The full generator (spawned servers, chat/firehose/connect scenarios, baselines, plots) is
//! not built yet. Every run is bounded in count and time and stops by itself.

use clap::{Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(Parser)]
#[command(name = "switchboard-load", about = "Load generator for Switchboard")]
struct Cli {
    /// Base URL of a running server.
    #[arg(long, default_value = "ws://127.0.0.1:7878", global = true)]
    url: String,
    /// Line the widgets write to.
    #[arg(long, default_value = "support", global = true)]
    line: String,
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Hold N idle widget connections.
    Idle {
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        /// How long to hold them, in seconds.
        #[arg(long, default_value_t = 30)]
        hold_secs: u64,
    },
    /// Ack latency (message sent → durable ack) with many widgets sharing a total rate.
    Acks {
        #[arg(long, default_value_t = 100)]
        widgets: usize,
        /// Total messages per second across all widgets.
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Widget → operator delivery latency at a fixed rate.
    Latency {
        /// Operator token.
        #[arg(long, default_value = "anna-secret")]
        token: String,
        #[arg(long, default_value_t = 2_000)]
        messages: u64,
        /// Messages per second.
        #[arg(long, default_value_t = 200)]
        rate: u64,
    },
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => eprintln!("open-file limit: {limit}"),
        Err(e) => eprintln!("could not raise the open-file limit: {e}"),
    }
    let result = match cli.scenario {
        Scenario::Idle {
            connections,
            hold_secs,
        } => idle(&cli.url, &cli.line, connections, hold_secs).await,
        Scenario::Latency {
            token,
            messages,
            rate,
        } => latency(&cli.url, &cli.line, &token, messages, rate).await,
        Scenario::Acks {
            widgets,
            rate,
            seconds,
        } => acks(&cli.url, &cli.line, widgets, rate, seconds).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard-load: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn connect(url: &str) -> Result<Ws, String> {
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(url),
    )
    .await
    .map_err(|_| format!("connecting to {url} timed out"))?
    .map_err(|e| format!("cannot connect to {url}: {e}"))?;
    Ok(ws)
}

async fn send(ws: &mut Ws, frame: Value) -> Result<(), String> {
    ws.send(Message::Text(frame.to_string().into()))
        .await
        .map_err(|e| format!("send failed: {e}"))
}

/// The next JSON frame, within 10 s.
async fn recv(ws: &mut Ws) -> Result<Value, String> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .map_err(|_| "no frame within 10 s".to_string())?;
        match next {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text)
                    .map_err(|e| format!("bad JSON from server: {e}"))
            }
            Some(Ok(Message::Close(frame))) => return Err(format!("server closed: {frame:?}")),
            Some(Ok(other)) => {
                if std::env::var_os("SWITCHBOARD_LOAD_TRACE").is_some() {
                    eprintln!("<- (non-text) {other:?}");
                }
                continue;
            }
            Some(Err(e)) => return Err(format!("receive failed: {e}")),
            None => return Err("server closed the connection".into()),
        }
    }
}

async fn recv_type(ws: &mut Ws, kind: &str) -> Result<Value, String> {
    loop {
        let frame = recv(ws).await?;
        if frame["type"] == kind {
            return Ok(frame);
        }
        if frame["type"] == "error" {
            return Err(format!("server error: {frame}"));
        }
    }
}

async fn idle(url: &str, line: &str, connections: usize, hold_secs: u64) -> Result<(), String> {
    let started = Instant::now();
    let mut sockets = Vec::with_capacity(connections);
    for i in 0..connections {
        let mut ws = connect(&format!("{url}/ws/widget")).await?;
        send(
            &mut ws,
            json!({"type": "hello", "line": line, "client_id": format!("idle-{i}")}),
        )
        .await?;
        recv_type(&mut ws, "welcome").await?;
        sockets.push(ws);
        if (i + 1) % 1_000 == 0 {
            eprintln!("{} connections open", i + 1);
        }
    }
    println!(
        "idle: {connections} widget connections open after {:.1} s; holding {hold_secs} s",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(hold_secs)).await;
    let mut alive = 0;
    for mut ws in sockets {
        if ws.close(None).await.is_ok() {
            alive += 1;
        }
    }
    println!("idle: {alive} of {connections} still open at the end");
    Ok(())
}

async fn latency(
    url: &str,
    line: &str,
    token: &str,
    messages: u64,
    rate: u64,
) -> Result<(), String> {
    let mut op = connect(&format!("{url}/ws/operator")).await?;
    send(&mut op, json!({"type": "hello", "token": token})).await?;
    recv_type(&mut op, "welcome").await?;
    let mut widget = connect(&format!("{url}/ws/widget")).await?;
    send(&mut widget, json!({"type": "hello", "line": line})).await?;
    recv_type(&mut widget, "welcome").await?;
    send(
        &mut widget,
        json!({"type": "message", "req": 0, "client_msg_id": "open", "text": "hello"}),
    )
    .await?;
    let offer = recv_type(&mut op, "dialog_offered").await?;
    let dialog = offer["dialog_id"].clone();
    send(
        &mut op,
        json!({"type": "accept", "req": 1, "dialog_id": dialog}),
    )
    .await?;
    let (mut sink, mut stream) = widget.split();
    let start = Instant::now();
    let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
    // When each message actually left, in µs after `start` (0 = not yet).
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..messages).map(|_| AtomicU64::new(0)).collect());
    let sent = sent_at.clone();
    let sender = tokio::spawn(async move {
        for i in 0..messages {
            let due = start + interval * i as u32;
            tokio::time::sleep_until(due.into()).await;
            let frame = json!({"type": "message", "req": i + 10, "client_msg_id": format!("m{i}"), "text": format!("{i}")});
            sent[i as usize].store(start.elapsed().as_micros().max(1) as u64, Ordering::Release);
            if sink
                .send(Message::Text(frame.to_string().into()))
                .await
                .is_err()
            {
                break;
            }
        }
        sink
    });
    let drain = tokio::spawn(async move { while let Some(Ok(_)) = stream.next().await {} });
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
    let mut from_send = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
    let mut received = 0;
    let deadline = start + interval * messages as u32 + Duration::from_secs(10);
    while received < messages && Instant::now() < deadline {
        let frame = recv(&mut op).await?;
        if frame["type"] != "message" || frame["author"] != "client" {
            continue;
        }
        let Some(i) = frame["text"].as_str().and_then(|t| t.parse::<u32>().ok()) else {
            continue;
        };
        let now = Instant::now();
        let scheduled = start + interval * i;
        histogram
            .record(now.duration_since(scheduled).as_micros().max(1) as u64)
            .ok();
        let left_us = sent_at
            .get(i as usize)
            .map_or(0, |t| t.load(Ordering::Acquire));
        let elapsed_us = now.duration_since(start).as_micros() as u64;
        from_send
            .record(elapsed_us.saturating_sub(left_us).max(1))
            .ok();
        received += 1;
    }
    drop(sender);
    drain.abort();
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1_000.0;
    println!(
        "latency: {received}/{messages} delivered at {rate}/s; widget -> operator from the timetable: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        histogram.max() as f64 / 1_000.0
    );
    let sent_ms = |q: f64| from_send.value_at_quantile(q) as f64 / 1_000.0;
    println!(
        "latency: from the actual send: p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        sent_ms(0.5),
        sent_ms(0.9),
        sent_ms(0.99),
        from_send.max() as f64 / 1_000.0
    );
    if received < messages {
        return Err(format!(
            "{} messages were not delivered",
            messages - received
        ));
    }
    Ok(())
}

/// One widget's share of the `acks` scenario: sends on its timetable, and returns the ack
/// latencies (µs, from the actual send) and how many acks never came.
async fn ack_widget(
    url: String,
    line: String,
    index: usize,
    interval: Duration,
    count: u64,
    start: Instant,
) -> Result<(Vec<u64>, u64), String> {
    let mut ws = connect(&format!("{url}/ws/widget")).await?;
    send(
        &mut ws,
        json!({"type": "hello", "line": line, "client_id": format!("acks-{index}")}),
    )
    .await?;
    recv_type(&mut ws, "welcome").await?;
    let (mut sink, mut stream) = ws.split();
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..count).map(|_| AtomicU64::new(0)).collect());
    let sent = sent_at.clone();
    // Spread the widgets' timetables over one interval.
    let offset = interval.mul_f64(index as f64 / 1_000.0 % 1.0);
    let sender = tokio::spawn(async move {
        for i in 0..count {
            tokio::time::sleep_until((start + offset + interval * i as u32).into()).await;
            let frame = json!({"type": "message", "req": i, "client_msg_id": format!("a{i}"), "text": "ack me"});
            sent[i as usize].store(start.elapsed().as_micros().max(1) as u64, Ordering::Release);
            if sink
                .send(Message::Text(frame.to_string().into()))
                .await
                .is_err()
            {
                break;
            }
        }
        sink
    });
    let mut latencies = Vec::with_capacity(count as usize);
    let deadline = start + offset + interval * count as u32 + Duration::from_secs(5);
    while (latencies.len() as u64) < count && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(left, stream.next()).await
        else {
            break;
        };
        let Ok(frame) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if frame["type"] != "ack" {
            continue;
        }
        let Some(i) = frame["req"].as_u64() else {
            continue;
        };
        let at = Instant::now().duration_since(start).as_micros() as u64;
        let left_us = sent_at
            .get(i as usize)
            .map_or(at, |t| t.load(Ordering::Acquire));
        latencies.push(at.saturating_sub(left_us).max(1));
    }
    let _ = sender.await;
    let missing = count - latencies.len() as u64;
    Ok((latencies, missing))
}

async fn acks(
    url: &str,
    line: &str,
    widgets: usize,
    rate: u64,
    seconds: u64,
) -> Result<(), String> {
    let per_widget_rate = (rate as f64 / widgets.max(1) as f64).max(0.001);
    let interval = Duration::from_secs_f64(1.0 / per_widget_rate);
    let count = (per_widget_rate * seconds as f64).round().max(1.0) as u64;
    let start = Instant::now() + Duration::from_secs(2);
    let mut tasks = Vec::new();
    for index in 0..widgets {
        tasks.push(tokio::spawn(ack_widget(
            url.to_string(),
            line.to_string(),
            index,
            interval,
            count,
            start,
        )));
    }
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
    let mut missing = 0;
    for task in tasks {
        let (latencies, lost) = task
            .await
            .map_err(|e| format!("a widget task failed: {e}"))??;
        missing += lost;
        for l in latencies {
            histogram.record(l).ok();
        }
    }
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1_000.0;
    println!(
        "acks: {} acknowledged of {} sent by {widgets} widgets at {rate}/s for {seconds} s; sent -> durable ack p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
        histogram.len(),
        histogram.len() + missing,
        ms(0.5),
        ms(0.9),
        ms(0.99),
        ms(0.999),
        histogram.max() as f64 / 1_000.0
    );
    if missing > 0 {
        return Err(format!("{missing} messages were not acknowledged"));
    }
    Ok(())
}
