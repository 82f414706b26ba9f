//! An operator's handshake: `hello` with a token within `auth_timeout`, then the welcome (the
//! operator's open dialogs, asked of every shard) and the events missed since `last_seq`; the
//! operator goes online only after the welcome, so offers it causes arrive after it.
//! Must never: let an unknown token through, or lose an event between attach and welcome.

use crate::delivery::SessionTx;
use crate::hub::login_guard::LoginRefused;
use crate::protocol::{operator, ErrorCode, OperatorIn, OperatorOut, PresenceState, Sequenced};
use crate::routing::{OpIdx, Presence};
use crate::session::conn::{close, error, Conn, Incoming};
use crate::session::Gateway;
use crate::shard::ShardRequest;

/// Why a handshake ended the connection: close with this code and reason, or (`None`) the peer
/// is gone already.
pub(super) type Refused = Option<(u16, &'static str)>;

fn unauthorized(req: Option<u64>) -> Sequenced<OperatorOut> {
    Sequenced {
        seq: 0,
        frame: OperatorOut::Error(error(req, ErrorCode::Unauthorized, "unknown token")),
    }
}

/// Reads `hello` and authenticates its token: the operator and the `last_seq` it resumes from.
/// `peer` is the connection's source address: one that presented too many wrong tokens lately
/// is refused without its token being looked at.
pub(super) async fn admit(
    conn: &mut Conn,
    gw: &Gateway,
    peer: Option<std::net::IpAddr>,
) -> Result<(OpIdx, Option<u64>), Refused> {
    let hub = &gw.hub;
    let auth_timeout = std::time::Duration::from_millis(hub.limits.auth_timeout.as_ms());
    let hello = match tokio::time::timeout(auth_timeout, conn.recv::<OperatorIn>(true)).await {
        Err(_) => return Err(Some((close::POLICY, "no hello in time"))),
        Ok(Incoming::Frame(OperatorIn::Hello(hello))) => hello,
        Ok(Incoming::Frame(other)) => {
            conn.send(&unauthorized(other.req())).await;
            return Err(Some((close::POLICY, "hello first")));
        }
        Ok(Incoming::Bad(e)) => {
            conn.send(&Sequenced {
                seq: 0,
                frame: OperatorOut::Error(e),
            })
            .await;
            return Err(Some((close::POLICY, "hello first")));
        }
        Ok(Incoming::Close(code, reason)) => return Err(Some((code, reason))),
        Ok(Incoming::Gone | Incoming::Nothing) => return Err(None),
    };
    let token = &hello.token;
    let checked = hub.logins.attempt(
        peer,
        hub.clock.now_ms(),
        || hub.directory().authenticate(token).ok_or(()),
        |_| true,
    );
    match checked {
        Ok(op) => Ok((op, hello.last_seq)),
        Err(LoginRefused::Blocked) => {
            let refused = error(
                hello.req,
                ErrorCode::RateLimited,
                "too many wrong tokens from this address: wait a minute before trying again",
            );
            conn.send(&Sequenced {
                seq: 0,
                frame: OperatorOut::Error(refused),
            })
            .await;
            Err(Some((close::POLICY, "too many wrong tokens")))
        }
        Err(LoginRefused::Refused(())) => {
            conn.send(&unauthorized(hello.req)).await;
            Err(Some((close::POLICY, "unauthorized")))
        }
    }
}

/// Attaches the session to the operator's feed, sends the welcome and the missed events, then
/// sets the operator online; whether the socket is still alive.
pub(super) async fn welcome(
    conn: &mut Conn,
    gw: &Gateway,
    op: OpIdx,
    tx: SessionTx,
    last_seq: Option<u64>,
) -> bool {
    let hub = &gw.hub;
    // Attach first so no event is lost; queued events are written only after the welcome.
    let (missed, seq) = hub.feeds.attach(op, tx, last_seq);
    let info = &hub.directory().operators[op.0 as usize];
    let mut dialogs = Vec::new();
    for shard in 0..hub.shards() {
        if let Some(list) = hub
            .ask(shard, |reply| ShardRequest::OperatorDialogs { op, reply })
            .await
        {
            dialogs.extend(list);
        }
    }
    let welcome = OperatorOut::Welcome(operator::Welcome {
        operator_id: info.id.to_string(),
        name: info.name.to_string(),
        status: PresenceState::Online,
        dialogs,
    });
    let mut alive = conn
        .send(&Sequenced {
            seq,
            frame: welcome,
        })
        .await;
    for event in missed.unwrap_or_default() {
        alive &= conn.send(&*event).await;
    }
    // Online only now: offers this causes arrive after the welcome.
    info.cell.set_presence(Presence::Online);
    hub.operator_changed(op);
    alive
}
