//! One event's delivery to one endpoint as the store keeps it and the admin API shows it: its
//! state, every attempt (time, status code, error, latency; the newest `ATTEMPTS_KEPT_MAX`)
//! and when the next try is due. Pure.

use serde::{Deserialize, Serialize};

use super::client::Attempt;

use crate::config::bounds::WEBHOOK_ATTEMPTS_KEPT_MAX as ATTEMPTS_KEPT_MAX;

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Delivered,
    Failed,
}

impl Status {
    pub fn parse(text: &str) -> Option<Status> {
        match text {
            "pending" => Some(Status::Pending),
            "delivered" => Some(Status::Delivered),
            "failed" => Some(Status::Failed),
            _ => None,
        }
    }
}

/// One event's delivery to one endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// The event's type name.
    pub kind: String,
    pub status: Status,
    /// Every try made, counting dropped ones.
    pub tries: u32,
    pub attempts: Vec<Attempt>,
    /// When the next try is due (pending only).
    pub next_at_ms: Option<u64>,
    /// Why it failed for good, in words (failed only).
    #[serde(default)]
    pub reason: Option<String>,
}

impl Delivery {
    /// A delivery not tried yet, due at once.
    pub fn new(kind: &str, now_ms: u64) -> Delivery {
        Delivery {
            kind: kind.to_string(),
            status: Status::Pending,
            tries: 0,
            attempts: Vec::new(),
            next_at_ms: Some(now_ms),
            reason: None,
        }
    }

    /// Notes an attempt (keeping the newest `ATTEMPTS_KEPT_MAX`).
    pub fn record(&mut self, attempt: Attempt) {
        self.tries = self.tries.saturating_add(1);
        self.attempts.push(attempt);
        if self.attempts.len() > ATTEMPTS_KEPT_MAX {
            self.attempts.remove(0);
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        crate::store::records::encode(self)
    }

    pub fn decode(bytes: &[u8]) -> Option<Delivery> {
        rmp_serde::from_slice(bytes).ok()
    }

    /// The admin API's view: `{id, event, status, tries, attempts[], next_at, reason}`.
    pub fn view(&self, instance: u64, seq: u64) -> serde_json::Value {
        let attempts: Vec<serde_json::Value> = self
            .attempts
            .iter()
            .map(|a| {
                serde_json::json!({
                    "at": super::event::timestamp(a.at_ms),
                    "status_code": a.status,
                    "error": a.error,
                    "latency_ms": a.latency_ms,
                })
            })
            .collect();
        serde_json::json!({
            "id": seq.to_string(),
            "webhook_id": super::message_id(instance, seq),
            "event": self.kind,
            "status": self.status,
            "tries": self.tries,
            "attempts": attempts,
            "next_at": self.next_at_ms.map(super::event::timestamp),
            "reason": self.reason,
        })
    }
}
