//! A widget's handshake: the `hello` frame within `auth_timeout`, its line, the client (a new
//! one with a fresh resume token, or a resumed one), then the welcome, the consent request and
//! the messages the client missed.
//! Must never: let a frame other than `hello` through first, or keep a token it did not store.

use super::Widget;
use crate::contacts::tracker::{Claim, Recognized};
use crate::protocol::{common, widget, ClientInfo, ErrorCode, WidgetIn, WidgetOut};
use crate::routing::LineIdx;
use crate::session::conn::{close, error, Conn, Incoming};
use crate::session::drafts::Drafts;
use crate::session::Gateway;
use crate::shard::{ClientState, ShardRequest};
use std::sync::Arc;

/// Why a handshake ended the connection: close with this code and reason, or (`None`) the peer
/// is gone already.
pub(super) type Refused = Option<(u16, &'static str)>;

/// A client admitted on a line.
pub(super) struct Admitted {
    pub line: LineIdx,
    pub client: Arc<str>,
    pub token: String,
    pub hello: widget::Hello,
}

/// Reads `hello` and admits its client, or says how to close. `origin` is the page's `Origin`
/// header from the handshake (absent for clients that are not browsers).
pub(super) async fn admit(
    conn: &mut Conn,
    gw: &Gateway,
    origin: Option<&str>,
) -> Result<Admitted, Refused> {
    let hello = read_hello(conn, gw).await?;
    let hub = &gw.hub;
    let Some(line) = hub.directory().line_index.get(hello.line.as_str()).copied() else {
        let frame = error(hello.req, ErrorCode::NotFound, "no such line");
        conn.send(&WidgetOut::Error(frame)).await;
        return Err(Some((close::POLICY, "no such line")));
    };
    if !hub.directory().lines[line.0 as usize].allows_origin(origin) {
        let message = format!(
            "a page of {} may not use line {} (not in its allowed_origins)",
            origin.unwrap_or_default(),
            hello.line
        );
        conn.send(&WidgetOut::Error(common::ErrorFrame {
            req: hello.req,
            code: ErrorCode::Forbidden,
            message: message.into(),
        }))
        .await;
        return Err(Some((close::POLICY, "origin not allowed")));
    }
    let (client, token) = client_and_token(conn, gw, line, &hello).await?;
    Ok(Admitted {
        line,
        client,
        token,
        hello,
    })
}

/// The first frame, which must be `hello` and come within `auth_timeout`.
async fn read_hello(conn: &mut Conn, gw: &Gateway) -> Result<widget::Hello, Refused> {
    let auth_timeout = std::time::Duration::from_millis(gw.hub.limits.auth_timeout.as_ms());
    match tokio::time::timeout(auth_timeout, conn.recv::<WidgetIn>(true)).await {
        Err(_) => Err(Some((close::POLICY, "no hello in time"))),
        Ok(Incoming::Frame(WidgetIn::Hello(hello))) => Ok(hello),
        Ok(Incoming::Frame(other)) => {
            conn.send(&WidgetOut::Error(error(
                other.req(),
                ErrorCode::Unauthorized,
                "the first frame must be hello",
            )))
            .await;
            Err(Some((close::POLICY, "hello first")))
        }
        Ok(Incoming::Bad(e)) => {
            conn.send(&WidgetOut::Error(e)).await;
            Err(Some((close::POLICY, "hello first")))
        }
        Ok(Incoming::Close(code, reason)) => Err(Some((code, reason))),
        Ok(Incoming::Gone | Incoming::Nothing) => Err(None),
    }
}

/// The resumed client of a known token on this line, or a new client with a new token (stored
/// before it is handed out).
async fn client_and_token(
    conn: &mut Conn,
    gw: &Gateway,
    line: LineIdx,
    hello: &widget::Hello,
) -> Result<(Arc<str>, String), Refused> {
    let line_id = gw.hub.directory().lines[line.0 as usize].id.clone();
    if let Some(token) = &hello.resume_token {
        return match gw.hub.redeem(token) {
            Some((client, token_line)) if token_line == line_id => Ok((client, token.clone())),
            _ => {
                let frame = error(hello.req, ErrorCode::Unauthorized, "unknown resume token");
                conn.send(&WidgetOut::Error(frame)).await;
                Err(Some((close::POLICY, "unknown resume token")))
            }
        };
    }
    // A new session: a given id is kept unless a client with a resume token has it (whoever
    // holds only the id must not join that client's dialog or receive its messages).
    let client: Arc<str> = match hello
        .client_id
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 128)
    {
        Some(id) if !gw.hub.client_has_token(id) => id.into(),
        _ => crate::hub::random_hex().into(),
    };
    match gw.hub.issue_token(&client, &line_id).await {
        Ok(token) => Ok((client, token)),
        Err(r) => {
            conn.send(&WidgetOut::Error(common::ErrorFrame {
                req: hello.req,
                code: r.code,
                message: r.message,
            }))
            .await;
            Err(Some((close::TRY_AGAIN_LATER, "try again later")))
        }
    }
}

/// What the welcome leaves the connection loop: the session, the replay's last `(dialog, seq)`
/// and whether the socket is still alive.
pub(super) struct Welcomed {
    pub me: Widget,
    pub replayed: Option<(u64, u64)>,
    pub alive: bool,
}

/// Asks the line's shard what the client missed, then sends the welcome, the consent request
/// (when the line has a notice the client has not accepted) and the missed messages.
pub(super) async fn welcome(conn: &mut Conn, gw: &Arc<Gateway>, admitted: Admitted) -> Welcomed {
    let hub = &gw.hub;
    let Admitted {
        line,
        client,
        token,
        hello,
    } = admitted;
    let state = hub
        .ask(hub.shard_of_line(line), |reply| ShardRequest::ClientHello {
            line,
            client: client.clone(),
            last_seq: hello.last_seq,
            reply,
        })
        .await
        .unwrap_or_default();
    let now = hub.clock.now_ms();
    let (line_id, consent) = super::line_consent(hub, line);
    // A client without an open dialog is asked, unless it accepted this version of the notice
    // before (the answer is stored)
    let ask_consent =
        consent
            .as_ref()
            .filter(|_| state.dialog.is_none())
            .filter(|(_, version, _)| {
                hub.stored_consent(&line_id, &client)
                    .is_none_or(|answer| !answer.accepted || answer.version != *version)
            });
    // Also with an open dialog: a dialog this session opens after it closes is described by
    // what the hello recognized.
    let recognized = recognize(gw, line, &client, &hello).await;
    let me = Widget {
        gw: gw.clone(),
        line,
        client: client.clone(),
        info: ClientInfo {
            client_id: client.to_string(),
            name: hello.name,
            email: hello.email,
            phone: hello.phone,
            contact_id: recognized.contact.as_ref().map(|c| c.id),
            contact: recognized.contact.map(Box::new),
            unverified_match: recognized.unverified_match,
        },
        dialog: state.dialog,
        consent_needed: ask_consent.is_some_and(|(_, _, required)| *required),
        drafts: Drafts::default(),
    };
    let ClientState {
        dialog,
        operator,
        missed,
    } = state;
    let welcome = WidgetOut::Welcome(widget::Welcome {
        client_id: client.to_string(),
        resume_token: token,
        line_name: hub.directory().lines[line.0 as usize].name.to_string(),
        dialog_id: dialog.map(|d| d.0),
        operator,
        working_hours_open: hub.directory().line_open(line, now),
        prechat: hub.directory().lines[line.0 as usize]
            .prechat
            .iter()
            .map(|f| f.name().to_string())
            .collect(),
    });
    let mut alive = conn.send(&welcome).await;
    if let Some(reason) = recognized.identity_refused {
        alive &= conn
            .send(&WidgetOut::Error(error(
                None,
                ErrorCode::Unauthorized,
                reason,
            )))
            .await;
    }
    if let Some((text, version, _)) = ask_consent.cloned() {
        alive &= conn
            .send(&WidgetOut::ConsentRequest(widget::ConsentRequest {
                text,
                version,
            }))
            .await;
    }
    // The session was attached before the shard answered, so a message committed in between is
    // both in the replay and on the queue: the queue's copy up to the replay's last seq is dropped
    let replayed = missed.last().map(|m| (m.dialog_id, m.seq));
    for message in missed {
        alive &= conn.send(&WidgetOut::Message(message)).await;
    }
    Welcomed {
        me,
        replayed,
        alive,
    }
}

/// Recognizes the client against the contact registry under the line's `[lines.crm]` (nothing
/// without a registry). A registry failure is logged and the chat goes on unlinked: the chat
/// never waits on the CRM.
async fn recognize(
    gw: &Arc<Gateway>,
    line: LineIdx,
    client: &str,
    hello: &widget::Hello,
) -> Recognized {
    let Some(registry) = gw.contacts.get() else {
        return Recognized::default();
    };
    let directory = gw.hub.directory();
    let info = &directory.lines[line.0 as usize];
    let claim = Claim {
        line: &info.id,
        client_id: client,
        name: hello.name.as_deref(),
        email: hello.email.as_deref(),
        phone: hello.phone.as_deref(),
        identity: hello.identity.as_deref(),
    };
    match registry.recognize(&claim, &info.crm).await {
        Ok(found) => found,
        Err(e) => {
            eprintln!("switchboard: recognizing client {client} failed: {e}");
            Recognized::default()
        }
    }
}
