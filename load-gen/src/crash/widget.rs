//! A widget in the crash run: writes at its pace while the load is on, resumes after every
//! crash with its resume token and the last `seq` it saw, sends every unacknowledged message
//! again with the same `client_msg_id`, rates when asked, and writes down everything it was
//! acknowledged and shown ([`WidgetJournal`]).

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use super::journal::{Acked, Seen, WidgetJournal};
use super::link::{num, text, Link, Phase, Read, Signals};

/// Messages a widget has waiting for their acks at most (the server allows 32).
const IN_FLIGHT_MAX: usize = 8;

pub struct WidgetActor {
    line: String,
    period: Duration,
    token: Option<String>,
    dialog: Option<u64>,
    last_seq: BTreeMap<u64, u64>,
    /// Sent, not yet acknowledged: (client_msg_id, text), in order.
    unacked: VecDeque<(String, String)>,
    in_flight: HashMap<u64, String>,
    next_msg: u64,
    next_req: u64,
    /// The signed identity this client says hello with, when it is a known client.
    identity: Option<serde_json::Value>,
    journal: WidgetJournal,
}

impl WidgetActor {
    pub fn new(index: usize, line: String, period: Duration) -> Self {
        WidgetActor {
            line,
            period,
            token: None,
            dialog: None,
            last_seq: BTreeMap::new(),
            unacked: VecDeque::new(),
            in_flight: HashMap::new(),
            next_msg: 0,
            next_req: 0,
            identity: super::contacts::identity(index),
            journal: WidgetJournal {
                client_id: format!("crash-w{index}"),
                ..WidgetJournal::default()
            },
        }
    }

    /// Runs until the phase is over; then the journal.
    pub async fn run(mut self, mut signals: Signals, offset: Duration) -> WidgetJournal {
        tokio::time::sleep(offset).await;
        while signals.phase() != Phase::Over {
            if !self.session(&mut signals).await {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        self.journal.open_dialog = self.dialog;
        self.journal.unacked_at_end = self.unacked.len();
        self.journal
    }

    fn req(&mut self) -> u64 {
        self.next_req += 1;
        self.next_req
    }

    /// One connection; false when it was lost.
    async fn session(&mut self, signals: &mut Signals) -> bool {
        let Some(mut link) = Link::open(signals, "/ws/widget").await else {
            return false;
        };
        let mut hello =
            json!({"type": "hello", "line": self.line, "client_id": self.journal.client_id});
        if let Some(token) = &self.token {
            hello["resume_token"] = json!(token);
        }
        if let Some(identity) = &self.identity {
            hello["identity"] = identity.clone();
        }
        if let Some(dialog) = self.dialog {
            hello["last_seq"] = json!(self.last_seq.get(&dialog).copied().unwrap_or(0));
        }
        if !link.send(&hello).await {
            return false;
        }
        let Some(welcome) = link.expect("welcome").await else {
            return false;
        };
        self.journal.welcomes += 1;
        self.journal.welcomed_as.insert(text(&welcome, "client_id"));
        self.token = Some(text(&welcome, "resume_token"));
        self.dialog = welcome["dialog_id"].as_u64();
        self.in_flight.clear();
        let resend: Vec<(String, String)> = self.unacked.iter().cloned().collect();
        for (id, body) in resend {
            if !self.send_message(&mut link, id, body).await {
                return false;
            }
        }
        let mut tick = tokio::time::interval(self.period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = signals.phase.changed() => {
                    if signals.phase() == Phase::Over {
                        link.close().await;
                        return true;
                    }
                }
                _ = tick.tick() => {
                    if signals.phase() == Phase::Settle && self.in_flight.is_empty() {
                        // Messages refused with an error (e.g. during a shutdown) go again.
                        let resend: Vec<(String, String)> = self.unacked.iter().cloned().collect();
                        for (id, body) in resend {
                            if !self.send_message(&mut link, id, body).await {
                                return false;
                            }
                        }
                    }
                    if signals.phase() == Phase::Load && self.in_flight.len() < IN_FLIGHT_MAX {
                        self.next_msg += 1;
                        let id = format!("{}-{}", self.journal.client_id, self.next_msg);
                        self.unacked.push_back((id.clone(), id.clone()));
                        if !self.send_message(&mut link, id.clone(), id).await {
                            return false;
                        }
                    }
                }
                read = link.read() => match read {
                    Read::Lost => return false,
                    Read::Frame(frame) => {
                        if !self.on_frame(&mut link, frame).await {
                            return false;
                        }
                    }
                },
            }
        }
    }

    async fn send_message(&mut self, link: &mut Link, id: String, body: String) -> bool {
        let req = self.req();
        self.in_flight.insert(req, id.clone());
        link.send(&json!({"type": "message", "req": req, "client_msg_id": id, "text": body}))
            .await
    }

    async fn on_frame(&mut self, link: &mut Link, frame: Value) -> bool {
        match frame["type"].as_str().unwrap_or_default() {
            "ack" => {
                let Some(id) = self.in_flight.remove(&num(&frame, "req")) else {
                    return true;
                };
                let Some(at) = self.unacked.iter().position(|(i, _)| *i == id) else {
                    return true;
                };
                let (id, body) = self.unacked.remove(at).expect("found above");
                let dialog = num(&frame, "dialog_id");
                self.dialog = Some(dialog);
                self.journal.acked.push(Acked {
                    client_msg_id: id,
                    text: body,
                    dialog,
                    seq: num(&frame, "seq"),
                    msg_id: num(&frame, "msg_id"),
                });
            }
            "message" => {
                let seen = Seen {
                    dialog: num(&frame, "dialog_id"),
                    seq: num(&frame, "seq"),
                    msg_id: num(&frame, "msg_id"),
                    author: text(&frame, "author"),
                    text: text(&frame, "text"),
                };
                let last = self.last_seq.entry(seen.dialog).or_default();
                *last = (*last).max(seen.seq);
                self.dialog = Some(seen.dialog);
                self.journal.received.push(seen);
            }
            "rating_request" => {
                let req = self.req();
                let dialog = num(&frame, "dialog_id");
                self.journal.ratings_sent += 1;
                return link
                    .send(
                        &json!({"type": "rate", "req": req, "dialog_id": dialog, "score": "like"}),
                    )
                    .await;
            }
            "dialog_closed" if self.dialog == Some(num(&frame, "dialog_id")) => {
                self.dialog = None;
            }
            "error" => {
                *self.journal.errors.entry(text(&frame, "code")).or_default() += 1;
                // Not stored: sent again at the next connection.
                self.in_flight.remove(&num(&frame, "req"));
            }
            _ => {}
        }
        true
    }
}
