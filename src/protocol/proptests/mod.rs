//! Property tests: arbitrary bytes never panic the decoder (each call yields a frame or a
//! `DecodeError`), mutated valid frames never panic it, and every generated frame of all four
//! kinds survives encode → decode in both encodings (the operator's frame strategies are in
//! `operator`). Each test prints its seed; replay one with `PROPTEST_RNG_SEED=<seed>`.

use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::RngSeed;

use super::common::*;
use super::operator::{self as op, OperatorIn, OperatorOut};
use super::widget::{self as w, WidgetIn, WidgetOut};
use super::{decode, encode, json, msgpack, Encoding, Frame, Sequenced};

mod operator;
use operator::{operator_in, operator_out};

fn config() -> ProptestConfig {
    let seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or_else(|| {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            now.map_or(0, |d| d.as_nanos() as u64)
        });
    eprintln!("proptest seed {seed} (replay with PROPTEST_RNG_SEED={seed})");
    ProptestConfig {
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Decodes `bytes` as every frame kind in both encodings (only a panic can fail that), and
/// checks that the one-pass fast path agrees with the two-pass reference.
fn decode_all(bytes: &[u8]) -> Result<(), TestCaseError> {
    for encoding in [Encoding::Json, Encoding::MsgPack] {
        let _ = decode::<WidgetOut>(bytes, encoding, usize::MAX);
        let _ = decode::<Sequenced<OperatorOut>>(bytes, encoding, usize::MAX);
    }
    agrees::<WidgetIn>(bytes)?;
    agrees::<OperatorIn>(bytes)
}

fn agrees<F: Frame + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> Result<(), TestCaseError> {
    let json = decode::<F>(bytes, Encoding::Json, usize::MAX);
    prop_assert_eq!(json, json::decode_two_pass::<F>(bytes));
    let msgpack = decode::<F>(bytes, Encoding::MsgPack, usize::MAX);
    prop_assert_eq!(msgpack, msgpack::decode_two_pass::<F>(bytes));
    Ok(())
}

fn round_trips<F: Frame + PartialEq + std::fmt::Debug>(frame: &F) -> Result<(), TestCaseError> {
    for encoding in [Encoding::Json, Encoding::MsgPack] {
        let bytes = encode(frame, encoding).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = decode::<F>(&bytes, encoding, usize::MAX);
        prop_assert_eq!(back.as_ref(), Ok(frame), "{:?}", encoding);
        let reference = match encoding {
            Encoding::Json => json::decode_two_pass::<F>(&bytes),
            Encoding::MsgPack => msgpack::decode_two_pass::<F>(&bytes),
        };
        prop_assert_eq!(reference.as_ref(), Ok(frame), "{:?} two-pass", encoding);
    }
    Ok(())
}

fn s() -> impl Strategy<Value = String> {
    any::<String>()
}
fn os() -> impl Strategy<Value = Option<String>> {
    of(s())
}
fn ou() -> impl Strategy<Value = Option<u64>> {
    of(any::<u64>())
}

fn author() -> impl Strategy<Value = Author> {
    select(vec![
        Author::Client,
        Author::Operator,
        Author::Bot,
        Author::System,
    ])
}
fn score() -> impl Strategy<Value = Score> {
    select(vec![Score::Like, Score::Dislike])
}
fn presence() -> impl Strategy<Value = PresenceState> {
    select(vec![
        PresenceState::Online,
        PresenceState::Away,
        PresenceState::Offline,
    ])
}
fn close_reason() -> impl Strategy<Value = CloseReason> {
    use CloseReason::*;
    select(vec![
        Operator,
        Client,
        Bot,
        ClientIdle,
        OperatorSilence,
        LineDeleted,
        Admin,
    ])
}
fn dialog_closed() -> impl Strategy<Value = DialogClosed> {
    (any::<u64>(), close_reason())
        .prop_map(|(dialog_id, reason)| DialogClosed { dialog_id, reason })
}
fn error_frame() -> impl Strategy<Value = ErrorFrame> {
    (ou(), select(super::ErrorCode::ALL.to_vec()), s()).prop_map(|(req, code, message)| {
        ErrorFrame {
            req,
            code,
            message: message.into(),
        }
    })
}

fn message_view() -> impl Strategy<Value = MessageView> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        author(),
        os(),
        s(),
        any::<i64>(),
    )
        .prop_map(
            |(dialog_id, seq, msg_id, author, name, text, ts)| MessageView {
                dialog_id,
                seq,
                msg_id,
                author,
                name,
                text,
                ts,
            },
        )
}
fn operator_view() -> impl Strategy<Value = OperatorView> {
    (s(), os(), os()).prop_map(|(name, title, avatar)| OperatorView {
        name,
        title,
        avatar,
    })
}
fn client_info() -> impl Strategy<Value = ClientInfo> {
    (s(), os(), os(), os(), ou()).prop_map(|(client_id, name, email, phone, contact_id)| {
        ClientInfo {
            client_id,
            name,
            email,
            phone,
            contact_id,
            ..ClientInfo::default()
        }
    })
}
fn dialog_summary() -> impl Strategy<Value = DialogSummary> {
    use DialogState::*;
    let state = select(vec![Bot, Queued, Offered, Active, Closing, Closed]);
    (
        any::<u64>(),
        s(),
        state,
        client_info(),
        any::<u64>(),
        of(any::<i64>()),
    )
        .prop_map(
            |(dialog_id, line, state, client, last_seq, deadline_ts)| DialogSummary {
                dialog_id,
                line,
                state,
                client,
                last_seq,
                deadline_ts,
            },
        )
}

fn widget_in() -> impl Strategy<Value = WidgetIn> {
    let hello = (ou(), s(), os(), os(), os(), os(), os(), os(), ou()).prop_map(
        |(req, line, client_id, resume_token, name, email, phone, lang, last_seq)| w::Hello {
            req,
            line,
            client_id,
            resume_token,
            name,
            email,
            phone,
            lang,
            last_seq,
            identity: None,
        },
    );
    prop_oneof![
        hello.prop_map(WidgetIn::Hello),
        (ou(), s(), s()).prop_map(
            |(req, client_msg_id, text)| WidgetIn::Message(w::SendMessage {
                req,
                client_msg_id,
                text
            })
        ),
        (ou(), s()).prop_map(|(req, text)| WidgetIn::Typing(w::Typing { req, text })),
        (ou(), any::<bool>(), of(any::<u32>())).prop_map(|(req, accepted, version)| {
            WidgetIn::Consent(w::Consent {
                req,
                accepted,
                version,
            })
        }),
        (ou(), any::<u64>(), score(), os()).prop_map(|(req, dialog_id, score, comment)| {
            WidgetIn::Rate(w::Rate {
                req,
                dialog_id,
                score,
                comment,
            })
        }),
        ou().prop_map(|req| WidgetIn::Close(w::Close { req })),
    ]
}

fn widget_out() -> impl Strategy<Value = WidgetOut> {
    let welcome = (s(), s(), s(), ou(), of(operator_view()), any::<bool>()).prop_map(
        |(client_id, resume_token, line_name, dialog_id, operator, working_hours_open)| {
            w::Welcome {
                client_id,
                resume_token,
                line_name,
                dialog_id,
                operator,
                working_hours_open,
                prechat: Vec::new(),
            }
        },
    );
    let ack = (ou(), ou(), ou(), ou()).prop_map(|(req, dialog_id, msg_id, seq)| Ack {
        req,
        dialog_id,
        msg_id,
        seq,
    });
    prop_oneof![
        welcome.prop_map(WidgetOut::Welcome),
        message_view().prop_map(WidgetOut::Message),
        any::<u64>()
            .prop_map(|dialog_id| WidgetOut::OperatorTyping(w::OperatorTyping { dialog_id })),
        (any::<u64>(), of(operator_view())).prop_map(|(dialog_id, operator)| {
            WidgetOut::OperatorJoined(w::OperatorJoined {
                dialog_id,
                operator,
            })
        }),
        (s(), any::<u32>()).prop_map(|(text, version)| WidgetOut::ConsentRequest(
            w::ConsentRequest { text, version }
        )),
        any::<u64>().prop_map(|dialog_id| WidgetOut::RatingRequest(w::RatingRequest { dialog_id })),
        dialog_closed().prop_map(WidgetOut::DialogClosed),
        ack.prop_map(WidgetOut::Ack),
        error_frame().prop_map(WidgetOut::Error),
    ]
}

/// Any frame of any kind, encoded, maybe with one byte replaced, maybe truncated.
fn mutated_frame() -> impl Strategy<Value = Vec<u8>> {
    let encoded = prop_oneof![
        widget_in().prop_map(|f| (encode(&f, Encoding::Json), encode(&f, Encoding::MsgPack))),
        operator_in().prop_map(|f| (encode(&f, Encoding::Json), encode(&f, Encoding::MsgPack))),
        operator_out().prop_map(|f| (encode(&f, Encoding::Json), encode(&f, Encoding::MsgPack))),
    ];
    (
        encoded,
        any::<bool>(),
        of(any::<prop::sample::Index>()),
        any::<u8>(),
        of(any::<prop::sample::Index>()),
    )
        .prop_map(|((json, msgpack), use_json, at, byte, cut)| {
            let mut bytes = if use_json { json } else { msgpack }.unwrap_or_default();
            if let (Some(at), false) = (at, bytes.is_empty()) {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            if let (Some(cut), false) = (cut, bytes.is_empty()) {
                bytes.truncate(cut.index(bytes.len()));
            }
            bytes
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512)) {
        decode_all(&bytes)?;
    }

    #[test]
    fn arbitrary_msgpack_maps_never_panic(
        marker in prop_oneof![0x80..=0x8fu8, Just(0xde), Just(0xdf)],
        rest in vec(any::<u8>(), 0..512),
    ) {
        let mut bytes = vec![marker];
        bytes.extend(rest);
        decode_all(&bytes)?;
    }

    #[test]
    fn mutated_frames_never_panic(bytes in mutated_frame()) {
        decode_all(&bytes)?;
    }

    #[test]
    fn widget_in_round_trips(frame in widget_in()) {
        round_trips(&frame)?;
    }

    #[test]
    fn widget_out_round_trips(frame in widget_out()) {
        round_trips(&frame)?;
    }

    #[test]
    fn operator_in_round_trips(frame in operator_in()) {
        round_trips(&frame)?;
    }

    #[test]
    fn operator_out_round_trips(frame in operator_out()) {
        round_trips(&frame)?;
    }
}
