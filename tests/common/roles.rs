//! The two roles a test plays over a [`Conn`]: a chat [`Widget`] (a client on a line) and an
//! [`Operator`]. Each connects, sends its `hello` and takes its `welcome`, and has the requests
//! and the waits for typed frames its tests use; both deref to their [`Conn`] for the rest.

use std::ops::{Deref, DerefMut};

use serde_json::{json, Value};

use super::client::{Conn, Enc, Endpoint};
use super::config::token;
use super::frames::{field_str, frame_type, is_message_with_text};
use super::process::{next_serial, Server};

/// `Deref` and `DerefMut` of a role to its `conn`, so that it can be used as its [`Conn`].
macro_rules! derefs_to_conn {
    ($role:ty) => {
        impl Deref for $role {
            type Target = Conn;
            fn deref(&self) -> &Conn {
                &self.conn
            }
        }

        impl DerefMut for $role {
            fn deref_mut(&mut self) -> &mut Conn {
                &mut self.conn
            }
        }
    };
}

/// Takes the next `message` by `author` (`client` or `operator`) with this text.
async fn take_message(conn: &mut Conn, author: &str, text: &str) -> Value {
    conn.recv_where(&format!("{author} message {text:?}"), |f| {
        is_message_with_text(f, text) && f["author"] == author
    })
    .await
    .0
}

/// A chat widget that got its `welcome`.
pub struct Widget {
    pub conn: Conn,
    pub welcome: Value,
}

derefs_to_conn!(Widget);

impl Widget {
    /// Connects, sends `hello` and takes the `welcome`, which must be the first frame.
    pub async fn connect(server: &impl Endpoint, hello: Value, enc: Enc) -> Widget {
        let label = format!(
            "widget {}",
            hello["client_id"].as_str().unwrap_or("(resumed)")
        );
        let mut conn = Conn::open(server, "/ws/widget", enc, &label).await;
        conn.send(hello).await;
        let welcome = conn.expect("welcome").await;
        Widget { conn, welcome }
    }

    /// A new JSON client `client_id` on `line`.
    pub async fn join(server: &impl Endpoint, line: &str, client_id: &str) -> Widget {
        Widget::connect(
            server,
            json!({"type": "hello", "line": line, "client_id": client_id}),
            Enc::Json,
        )
        .await
    }

    pub fn client_id(&self) -> String {
        field_str(&self.welcome, "client_id").to_string()
    }

    pub fn resume_token(&self) -> String {
        field_str(&self.welcome, "resume_token").to_string()
    }

    /// Sends a message and returns its `ack`.
    pub async fn say(&mut self, client_msg_id: &str, text: &str) -> Value {
        self.conn
            .ack(json!({"type": "message", "client_msg_id": client_msg_id, "text": text}))
            .await
    }

    /// Takes the next `message` from an operator with this text.
    pub async fn operator_said(&mut self, text: &str) -> Value {
        take_message(&mut self.conn, "operator", text).await
    }
}

/// An operator client that got its `welcome`.
pub struct Operator {
    pub conn: Conn,
    pub welcome: Value,
    pub id: String,
}

derefs_to_conn!(Operator);

impl Operator {
    /// Connects as `id` (JSON) and takes the `welcome`.
    pub async fn connect(server: &impl Endpoint, id: &str) -> Operator {
        Operator::connect_with(
            server,
            id,
            json!({"type": "hello", "token": token(id)}),
            Enc::Json,
        )
        .await
    }

    /// Connects with this `hello` and takes the `welcome`, which must be the first frame.
    pub async fn connect_with(
        server: &impl Endpoint,
        id: &str,
        hello: Value,
        enc: Enc,
    ) -> Operator {
        let mut conn = Conn::open(server, "/ws/operator", enc, &format!("operator {id}")).await;
        conn.send(hello).await;
        let welcome = conn.expect("welcome").await;
        Operator {
            conn,
            welcome,
            id: id.to_string(),
        }
    }

    /// Takes the frame of type `kind` for dialog `d`.
    async fn dialog_event(&mut self, kind: &str, d: u64) -> Value {
        self.conn
            .recv_where(&format!("{kind} {d}"), |f| {
                frame_type(f) == kind && f["dialog_id"] == d
            })
            .await
            .0
    }

    /// Takes the `dialog_offered` for dialog `d`.
    pub async fn offered(&mut self, d: u64) -> Value {
        self.dialog_event("dialog_offered", d).await
    }

    /// Takes the `dialog_revoked` for dialog `d`.
    pub async fn revoked(&mut self, d: u64) -> Value {
        self.dialog_event("dialog_revoked", d).await
    }

    /// Takes the `dialog_assigned` for dialog `d`.
    pub async fn assigned(&mut self, d: u64) -> Value {
        self.dialog_event("dialog_assigned", d).await
    }

    /// Takes the next client `message` with this text.
    pub async fn client_said(&mut self, text: &str) -> Value {
        take_message(&mut self.conn, "client", text).await
    }

    pub async fn accept(&mut self, d: u64) -> Value {
        self.conn
            .ack(json!({"type": "accept", "dialog_id": d}))
            .await
    }

    /// Sends a message in dialog `d` and returns its `ack`.
    pub async fn say(&mut self, d: u64, client_msg_id: &str, text: &str) -> Value {
        self.conn
            .ack(json!({
                "type": "message",
                "dialog_id": d,
                "client_msg_id": client_msg_id,
                "text": text
            }))
            .await
    }

    pub async fn close_dialog(&mut self, d: u64) -> Value {
        self.conn
            .ack(json!({"type": "close", "dialog_id": d}))
            .await
    }

    /// Sets presence (`online`, `away`, `offline`); the server must ack it.
    pub async fn status(&mut self, state: &str) -> Value {
        self.conn
            .ack(json!({"type": "status", "state": state}))
            .await
    }
}

/// A brand-new widget can still connect to `line` and gets its `welcome`: the server survived.
pub async fn assert_new_widget_welcomed(server: &Server, line: &str) {
    let n = next_serial();
    let widget = Widget::join(server, line, &format!("probe-{n}")).await;
    assert_eq!(
        widget.welcome["client_id"],
        format!("probe-{n}"),
        "{}",
        widget.welcome
    );
    widget.conn.disconnect().await;
}
