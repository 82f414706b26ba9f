//! What a shard task's batch produces for the outside world — operator events, widget frames,
//! replies to requests, notices to other shards — held back and released in order at one point
//! per batch. With a store, that point is the batch's group commit: nothing is published or
//! acknowledged before the state that produced it is durable (commit, then publish).

use crate::hub::Hub;
use crate::protocol::{OperatorOut, WidgetOut};
use crate::routing::OpIdx;
use crate::shard::requests::ShardRequest;
use std::sync::Arc;
use tokio::sync::oneshot;

enum Deferred {
    Operator(OpIdx, OperatorOut),
    OperatorEphemeral(OpIdx, OperatorOut),
    Client(Arc<str>, Arc<WidgetOut>),
    Post(usize, ShardRequest),
    ChangedElsewhere(OpIdx, usize),
    Reply(Box<dyn FnOnce() + Send>),
}

/// Effects waiting for their batch to be released.
#[derive(Default)]
pub struct Outbox {
    items: Vec<Deferred>,
}

impl Outbox {
    /// An event for operator `op` (numbered when released).
    pub fn publish(&mut self, op: OpIdx, frame: OperatorOut) {
        self.items.push(Deferred::Operator(op, frame));
    }

    /// A frame for operator `op` that is stale as soon as the next one of its kind exists (a
    /// typing preview): sent to the live sessions with the current `seq`, not numbered and not
    /// kept for resume.
    pub fn publish_ephemeral(&mut self, op: OpIdx, frame: OperatorOut) {
        self.items.push(Deferred::OperatorEphemeral(op, frame));
    }

    /// A frame for every session of `client`.
    pub fn send_client(&mut self, client: &Arc<str>, frame: Arc<WidgetOut>) {
        self.items.push(Deferred::Client(client.clone(), frame));
    }

    /// A request to shard `shard`.
    pub fn post(&mut self, shard: usize, msg: ShardRequest) {
        self.items.push(Deferred::Post(shard, msg));
    }

    /// Tells every shard but `except` that `op` changed.
    pub fn changed_elsewhere(&mut self, op: OpIdx, except: usize) {
        self.items.push(Deferred::ChangedElsewhere(op, except));
    }

    /// The answer to a request.
    pub fn reply<T: Send + 'static>(&mut self, tx: oneshot::Sender<T>, value: T) {
        self.items.push(Deferred::Reply(Box::new(move || {
            let _ = tx.send(value);
        })));
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Takes what is waiting, to release later.
    pub fn take(&mut self) -> Released {
        Released(std::mem::take(&mut self.items))
    }
}

/// A batch's effects, in the order they were produced.
pub struct Released(Vec<Deferred>);

impl Released {
    /// Delivers everything, in order.
    pub fn deliver(self, hub: &Hub) {
        if hub.has_failed() {
            // Fail-stop: after a failed commit nothing more leaves, not even what a later batch
            // made durable (it may rest on the batch that failed).
            return;
        }
        for item in self.0 {
            match item {
                Deferred::Operator(op, frame) => hub.feeds.publish(op, frame),
                Deferred::OperatorEphemeral(op, frame) => hub.feeds.send_ephemeral(op, frame),
                Deferred::Client(client, frame) => hub.clients.send(&client, frame),
                Deferred::Post(shard, msg) => hub.post(shard, msg),
                Deferred::ChangedElsewhere(op, except) => {
                    hub.operator_changed_elsewhere(op, except)
                }
                Deferred::Reply(send) => send(),
            }
        }
    }
}
