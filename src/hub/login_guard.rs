//! Failed logins per source address: after `FAILED_LOGINS_MAX` failures within
//! `FAILED_LOGIN_WINDOW_MS`, the address is refused for `LOGIN_BLOCK_MS` before its token is
//! even compared, so guessing tokens from one address is slow. Shared by operator `hello`, the
//! admin API and the console's reads; failures and refusals are counted for `/metrics`.
//! Must never: keep unbounded state (at most `LOGIN_SOURCES_TRACKED_MAX` addresses).

use crate::config::bounds::{
    FAILED_LOGINS_MAX, FAILED_LOGIN_WINDOW_MS, LOGIN_BLOCK_MS, LOGIN_SOURCES_TRACKED_MAX,
};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use crate::metrics::Metrics;

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    window_start_ms: u64,
    blocked_until_ms: u64,
}

/// Failed logins by source address.
pub struct LoginGuard {
    by_source: Mutex<HashMap<IpAddr, Failures>>,
    metrics: Arc<Metrics>,
}

impl LoginGuard {
    /// Counts failures and refusals in `metrics`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            by_source: Mutex::default(),
            metrics,
        }
    }

    /// Whether `ip` may try a token now (false: refused, counted).
    pub fn allowed(&self, ip: IpAddr, now_ms: u64) -> bool {
        let blocked = self
            .by_source
            .lock()
            .get(&ip)
            .is_some_and(|f| now_ms < f.blocked_until_ms);
        if blocked {
            self.metrics.counters.login_refused();
        }
        !blocked
    }

    /// `ip` presented a wrong token.
    pub fn failed(&self, ip: IpAddr, now_ms: u64) {
        self.metrics.counters.login_failed();
        let mut by_source = self.by_source.lock();
        if by_source.len() >= LOGIN_SOURCES_TRACKED_MAX && !by_source.contains_key(&ip) {
            // Forget addresses whose window and block are over; if none are, the oldest window.
            by_source.retain(|_, f| {
                now_ms < f.blocked_until_ms || now_ms < f.window_start_ms + FAILED_LOGIN_WINDOW_MS
            });
            if by_source.len() >= LOGIN_SOURCES_TRACKED_MAX {
                if let Some(oldest) = by_source
                    .iter()
                    .min_by_key(|(_, f)| f.window_start_ms)
                    .map(|(ip, _)| *ip)
                {
                    by_source.remove(&oldest);
                }
            }
        }
        let f = by_source.entry(ip).or_insert(Failures {
            count: 0,
            window_start_ms: now_ms,
            blocked_until_ms: 0,
        });
        if now_ms >= f.window_start_ms + FAILED_LOGIN_WINDOW_MS {
            f.count = 0;
            f.window_start_ms = now_ms;
        }
        f.count += 1;
        if f.count >= FAILED_LOGINS_MAX {
            f.blocked_until_ms = now_ms + LOGIN_BLOCK_MS;
            f.count = 0;
            f.window_start_ms = now_ms;
        }
    }

    /// `ip` logged in: its failures are forgotten.
    pub fn succeeded(&self, ip: IpAddr) {
        self.by_source.lock().remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_too_many_failures_and_forgiven_later() {
        let guard = LoginGuard::new(Arc::default());
        let ip: IpAddr = "10.1.1.1".parse().unwrap();
        let other: IpAddr = "10.1.1.2".parse().unwrap();
        for i in 0..FAILED_LOGINS_MAX - 1 {
            assert!(guard.allowed(ip, i as u64));
            guard.failed(ip, i as u64);
        }
        assert!(guard.allowed(ip, 100), "one failure short of the limit");
        guard.failed(ip, 100);
        assert!(!guard.allowed(ip, 101));
        assert!(
            guard.allowed(other, 101),
            "other addresses are not affected"
        );
        assert!(!guard.allowed(ip, 100 + LOGIN_BLOCK_MS - 1));
        assert!(guard.allowed(ip, 100 + LOGIN_BLOCK_MS));
        let counted = guard.metrics.counters.snapshot();
        assert_eq!(counted.login_failures, FAILED_LOGINS_MAX as u64);
        assert_eq!(counted.logins_refused, 2);
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_add_up() {
        let guard = LoginGuard::new(Arc::default());
        let ip: IpAddr = "10.1.1.1".parse().unwrap();
        for i in 0..(FAILED_LOGINS_MAX as u64 * 3) {
            guard.failed(ip, i * FAILED_LOGIN_WINDOW_MS / 2);
        }
        assert!(guard.allowed(ip, FAILED_LOGINS_MAX as u64 * 3 * FAILED_LOGIN_WINDOW_MS));
    }

    #[test]
    fn a_success_forgets_the_failures() {
        let guard = LoginGuard::new(Arc::default());
        let ip: IpAddr = "10.1.1.1".parse().unwrap();
        for i in 0..FAILED_LOGINS_MAX - 1 {
            guard.failed(ip, i as u64);
        }
        guard.succeeded(ip);
        guard.failed(ip, 20);
        assert!(guard.allowed(ip, 21));
    }
}
