//! The transcript's memory bound: only the newest messages stay once older ones are durable,
//! without a gap in numbering, with every dropped key still recognised (by fingerprint) and
//! every message id still counted for numbering.

use crate::protocol::Author;
use crate::routing::transcript::{msg_seq_high, Draft, KEPT_MESSAGES};
use crate::routing::{OpIdx, Side, Transcript};
use std::sync::Arc;

fn draft(n: u64, side: Side) -> Draft {
    Draft {
        author: Author::Client,
        name: None,
        text: Arc::from(format!("message {n}")),
        ts: n as i64,
        key: Some((side, format!("k{n}"))),
    }
}

/// A transcript of `count` messages numbered by shard 3 (msg id `n << 8 | 3`).
fn written(count: u64) -> Transcript {
    let mut t = Transcript::default();
    for n in 1..=count {
        assert_eq!(t.append(n << 8 | 3, draft(n, Side::Client)), n);
    }
    t
}

#[test]
fn nothing_leaves_memory_before_it_is_durable() {
    let mut t = written(500);
    t.forget_through(0);
    assert_eq!(t.kept().len(), 500);
    assert_eq!(t.forgotten(), 0);
}

#[test]
fn durable_messages_leave_memory_except_the_newest() {
    let mut t = written(1_000);
    t.forget_through(1_000);
    assert_eq!(t.forgotten(), 1_000 - KEPT_MESSAGES as u64);
    assert_eq!(t.kept().len(), KEPT_MESSAGES);
    assert_eq!(t.kept()[0].seq, t.forgotten() + 1);
    assert_eq!((t.len(), t.last_seq()), (1_000, 1_000));
    // Numbering goes on after the newest, wherever it is kept
    assert_eq!(t.append(1_001 << 8 | 3, draft(1_001, Side::Client)), 1_001);
}

#[test]
fn only_durable_messages_leave_memory() {
    let mut t = written(200);
    t.forget_through(100);
    assert_eq!(t.forgotten(), 100);
    assert_eq!(t.kept().first().map(|m| m.seq), Some(101));
    assert_eq!(t.since(150).len(), 50);
    assert_eq!(t.page(Some(110), 20).first().map(|m| m.seq), Some(101));
}

#[test]
fn a_short_dialog_keeps_everything() {
    let mut t = written(2 * KEPT_MESSAGES as u64 - 1);
    t.forget_through(u64::MAX);
    assert_eq!(t.forgotten(), 0);
}

#[test]
fn dropped_keys_are_recognised_and_kept_keys_answered() {
    let mut t = Transcript::default();
    for n in 1..=300 {
        let side = if n % 2 == 0 {
            Side::Operator(OpIdx(7))
        } else {
            Side::Client
        };
        t.append(n << 8, draft(n, side));
    }
    t.forget_through(300);
    // Dropped: only a fingerprint is left, with the side it was sent from
    assert_eq!(t.seen(Side::Client, "k1"), None);
    assert!(t.may_have_forgotten(Side::Client, "k1"));
    assert!(t.may_have_forgotten(Side::Operator(OpIdx(7)), "k2"));
    // Kept: answered exactly
    assert_eq!(t.seen(Side::Client, "k299"), Some((299 << 8, 299)));
    assert!(!t.may_have_forgotten(Side::Client, "k299"));
    // A key never used is (almost always) known new without reading the store
    let false_hits = (0..10_000)
        .filter(|n| t.may_have_forgotten(Side::Client, &format!("new-{n}")))
        .count();
    assert!(false_hits <= 2, "{false_hits} false fingerprint hits");
}

#[test]
fn dropped_message_ids_still_count_for_numbering() {
    let mut t = Transcript::default();
    // Shard 1 numbered the first 150 (the dialog moved), shard 2 the rest
    for n in 1..=150 {
        t.append(n << 8 | 1, draft(n, Side::Client));
    }
    for n in 151..=300 {
        t.append(n << 8 | 2, draft(n, Side::Client));
    }
    t.forget_through(300);
    assert!(t.kept().iter().all(|m| m.msg_id & 0xFF == 2));
    assert_eq!(msg_seq_high(t.msg_ids(), 1), 150);
    assert_eq!(msg_seq_high(t.msg_ids(), 2), 300);
}

#[test]
fn restoring_from_the_store_keeps_only_the_newest() {
    let source = written(1_000);
    let mut restored = Transcript::default();
    // Restore reads every stored message in seq order; memory never holds more than twice the
    // kept count
    let mut most = 0;
    for n in 1..=1_000 {
        let mut m = source
            .get(n)
            .cloned()
            .expect("all in memory before forgetting");
        m.key = Some((Side::Client, format!("k{n}")));
        restored.restore(m);
        most = most.max(restored.kept().len());
    }
    assert!(most < 2 * KEPT_MESSAGES, "{most} kept while restoring");
    assert_eq!(restored.last_seq(), 1_000);
    assert!(restored.may_have_forgotten(Side::Client, "k5"));
    assert_eq!(
        restored.seen(Side::Client, "k1000"),
        Some((1_000 << 8 | 3, 1_000))
    );
}
