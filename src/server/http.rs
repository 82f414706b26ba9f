//! The HTTP accept loop (hyper with upgrades, HTTP/1.1): every connection must send its whole
//! request head within `request_head_timeout`, and one source address may have at most
//! `half_open_per_source_max` connections still without one (a new one beyond is closed at
//! once), so connections that open and then say nothing cannot use up the process's file
//! descriptors. Cuts are counted in `/metrics` (`connections_cut_total`). On `stop` it stops
//! accepting and lets every connection finish (sessions close themselves with 1001).
//! Must never: block the accept loop on a connection.

use crate::metrics::{Cut, Metrics};
use axum::serve::Listener;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Connections per source address that have not finished their request head.
#[derive(Default)]
struct HalfOpen {
    by_source: Mutex<HashMap<IpAddr, usize>>,
}

impl HalfOpen {
    /// Counts a new connection from `ip`, unless `ip` is at `max` already.
    fn admit(&self, ip: IpAddr, max: usize) -> bool {
        let mut by_source = self.by_source.lock();
        let n = by_source.entry(ip).or_default();
        if *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    fn done(&self, ip: IpAddr) {
        let mut by_source = self.by_source.lock();
        if let Some(n) = by_source.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                by_source.remove(&ip);
            }
        }
    }
}

/// Marks a connection's head as complete once: at its first request, or when it ends.
struct Pending {
    half_open: Arc<HalfOpen>,
    ip: IpAddr,
    done: std::sync::atomic::AtomicBool,
}

impl Pending {
    fn finish(&self) {
        if !self.done.swap(true, std::sync::atomic::Ordering::AcqRel) {
            self.half_open.done(self.ip);
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Serves `app` on `listener` until `stop` resolves, then waits for open connections to end.
pub async fn serve<L>(
    mut listener: L,
    app: axum::Router,
    metrics: Arc<Metrics>,
    head_timeout: Duration,
    half_open_max: usize,
    stop: impl std::future::Future<Output = ()>,
) where
    L: Listener<Addr = std::net::SocketAddr>,
{
    let half_open = Arc::new(HalfOpen::default());
    // Every connection task holds a receiver: dropping the sender asks them to finish, and
    // `closed()` on the second channel tells when the last one did.
    let (shutdown_tx, shutdown_rx) = watch::channel(());
    let (done_tx, done_rx) = watch::channel(());
    let mut stop = std::pin::pin!(stop);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stop => break,
        };
        if !half_open.admit(peer.ip(), half_open_max) {
            metrics.counters.connection_cut(Cut::HalfOpenPerSource);
            drop(io);
            continue;
        }
        let pending = Arc::new(Pending {
            half_open: half_open.clone(),
            ip: peer.ip(),
            done: false.into(),
        });
        let seen = pending.clone();
        let service = tower::ServiceExt::map_request(
            app.clone(),
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                seen.finish();
                // Handlers that limit by source address read it from here.
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let mut shutdown = shutdown_rx.clone();
        let done = done_rx.clone();
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(head_timeout)
                .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
                .with_upgrades();
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                _ = shutdown.changed() => {
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(error) = result {
                if error.is_timeout() && !pending.done.load(std::sync::atomic::Ordering::Acquire) {
                    metrics.counters.connection_cut(Cut::HeadTimeout);
                }
            }
            drop(pending);
            drop(done);
        });
    }
    drop(listener);
    drop(shutdown_tx);
    drop(done_rx);
    done_tx.closed().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_at_its_bound_is_refused_until_one_finishes() {
        let half_open = HalfOpen::default();
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let other: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(half_open.admit(ip, 2));
        assert!(half_open.admit(ip, 2));
        assert!(!half_open.admit(ip, 2));
        assert!(half_open.admit(other, 2), "other sources are not affected");
        half_open.done(ip);
        assert!(half_open.admit(ip, 2));
        half_open.done(ip);
        half_open.done(ip);
        half_open.done(other);
        assert!(
            half_open.by_source.lock().is_empty(),
            "no entry left behind"
        );
    }
}
