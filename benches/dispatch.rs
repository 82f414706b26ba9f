//! Dispatch benches on a line of 200 operators:
//! - `dispatch/pick_200_ops_{mode}`: one routing decision (the strategy's scan and choice),
//!   with every operator online and a mix of loads, so the whole pool is examined;
//! - `dispatch/open_offer_close_200_ops`: a whole cycle through `Shard::handle` — a client
//!   message opens a dialog, it is offered (reservation by compare-and-swap, transfer timer
//!   armed, decision recorded), then the client closes it (release, timers cancelled).

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use switchboard::config::Config;
use switchboard::routing::decision::SkipLog;
use switchboard::routing::{strategy, Command, Dialog, DialogId, Presence, Router};

const OPERATORS: usize = 200;
const T0: u64 = 1_795_428_000_000;

fn config(mode: &str) -> Config {
    let mut text = String::new();
    let mut members = Vec::new();
    for i in 0..OPERATORS {
        text.push_str(&format!(
            "[[operators]]\nid = \"op{i}\"\nname = \"Operator {i}\"\ncapacity = 50\n"
        ));
        members.push(format!("\"op{i}\""));
    }
    text.push_str(&format!(
        "[[lines]]\nid = \"l\"\nname = \"L\"\n[lines.queue]\nmembers = [{}]\nmode = \"{mode}\"\nlimit = {{ max = 10 }}\n",
        members.join(", ")
    ));
    Config::from_toml_str(&text).expect("bench config")
}

fn router(mode: &str) -> Router {
    let mut router = Router::new(&config(mode), 1, T0);
    let mut out = Vec::new();
    for i in 0..OPERATORS {
        let op = router.operator(&format!("op{i}")).unwrap();
        router.set_presence(T0, op, Presence::Online, &mut out);
    }
    router
}

fn bench_pick(c: &mut Criterion) {
    for mode in ["even", "balanced", "strict"] {
        let mut router = router(mode);
        let mut out = Vec::new();
        // Give the line some history so the keys differ.
        let line = router.line("l").unwrap();
        for i in 0..300u32 {
            let _ = router.handle(
                T0,
                Command::ClientMessage {
                    line,
                    client: format!("warm{i}").into(),
                    dialog: None,
                    info: Default::default(),
                    key: "m".into(),
                    text: "hello".into(),
                    responsible: None,
                },
                &mut out,
            );
        }
        let shard = &router.shards()[0];
        let line_state = shard.line(line).unwrap();
        let probe = Dialog::new(DialogId(u64::MAX), line, "probe".into(), u64::MAX, T0);
        c.bench_function(&format!("dispatch/pick_200_ops_{mode}"), |b| {
            b.iter(|| {
                let mut log = SkipLog::new(16);
                black_box(strategy::pick(
                    line_state,
                    shard.operators(),
                    black_box(&probe),
                    T0,
                    &mut log,
                ))
            })
        });
    }
}

fn bench_cycle(c: &mut Criterion) {
    let mut router = router("even");
    let line = router.line("l").unwrap();
    let mut out = Vec::with_capacity(64);
    let client: switchboard::routing::ClientId = "client".into();
    c.bench_function("dispatch/open_offer_close_200_ops", |b| {
        b.iter(|| {
            out.clear();
            let reply = router.handle(
                T0,
                Command::ClientMessage {
                    line,
                    client: client.clone(),
                    dialog: None,
                    info: Default::default(),
                    key: "m".into(),
                    text: "hello".into(),
                    responsible: None,
                },
                &mut out,
            );
            let Ok(switchboard::routing::Reply::ClientMessage { dialog, .. }) = reply else {
                panic!("{reply:?}")
            };
            router
                .handle(
                    T0,
                    Command::ClientClose {
                        client: client.clone(),
                        dialog,
                    },
                    &mut out,
                )
                .unwrap();
            black_box(out.len())
        })
    });
}

criterion_group!(benches, bench_pick, bench_cycle);
criterion_main!(benches);
