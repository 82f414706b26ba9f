//! Strategies for the operator's frames: every request, every event and every reply, with
//! arbitrary field values.

use super::*;

pub(super) fn operator_in() -> impl Strategy<Value = OperatorIn> {
    let dialog =
        || (ou(), any::<u64>()).prop_map(|(req, dialog_id)| op::DialogRequest { req, dialog_id });
    let workday = select(vec![
        WorkdayAction::Start,
        WorkdayAction::Pause,
        WorkdayAction::End,
    ]);
    let supervisor = (1..=5u8).prop_filter_map("1..5", SupervisorScore::new);
    prop_oneof![
        (ou(), s(), ou()).prop_map(|(req, token, last_seq)| OperatorIn::Hello(op::Hello {
            req,
            token,
            last_seq
        })),
        (ou(), presence())
            .prop_map(|(req, state)| OperatorIn::Status(op::SetStatus { req, state })),
        (ou(), workday).prop_map(|(req, action)| OperatorIn::Workday(op::Workday { req, action })),
        dialog().prop_map(OperatorIn::Accept),
        dialog().prop_map(OperatorIn::Decline),
        (ou(), any::<u64>(), s(), s()).prop_map(|(req, dialog_id, client_msg_id, text)| {
            OperatorIn::Message(op::SendMessage {
                req,
                dialog_id,
                client_msg_id,
                text,
            })
        }),
        dialog().prop_map(OperatorIn::Typing),
        dialog().prop_map(OperatorIn::Close),
        (ou(), any::<u64>(), os(), os()).prop_map(|(req, dialog_id, to_operator, to_line)| {
            OperatorIn::Transfer(op::Transfer {
                req,
                dialog_id,
                to_operator,
                to_line,
            })
        }),
        (ou(), any::<u64>(), supervisor).prop_map(|(req, dialog_id, score)| {
            OperatorIn::SupervisorRate(op::SupervisorRate {
                req,
                dialog_id,
                score,
            })
        }),
        (ou(), any::<u64>(), ou(), of(any::<u32>())).prop_map(
            |(req, dialog_id, before_seq, limit)| OperatorIn::History(op::HistoryRequest {
                req,
                dialog_id,
                before_seq,
                limit,
            })
        ),
        ou().prop_map(|req| OperatorIn::QuickAnswers(op::QuickAnswersRequest { req })),
        (ou(), s())
            .prop_map(|(req, text)| OperatorIn::SaveQuickAnswer(op::SaveQuickAnswer { req, text })),
    ]
}

pub(super) fn operator_out() -> impl Strategy<Value = Sequenced<OperatorOut>> {
    (
        any::<u64>(),
        prop_oneof![operator_events(), operator_replies()],
    )
        .prop_map(|(seq, frame)| Sequenced { seq, frame })
}

fn operator_events() -> impl Strategy<Value = OperatorOut> {
    let mode = select(vec![
        OfferMode::Even,
        OfferMode::Balanced,
        OfferMode::Strict,
        OfferMode::All,
    ]);
    let revoke = {
        use RevokeReason::*;
        select(vec![Taken, Timeout, Declined, Closed, Transferred])
    };
    let kind = select(vec![KpiKind::FirstResponse, KpiKind::Response]);
    let offered = (
        any::<u64>(),
        s(),
        client_info(),
        vec(message_view(), 0..3),
        any::<i64>(),
        mode,
    )
        .prop_map(
            |(dialog_id, line, client, last_messages, deadline_ts, mode)| op::DialogOffered {
                dialog_id,
                line,
                client,
                last_messages,
                deadline_ts,
                mode,
            },
        );
    let message = (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        author(),
        os(),
        s(),
        any::<i64>(),
    )
        .prop_map(|(dialog_id, dialog_seq, msg_id, author, name, text, ts)| {
            op::OperatorMessage {
                dialog_id,
                dialog_seq,
                msg_id,
                author,
                name,
                text,
                ts,
            }
        });
    prop_oneof![
        offered.prop_map(OperatorOut::DialogOffered),
        (any::<u64>(), revoke).prop_map(|(dialog_id, reason)| OperatorOut::DialogRevoked(
            op::DialogRevoked { dialog_id, reason }
        )),
        (any::<u64>(), s()).prop_map(|(dialog_id, line)| OperatorOut::DialogAssigned(
            op::DialogAssigned { dialog_id, line }
        )),
        message.prop_map(OperatorOut::Message),
        (any::<u64>(), s()).prop_map(|(dialog_id, text)| OperatorOut::TypingPreview(
            op::TypingPreview { dialog_id, text }
        )),
        dialog_closed().prop_map(OperatorOut::DialogClosed),
        (any::<u64>(), score(), os()).prop_map(|(dialog_id, score, comment)| {
            OperatorOut::Rating(op::Rating {
                dialog_id,
                score,
                comment,
            })
        }),
        (any::<u64>(), s(), kind, s()).prop_map(|(dialog_id, operator_id, kind, text)| {
            OperatorOut::KpiAlert(op::KpiAlert {
                dialog_id,
                operator_id,
                kind,
                text,
            })
        }),
        (presence(), os())
            .prop_map(|(state, reason)| OperatorOut::Status(op::StatusChanged { state, reason })),
    ]
}

fn operator_replies() -> impl Strategy<Value = OperatorOut> {
    let welcome = (s(), s(), presence(), vec(dialog_summary(), 0..3)).prop_map(
        |(operator_id, name, status, dialogs)| op::Welcome {
            operator_id,
            name,
            status,
            dialogs,
        },
    );
    let quick = (s(), s()).prop_map(|(id, text)| QuickAnswer { id, text });
    let ack = (ou(), ou(), ou(), ou()).prop_map(|(req, dialog_id, msg_id, dialog_seq)| op::Ack {
        req,
        dialog_id,
        msg_id,
        dialog_seq,
    });
    prop_oneof![
        welcome.prop_map(OperatorOut::Welcome),
        (ou(), any::<u64>(), vec(message_view(), 0..3)).prop_map(|(req, dialog_id, messages)| {
            OperatorOut::History(op::HistoryPage {
                req,
                dialog_id,
                messages,
            })
        }),
        (ou(), vec(quick, 0..3))
            .prop_map(|(req, items)| OperatorOut::QuickAnswers(op::QuickAnswerList { req, items })),
        ack.prop_map(OperatorOut::Ack),
        error_frame().prop_map(OperatorOut::Error),
    ]
}
