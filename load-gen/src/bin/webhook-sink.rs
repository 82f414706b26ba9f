//! `webhook-sink`: a minimal webhook receiver for load runs. Listens on the address given
//! (default `127.0.0.1:0`, printing `webhook-sink listening on ADDR` first), answers every
//! request `204`, and measures each event's delay from its `timestamp` (set by the server when
//! the event is made, before its commit) to its arrival. On SIGINT/SIGTERM, or after
//! `--seconds`, prints the count, distinct ids and p50/p90/p99/max in ms, and exits. Does not
//! check signatures (the test suite does); it measures delivery only.
//!
//! `--skip N` keeps the first N events to arrive out of those figures and reports them on a
//! line of their own: a firehose run opens its dialogs in one burst before the load (one
//! `message.created` each, `--skip` = `--dialogs`), which says nothing about the steady rate.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest request head or body accepted.
const REQUEST_BYTES_MAX: usize = 1 << 20;

#[derive(Default)]
struct Tally {
    ids: HashSet<String>,
    requests: u64,
}

struct Shared {
    delay_ms: Mutex<Histogram<u64>>,
    /// The first `skip` events' delays.
    skipped_ms: Mutex<Histogram<u64>>,
    skip: u64,
    tally: Mutex<Tally>,
}

/// A minimal webhook receiver for load runs.
#[derive(clap::Parser)]
#[command(name = "webhook-sink")]
struct Args {
    /// Where to listen.
    #[arg(default_value = "127.0.0.1:0")]
    addr: std::net::SocketAddr,
    /// Stop after this many seconds (else at SIGINT/SIGTERM).
    #[arg(long)]
    seconds: Option<u64>,
    /// Report the first N events apart.
    #[arg(long, default_value_t = 0)]
    skip: u64,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Args {
        addr,
        seconds,
        skip,
    } = <Args as clap::Parser>::parse();
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("webhook-sink: cannot listen on {addr}: {e}");
            std::process::exit(2);
        }
    };
    println!(
        "webhook-sink listening on {}",
        listener.local_addr().expect("addr")
    );
    let shared = Arc::new(Shared {
        delay_ms: Mutex::new(Histogram::new_with_bounds(1, 600_000, 3).expect("histogram")),
        skipped_ms: Mutex::new(Histogram::new_with_bounds(1, 600_000, 3).expect("histogram")),
        skip,
        tally: Mutex::new(Tally::default()),
    });
    let accept = {
        let shared = shared.clone();
        async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, shared.clone()));
            }
        }
    };
    let stop = async {
        match seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("signal");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
        }
    };
    tokio::select! {
        _ = accept => {}
        _ = stop => {}
    }
    let hist = shared.delay_ms.lock().unwrap();
    let tally = shared.tally.lock().unwrap();
    if shared.skip > 0 {
        let skipped = shared.skipped_ms.lock().unwrap();
        println!(
            "first {} events (left out below) delay_ms p50 {} p90 {} p99 {} max {}",
            skipped.len(),
            skipped.value_at_quantile(0.5),
            skipped.value_at_quantile(0.9),
            skipped.value_at_quantile(0.99),
            skipped.max()
        );
    }
    println!(
        "requests {} distinct_ids {} delay_ms p50 {} p90 {} p99 {} max {}",
        tally.requests,
        tally.ids.len(),
        hist.value_at_quantile(0.5),
        hist.value_at_quantile(0.9),
        hist.value_at_quantile(0.99),
        hist.max()
    );
}

/// Serves one keep-alive connection.
async fn serve(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        let head_end = loop {
            if let Some(at) = find(&buf, b"\r\n\r\n") {
                break at + 4;
            }
            if buf.len() > REQUEST_BYTES_MAX || !read_more(&mut stream, &mut buf).await {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length = header(&head, "content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
            .min(REQUEST_BYTES_MAX);
        let id = header(&head, "webhook-id").unwrap_or_default();
        while buf.len() < head_end + length {
            if !read_more(&mut stream, &mut buf).await {
                return;
            }
        }
        note(&shared, &id, &buf[head_end..head_end + length]);
        buf.drain(..head_end + length);
        let reply = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
        if stream.write_all(reply).await.is_err() {
            return;
        }
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 8192];
    match stream.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_string())
    })
}

/// Records one event's delay from its `timestamp` to now.
fn note(shared: &Shared, id: &str, body: &[u8]) {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let made_ms = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["timestamp"].as_str().and_then(parse_rfc3339_ms));
    let mut tally = shared.tally.lock().unwrap();
    if let Some(made) = made_ms {
        let delay = ((now_ms - made).max(1) as u64).min(600_000);
        let histogram = if tally.requests < shared.skip {
            &shared.skipped_ms
        } else {
            &shared.delay_ms
        };
        let _ = histogram.lock().unwrap().record(delay);
    }
    tally.requests += 1;
    tally.ids.insert(id.to_string());
}

/// An RFC 3339 timestamp (as the server writes it) → Unix ms.
fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>()
        .ok()
        .map(|at| at.as_millisecond())
}
