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

/// Why [`LoginGuard::attempt`] did not let a login through.
#[derive(Debug, PartialEq, Eq)]
pub enum LoginRefused<E> {
    /// The address presented too many wrong tokens lately: its token was not looked at.
    Blocked,
    /// The check refused the login (`E` says why).
    Refused(E),
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

    /// One login from `ip` (unknown: not limited): refused at once while the address is
    /// blocked, else `check` decides; a refusal that `is_wrong_token` counts adds a failure, a
    /// success forgets the address's failures.
    pub fn attempt<T, E>(
        &self,
        ip: Option<IpAddr>,
        now_ms: u64,
        check: impl FnOnce() -> Result<T, E>,
        is_wrong_token: impl FnOnce(&E) -> bool,
    ) -> Result<T, LoginRefused<E>> {
        let Some(ip) = ip else {
            return check().map_err(LoginRefused::Refused);
        };
        if !self.allowed(ip, now_ms) {
            return Err(LoginRefused::Blocked);
        }
        match check() {
            Ok(t) => {
                self.succeeded(ip);
                Ok(t)
            }
            Err(e) => {
                if is_wrong_token(&e) {
                    self.failed(ip, now_ms);
                }
                Err(LoginRefused::Refused(e))
            }
        }
    }

    /// Whether `ip` may try a token now (false: refused, counted).
    fn allowed(&self, ip: IpAddr, now_ms: u64) -> bool {
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
    fn failed(&self, ip: IpAddr, now_ms: u64) {
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
    fn succeeded(&self, ip: IpAddr) {
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
    fn an_attempt_counts_only_wrong_tokens_and_skips_the_check_while_blocked() {
        let guard = LoginGuard::new(Arc::default());
        let ip: IpAddr = "10.1.1.1".parse().unwrap();
        let wrong = |_: &&str| true;
        for _ in 0..FAILED_LOGINS_MAX {
            let refused = guard.attempt(Some(ip), 0, || Err::<(), _>("wrong"), wrong);
            assert_eq!(refused, Err(LoginRefused::Refused("wrong")));
        }
        let mut checked = false;
        let blocked = guard.attempt(
            Some(ip),
            1,
            || {
                checked = true;
                Ok::<_, &str>(())
            },
            wrong,
        );
        assert_eq!(blocked, Err(LoginRefused::Blocked));
        assert!(!checked, "a blocked address's token is not looked at");
        // Refusals that are not wrong tokens (e.g. the admin API switched off) do not count.
        let other: IpAddr = "10.1.1.2".parse().unwrap();
        for _ in 0..2 * FAILED_LOGINS_MAX {
            let _ = guard.attempt(Some(other), 0, || Err::<(), _>("off"), |_| false);
        }
        assert_eq!(
            guard.attempt(Some(other), 1, || Ok::<_, &str>(7), wrong),
            Ok(7)
        );
        // Without a known address nothing is limited.
        assert_eq!(guard.attempt(None, 1, || Ok::<_, &str>(8), wrong), Ok(8));
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
