//! A small driver for routing tests: builds a router from TOML, moves the clock by hand, and
//! reads the effects.

use crate::config::Config;
use crate::routing::*;

/// 2026-11-23 10:00:00 UTC, a Monday.
pub const T0: u64 = 1_795_428_000_000;

pub struct Harness {
    pub router: Router,
    pub now: u64,
    pub out: Vec<Effect>,
    /// Messages sent through the helpers (each gets a key of its own).
    sent: u64,
}

impl Harness {
    pub fn new(toml: &str) -> Self {
        Self::with_shards(toml, 1)
    }

    pub fn with_shards(toml: &str, shards: usize) -> Self {
        let config =
            Config::from_toml_str(toml).unwrap_or_else(|e| panic!("test config invalid:\n{e}"));
        Self {
            router: Router::new(&config, shards, T0),
            now: T0,
            out: Vec::new(),
            sent: 0,
        }
    }

    pub fn op(&self, id: &str) -> OpIdx {
        self.router
            .operator(id)
            .unwrap_or_else(|| panic!("no operator {id}"))
    }

    pub fn line(&self, id: &str) -> LineIdx {
        self.router
            .line(id)
            .unwrap_or_else(|| panic!("no line {id}"))
    }

    pub fn presence(&mut self, op: &str, presence: Presence) {
        let op = self.op(op);
        self.router
            .set_presence(self.now, op, presence, &mut self.out);
    }

    pub fn online(&mut self, ops: &[&str]) {
        for op in ops {
            self.presence(op, Presence::Online);
        }
    }

    pub fn run(&mut self, command: Command) -> Result<Reply, RoutingError> {
        self.router.handle(self.now, command, &mut self.out)
    }

    /// A message key not used before.
    pub fn fresh_key(&mut self) -> String {
        self.sent += 1;
        format!("m{}", self.sent)
    }

    /// The client writes on `line`; returns the dialog.
    pub fn client_says(&mut self, line: &str, client: &str) -> DialogId {
        let key = self.fresh_key();
        match self.client_writes(line, client, None, &key, "hello") {
            Ok(Reply::ClientMessage { dialog, .. }) => dialog,
            other => panic!("client message failed: {other:?}"),
        }
    }

    /// The client writes `text` with `key` on `line` (in `dialog`, when the widget knows one).
    pub fn client_writes(
        &mut self,
        line: &str,
        client: &str,
        dialog: Option<DialogId>,
        key: &str,
        text: &str,
    ) -> Result<Reply, RoutingError> {
        let line = self.line(line);
        self.run(client_message(line, client, dialog, key, text))
    }

    /// [`Harness::client_writes`] from a client whose contact's responsible operator is
    /// `responsible` (offered a new dialog first).
    pub fn client_writes_to_responsible(
        &mut self,
        line: &str,
        client: &str,
        key: &str,
        text: &str,
        responsible: &str,
    ) -> Result<Reply, RoutingError> {
        let line = self.line(line);
        let mut command = client_message(line, client, None, key, text);
        if let Command::ClientMessage {
            responsible: r,
            info,
            ..
        } = &mut command
        {
            *r = Some(self.op(responsible));
            info.contact_id = Some(812);
        }
        self.run(command)
    }

    pub fn accept(&mut self, op: &str, dialog: DialogId) -> Result<Reply, RoutingError> {
        let op = self.op(op);
        self.run(Command::Accept { op, dialog })
    }

    pub fn decline(&mut self, op: &str, dialog: DialogId) -> Result<Reply, RoutingError> {
        let op = self.op(op);
        self.run(Command::Decline { op, dialog })
    }

    pub fn answer(&mut self, op: &str, dialog: DialogId) -> Result<Reply, RoutingError> {
        let key = self.fresh_key();
        self.operator_writes(op, dialog, &key, "answer")
    }

    /// `op` writes `text` with `key` in `dialog`.
    pub fn operator_writes(
        &mut self,
        op: &str,
        dialog: DialogId,
        key: &str,
        text: &str,
    ) -> Result<Reply, RoutingError> {
        let op = self.op(op);
        self.run(Command::OperatorMessage {
            op,
            dialog,
            key: key.to_string(),
            text: text.into(),
        })
    }

    pub fn close(&mut self, op: &str, dialog: DialogId) -> Result<Reply, RoutingError> {
        let op = self.op(op);
        self.run(Command::Close { op, dialog })
    }

    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.router.tick(self.now, &mut self.out);
    }

    /// Effects since the last call.
    pub fn take(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.out)
    }

    pub fn holder(&self, dialog: DialogId) -> Option<Holder> {
        self.router.dialog(dialog).map(|d| d.holder.clone())
    }

    pub fn name(&self, op: OpIdx) -> &str {
        &self.router.operators()[op.0 as usize].id
    }

    /// `(dialog, operator id)` of every offer in `effects`.
    pub fn offers(&self, effects: &[Effect]) -> Vec<(DialogId, String)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Offered { dialog, op, .. } => Some((*dialog, self.name(*op).to_string())),
                _ => None,
            })
            .collect()
    }

    /// Operator ids of every offer in the effects since the last `take`, consuming them.
    pub fn offered_to(&mut self) -> Vec<String> {
        let effects = self.take();
        self.offers(&effects)
            .into_iter()
            .map(|(_, op)| op)
            .collect()
    }

    pub fn offered(&self, dialog: DialogId) -> Option<String> {
        match self.holder(dialog)? {
            Holder::Offered(op) => Some(self.name(op).to_string()),
            _ => None,
        }
    }

    pub fn load(&self, op: &str) -> u32 {
        self.router.operators()[self.op(op).0 as usize]
            .cell
            .state()
            .load
    }

    pub fn explain(&self, decision: &Decision) -> String {
        decision.explain(|op| &self.router.operators()[op.0 as usize].id)
    }
}

/// A client message command (the client's details are just its id).
pub fn client_message(
    line: LineIdx,
    client: &str,
    dialog: Option<DialogId>,
    key: &str,
    text: &str,
) -> Command {
    Command::ClientMessage {
        line,
        client: client.into(),
        dialog,
        info: crate::protocol::ClientInfo {
            client_id: client.to_string(),
            ..Default::default()
        },
        key: key.to_string(),
        text: text.into(),
        responsible: None,
    }
}

/// Operators `a`..`e` (capacity 10), a line `l` with the given queue body.
pub fn config(queue: &str, extra: &str) -> String {
    let mut text = String::new();
    for id in ["a", "b", "c", "d", "e"] {
        text.push_str(&format!(
            "[[operators]]\nid = \"{id}\"\nname = \"{id}\"\ncapacity = 10\n\n"
        ));
    }
    text.push_str(&format!(
        "[[lines]]\nid = \"l\"\nname = \"L\"\n[lines.queue]\n{queue}\n{extra}\n"
    ));
    text
}
