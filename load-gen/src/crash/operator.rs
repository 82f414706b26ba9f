//! An operator in the crash run: accepts every offer, answers each client message while the load
//! is on, closes a dialog after a number of client messages and now and then transfers one to
//! the next operator; after every crash it says `hello` again with the last event number it saw
//! and sends unacknowledged answers again with the same `client_msg_id`. Writes down
//! acknowledgements, deliveries, event numbers and the dialogs it holds ([`OperatorJournal`]).

use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use super::journal::{Acked, OperatorJournal, Seen};
use super::link::{num, text, Link, Phase, Read, Signals};

/// Frames that take an event number (replies and previews carry the current one).
const EVENTS: [&str; 8] = [
    "dialog_offered",
    "dialog_revoked",
    "dialog_assigned",
    "message",
    "dialog_closed",
    "rating",
    "kpi_alert",
    "status",
];

/// What a request in flight was.
enum Pending {
    Message(String),
    Accept,
    Close(u64),
    Transfer(u64),
}

pub struct OperatorActor {
    token: String,
    /// Operator ids to transfer to (the others).
    peers: Vec<String>,
    close_after: u32,
    rng: fastrand::Rng,
    last_event: u64,
    held: BTreeSet<u64>,
    client_messages: HashMap<u64, u32>,
    /// When this operator first held each dialog it keeps waiting (see [`Self::keeps_waiting`]).
    first_held: HashMap<u64, std::time::Instant>,
    /// Answers not yet acknowledged: (client_msg_id, dialog, text).
    unacked: VecDeque<(String, u64, String)>,
    in_flight: HashMap<u64, Pending>,
    next_msg: u64,
    next_req: u64,
    journal: OperatorJournal,
}

impl OperatorActor {
    pub fn new(
        id: String,
        token: String,
        peers: Vec<String>,
        capacity: usize,
        close_after: u32,
        seed: u64,
    ) -> Self {
        OperatorActor {
            token,
            peers,
            close_after,
            rng: fastrand::Rng::with_seed(seed),
            last_event: 0,
            held: BTreeSet::new(),
            client_messages: HashMap::new(),
            first_held: HashMap::new(),
            unacked: VecDeque::new(),
            in_flight: HashMap::new(),
            next_msg: 0,
            next_req: 0,
            journal: OperatorJournal {
                id,
                capacity,
                ..OperatorJournal::default()
            },
        }
    }

    pub async fn run(mut self, mut signals: Signals) -> OperatorJournal {
        while signals.phase() != Phase::Over {
            if !self.session(&mut signals).await {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        self.journal.held_at_end = self.held.clone();
        self.journal
    }

    fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    async fn session(&mut self, signals: &mut Signals) -> bool {
        let Some(mut link) = Link::open(signals, "/ws/operator").await else {
            return false;
        };
        let mut hello = json!({"type": "hello", "token": self.token});
        if self.last_event > 0 {
            hello["last_seq"] = json!(self.last_event);
        }
        if !link.send(&hello).await {
            return false;
        }
        let Some(welcome) = link.expect("welcome").await else {
            return false;
        };
        self.journal.welcomes += 1;
        self.in_flight.clear();
        self.held.clear();
        let mut offers = Vec::new();
        for d in welcome["dialogs"].as_array().into_iter().flatten() {
            let dialog = num(d, "dialog_id");
            match d["state"].as_str().unwrap_or_default() {
                "active" | "bot" => {
                    self.held.insert(dialog);
                }
                "offered" => offers.push(dialog),
                _ => {}
            }
        }
        self.note_held();
        for dialog in offers {
            if !self.accept(&mut link, dialog).await {
                return false;
            }
        }
        let resend: Vec<(String, u64, String)> = self.unacked.iter().cloned().collect();
        for (id, dialog, body) in resend {
            if !self.send_answer(&mut link, id, dialog, body).await {
                return false;
            }
        }
        loop {
            tokio::select! {
                _ = signals.phase.changed() => {
                    if signals.phase() == Phase::Over {
                        link.close().await;
                        return true;
                    }
                }
                read = link.read() => match read {
                    Read::Lost => return false,
                    Read::Frame(frame) => {
                        if !self.on_frame(&mut link, frame, signals.phase()).await {
                            return false;
                        }
                    }
                },
            }
        }
    }

    /// Records how many dialogs the operator holds now. A close or transfer on its way has
    /// freed its slot on the server already, and the next assignment may overtake its ack, so
    /// those are not counted.
    fn note_held(&mut self) {
        let leaving = self
            .in_flight
            .values()
            .filter(|p| matches!(p, Pending::Close(_) | Pending::Transfer(_)))
            .count();
        let held = self.held.len().saturating_sub(leaving);
        self.journal.most_held = self.journal.most_held.max(held);
    }

    async fn accept(&mut self, link: &mut Link, dialog: u64) -> bool {
        let req = self.req();
        self.in_flight.insert(req, Pending::Accept);
        link.send(&json!({"type": "accept", "req": req, "dialog_id": dialog}))
            .await
    }

    async fn send_answer(
        &mut self,
        link: &mut Link,
        id: String,
        dialog: u64,
        body: String,
    ) -> bool {
        let req = self.req();
        self.in_flight.insert(req, Pending::Message(id.clone()));
        link.send(&json!({"type": "message", "req": req, "dialog_id": dialog, "client_msg_id": id, "text": body}))
            .await
    }

    async fn on_frame(&mut self, link: &mut Link, frame: Value, phase: Phase) -> bool {
        let kind = frame["type"].as_str().unwrap_or_default().to_string();
        if EVENTS.contains(&kind.as_str()) {
            let seq = num(&frame, "seq");
            self.journal.event_seqs.push(seq);
            self.last_event = self.last_event.max(seq);
        }
        let dialog = num(&frame, "dialog_id");
        match kind.as_str() {
            "dialog_offered" => return self.accept(link, dialog).await,
            "dialog_assigned" => {
                self.held.insert(dialog);
                self.note_held();
            }
            "dialog_revoked" | "dialog_closed" => {
                self.held.remove(&dialog);
            }
            "message" => {
                let seen = Seen {
                    dialog,
                    seq: num(&frame, "dialog_seq"),
                    msg_id: num(&frame, "msg_id"),
                    author: text(&frame, "author"),
                    text: text(&frame, "text"),
                };
                let from_client = seen.author == "client";
                self.journal.received.push(seen);
                if from_client && phase == Phase::Load && self.held.contains(&dialog) {
                    return self.answer(link, dialog).await;
                }
            }
            "ack" => self.on_ack(&frame),
            "error" => {
                *self.journal.errors.entry(text(&frame, "code")).or_default() += 1;
                if let Some(Pending::Message(id)) = self.in_flight.remove(&num(&frame, "req")) {
                    // Refused (the dialog moved on): not stored, not to be sent again.
                    self.unacked.retain(|(i, _, _)| *i != id);
                }
            }
            _ => {}
        }
        true
    }

    /// Every third dialog is left unanswered until its `unanswered` timer is due (and a little
    /// more), so that timer fires in many dialogs, some of them while the server is down.
    fn keeps_waiting(&mut self, dialog: u64) -> bool {
        if !(dialog >> 8).is_multiple_of(3) {
            return false;
        }
        let since = *self
            .first_held
            .entry(dialog)
            .or_insert_with(std::time::Instant::now);
        since.elapsed() < Duration::from_millis(super::checker::UNANSWERED_AFTER_MS + 300)
    }

    /// Answers, closes or transfers `dialog` after a client message.
    async fn answer(&mut self, link: &mut Link, dialog: u64) -> bool {
        if self.keeps_waiting(dialog) {
            return true;
        }
        let count = self.client_messages.entry(dialog).or_default();
        *count += 1;
        if *count >= self.close_after {
            let req = self.req();
            self.in_flight.insert(req, Pending::Close(dialog));
            return link
                .send(&json!({"type": "close", "req": req, "dialog_id": dialog}))
                .await;
        }
        if !self.peers.is_empty() && self.rng.u32(0..100) < 3 {
            let to = self.peers[self.rng.usize(0..self.peers.len())].clone();
            let req = self.req();
            self.in_flight.insert(req, Pending::Transfer(dialog));
            return link
                .send(&json!({"type": "transfer", "req": req, "dialog_id": dialog, "to_operator": to}))
                .await;
        }
        self.next_msg += 1;
        let id = format!("{}-{}", self.journal.id, self.next_msg);
        self.unacked.push_back((id.clone(), dialog, id.clone()));
        self.send_answer(link, id.clone(), dialog, id).await
    }

    fn on_ack(&mut self, frame: &Value) {
        match self.in_flight.remove(&num(frame, "req")) {
            Some(Pending::Message(id)) => {
                if let Some(at) = self.unacked.iter().position(|(i, _, _)| *i == id) {
                    let (id, dialog, body) = self.unacked.remove(at).expect("found above");
                    self.journal.acked.push(Acked {
                        client_msg_id: id,
                        text: body,
                        dialog,
                        seq: num(frame, "dialog_seq"),
                        msg_id: num(frame, "msg_id"),
                    });
                }
            }
            Some(Pending::Accept) => self.journal.accepted += 1,
            Some(Pending::Close(dialog)) => {
                self.journal.closed += 1;
                self.held.remove(&dialog);
            }
            Some(Pending::Transfer(dialog)) => {
                self.journal.transferred += 1;
                self.held.remove(&dialog);
            }
            None => {}
        }
    }
}
