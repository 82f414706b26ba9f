//! Codec micro-benchmarks: decoding a typical client `message` frame and encoding a typical
//! server `message` frame, in JSON and MessagePack, plus an operator-side `message` both ways.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use switchboard::protocol::operator::OperatorMessage;
use switchboard::protocol::widget::SendMessage;
use switchboard::protocol::{
    decode, encode_into, Author, Encoding, MessageView, OperatorIn, OperatorOut, Sequenced,
    WidgetIn, WidgetOut,
};

const FRAME_BYTES_MAX: usize = 65_536;
const TEXT: &str = "Hello! I ordered a blue kettle last week and it still has not arrived.";

fn client_message() -> WidgetIn {
    WidgetIn::Message(SendMessage {
        req: Some(17),
        client_msg_id: "5f0c9b2e-7a41-4d7e-9c1a-2b8f6d3e4a10".into(),
        text: TEXT.into(),
    })
}

fn server_message() -> WidgetOut {
    WidgetOut::Message(MessageView {
        dialog_id: 123_456,
        seq: 42,
        msg_id: 9_876_543,
        author: Author::Operator,
        name: Some("Anna".into()),
        text: TEXT.into(),
        ts: 1_760_000_000_000,
    })
}

fn operator_message() -> Sequenced<OperatorOut> {
    Sequenced {
        seq: 1_234,
        frame: OperatorOut::Message(OperatorMessage {
            dialog_id: 123_456,
            dialog_seq: 42,
            msg_id: 9_876_543,
            author: Author::Client,
            name: None,
            text: TEXT.into(),
            ts: 1_760_000_000_000,
        }),
    }
}

fn encoded<F: switchboard::protocol::Frame>(frame: &F, encoding: Encoding) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(frame, encoding, &mut out).expect("encodes");
    out
}

fn bench_decode(c: &mut Criterion) {
    for (name, encoding) in [("json", Encoding::Json), ("msgpack", Encoding::MsgPack)] {
        let bytes = encoded(&client_message(), encoding);
        c.bench_function(&format!("codec/decode_message_{name}"), |b| {
            b.iter(|| decode::<WidgetIn>(black_box(&bytes), encoding, FRAME_BYTES_MAX))
        });
        let bytes = encoded(&operator_message(), encoding);
        c.bench_function(&format!("codec/decode_operator_message_{name}"), |b| {
            b.iter(|| {
                decode::<Sequenced<OperatorOut>>(black_box(&bytes), encoding, FRAME_BYTES_MAX)
            })
        });
    }
    let bytes = encoded(&client_message(), Encoding::Json);
    c.bench_function("codec/decode_bad_frame_json", |b| {
        b.iter(|| decode::<OperatorIn>(black_box(&bytes), Encoding::Json, FRAME_BYTES_MAX))
    });
}

fn bench_encode(c: &mut Criterion) {
    for (name, encoding) in [("json", Encoding::Json), ("msgpack", Encoding::MsgPack)] {
        let frame = server_message();
        let mut out = Vec::with_capacity(512);
        c.bench_function(&format!("codec/encode_message_{name}"), |b| {
            b.iter(|| {
                out.clear();
                encode_into(black_box(&frame), encoding, &mut out)
            })
        });
        let frame = operator_message();
        c.bench_function(&format!("codec/encode_operator_message_{name}"), |b| {
            b.iter(|| {
                out.clear();
                encode_into(black_box(&frame), encoding, &mut out)
            })
        });
    }
}

criterion_group!(benches, bench_decode, bench_encode);
criterion_main!(benches);
