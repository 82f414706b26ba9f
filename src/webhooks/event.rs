//! What a webhook event is: its type names, and the record the outbox keeps for it — the JSON
//! body (`{type, timestamp, data}`) exactly as it will be signed and sent, with the line it
//! belongs to (for `lines` filters) and its ordering key (events with one key reach an endpoint
//! in order). Pure: no I/O, no clock (the time is an argument).

use serde::{Deserialize, Serialize};

/// Every event type, by its wire name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    DialogCreated,
    DialogOffered,
    DialogAssigned,
    DialogTransferred,
    DialogClosed,
    DialogRated,
    KpiMissed,
    ConsentAnswered,
    ContactCreated,
    ContactUpdated,
    ContactMerged,
    ContactDeleted,
    MessageCreated,
}

impl EventKind {
    pub const ALL: [EventKind; 13] = [
        EventKind::DialogCreated,
        EventKind::DialogOffered,
        EventKind::DialogAssigned,
        EventKind::DialogTransferred,
        EventKind::DialogClosed,
        EventKind::DialogRated,
        EventKind::KpiMissed,
        EventKind::ConsentAnswered,
        EventKind::ContactCreated,
        EventKind::ContactUpdated,
        EventKind::ContactMerged,
        EventKind::ContactDeleted,
        EventKind::MessageCreated,
    ];

    /// The wire name (`dialog.created`).
    pub fn name(self) -> &'static str {
        match self {
            EventKind::DialogCreated => "dialog.created",
            EventKind::DialogOffered => "dialog.offered",
            EventKind::DialogAssigned => "dialog.assigned",
            EventKind::DialogTransferred => "dialog.transferred",
            EventKind::DialogClosed => "dialog.closed",
            EventKind::DialogRated => "dialog.rated",
            EventKind::KpiMissed => "kpi.missed",
            EventKind::ConsentAnswered => "consent.answered",
            EventKind::ContactCreated => "contact.created",
            EventKind::ContactUpdated => "contact.updated",
            EventKind::ContactMerged => "contact.merged",
            EventKind::ContactDeleted => "contact.deleted",
            EventKind::MessageCreated => "message.created",
        }
    }

    pub fn parse(name: &str) -> Option<EventKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|k| k.name()).collect()
    }

    /// This type's bit in a subscription mask.
    pub fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// One event as the outbox keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    /// The type's wire name.
    pub kind: String,
    /// The line the event happened on, if any.
    pub line: Option<String>,
    /// Events with the same key reach one endpoint in order (`dialog:256`, `contact:7`).
    pub order: Option<String>,
    /// When it happened (Unix ms).
    pub created_ms: u64,
    /// The JSON body sent: `{"type", "timestamp", "data"}`.
    #[serde(with = "serde_bytes_vec")]
    pub body: Vec<u8>,
}

impl OutboxEvent {
    /// The event of `kind` at `now_ms` with `data` (the ids a receiver needs to fetch more).
    pub fn new(
        kind: EventKind,
        line: Option<&str>,
        order: Option<String>,
        now_ms: u64,
        data: impl serde::Serialize,
    ) -> OutboxEvent {
        /// The body as sent, written straight from `data` (no JSON tree in between).
        #[derive(serde::Serialize)]
        struct Body<'a, D> {
            #[serde(rename = "type")]
            kind: &'a str,
            timestamp: String,
            data: D,
        }
        let body = Body {
            kind: kind.name(),
            timestamp: timestamp(now_ms),
            data,
        };
        OutboxEvent {
            kind: kind.name().to_string(),
            line: line.map(str::to_string),
            order,
            created_ms: now_ms,
            body: serde_json::to_vec(&body).unwrap_or_default(),
        }
    }

    /// The record's bytes for the store.
    pub fn encode(&self) -> Vec<u8> {
        crate::store::records::encode(self)
    }

    pub fn decode(bytes: &[u8]) -> Option<OutboxEvent> {
        rmp_serde::from_slice(bytes).ok()
    }
}

/// RFC 3339 in UTC with milliseconds.
pub fn timestamp(ms: u64) -> String {
    jiff::Timestamp::from_millisecond(ms as i64)
        .map(|t| format!("{t:.3}"))
        .unwrap_or_default()
}

/// Bytes as a MessagePack binary (not an array of numbers).
mod serde_bytes_vec {
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = a.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_bytes(Visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bits_are_distinct() {
        let mut mask = 0u32;
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.name()), Some(kind));
            assert_eq!(mask & kind.bit(), 0);
            mask |= kind.bit();
        }
        assert_eq!(EventKind::parse("dialog.nope"), None);
    }

    #[test]
    fn an_event_keeps_its_body_through_the_store_encoding() {
        let data = serde_json::json!({"dialog_id": 256, "line": "support"});
        let event = OutboxEvent::new(
            EventKind::DialogCreated,
            Some("support"),
            Some("dialog:256".into()),
            1_765_000_000_123,
            data.clone(),
        );
        let back = OutboxEvent::decode(&event.encode()).expect("decodes");
        assert_eq!(back, event);
        let body: serde_json::Value = serde_json::from_slice(&back.body).unwrap();
        assert_eq!(body["type"], "dialog.created");
        assert_eq!(body["data"], data);
        assert_eq!(body["timestamp"], "2025-12-06T05:46:40.123Z");
    }
}
