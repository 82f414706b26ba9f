//! loom models of `OperatorCell` (`src/routing/reserve.rs`): shards racing over one operator.
//!
//! Invariants checked in every interleaving: `load <= capacity` as seen by each thread after its
//! operation; at most `capacity` reservations succeed; a reservation succeeds only if the word it
//! swapped showed the needed presence, so it is ordered before any later presence change. Each
//! model also asserts that both orders of its race were explored (see `common`).

mod common;

use common::explore;
use loom::sync::Arc;
use loom::thread;
use loom_tests::reserve::{Need, OperatorCell, OperatorState, Presence, Refused};

/// An online operator with `capacity` slots and `load` of them taken.
fn online(capacity: u32, load: u32) -> Arc<OperatorCell> {
    let cell = OperatorCell::new(capacity);
    cell.set_presence(Presence::Online);
    for _ in 0..load {
        cell.reserve(Need::Any).expect("setup reservation");
    }
    Arc::new(cell)
}

/// Runs `op` on `cell` in a new thread, checking the capacity invariant right after it.
fn on_shard<T: Send + 'static>(
    cell: &Arc<OperatorCell>,
    op: impl FnOnce(&OperatorCell) -> T + Send + 'static,
) -> thread::JoinHandle<T> {
    let cell = Arc::clone(cell);
    thread::spawn(move || {
        let result = op(&cell);
        assert_within_capacity(cell.state());
        result
    })
}

fn assert_within_capacity(s: OperatorState) {
    assert!(s.load <= s.capacity, "load above capacity: {s:?}");
}

/// Two shards race `reserve(Online)` for the last slot: exactly one wins, load ends at 1.
#[test]
#[cfg_attr(
    not(switchboard_loom),
    ignore = "loom model: needs --cfg switchboard_loom"
)]
fn racing_shards_take_the_last_slot_once() {
    let winners = explore(None, || {
        let cell = online(1, 0);
        let shards = [0, 1].map(|_| on_shard(&cell, |c| c.reserve(Need::Online)));
        let results = shards.map(|s| s.join().unwrap());

        let winner = match results {
            [Ok(won), Err(lost)] | [Err(lost), Ok(won)] => {
                assert_eq!(won.load, 1);
                assert_eq!(
                    lost,
                    Refused::AtCapacity {
                        load: 1,
                        capacity: 1
                    }
                );
                results.iter().position(Result::is_ok).unwrap()
            }
            _ => panic!("exactly one shard must win: {results:?}"),
        };
        assert_eq!(cell.state().load, 1);
        winner
    });
    assert_eq!(winners.into_iter().collect::<Vec<_>>(), [0, 1]);
}

/// A release races a reservation on a full operator: the reservation wins only the slot the
/// release freed, and the final load agrees with its result.
#[test]
#[cfg_attr(
    not(switchboard_loom),
    ignore = "loom model: needs --cfg switchboard_loom"
)]
fn reserve_racing_release_stays_consistent() {
    let reserved = explore(None, || {
        let cell = online(1, 1);
        let releaser = on_shard(&cell, |c| c.release());
        let reserver = on_shard(&cell, |c| c.reserve(Need::Online));
        let released_from = releaser.join().unwrap();
        let result = reserver.join().unwrap();

        assert_eq!(released_from.load, 1, "the release saw the setup slot");
        let final_load = cell.state().load;
        match result {
            Ok(s) => {
                assert_eq!(s.load, 1);
                assert_eq!(final_load, 1);
            }
            Err(refused) => {
                assert_eq!(
                    refused,
                    Refused::AtCapacity {
                        load: 1,
                        capacity: 1
                    }
                );
                assert_eq!(final_load, 0);
            }
        }
        result.is_ok()
    });
    assert_eq!(reserved.into_iter().collect::<Vec<_>>(), [false, true]);
}

/// The operator goes offline while a shard reserves: a won reservation saw `Online` at its CAS
/// and is ordered before the presence change; a refused one saw `Offline`.
#[test]
#[cfg_attr(
    not(switchboard_loom),
    ignore = "loom model: needs --cfg switchboard_loom"
)]
fn reserve_racing_offline_is_linearizable() {
    let reserved = explore(None, || {
        let cell = online(1, 0);
        let reserver = on_shard(&cell, |c| c.reserve(Need::Online));
        let presence = on_shard(&cell, |c| c.set_presence(Presence::Offline));
        let result = reserver.join().unwrap();
        let before_offline = presence.join().unwrap();

        let end = cell.state();
        assert_eq!(end.presence, Presence::Offline);
        match result {
            Ok(s) => {
                assert_eq!(s.presence, Presence::Online);
                assert_eq!(s.load, 1);
                // Going offline came after the reservation, so it saw the slot taken.
                assert_eq!(before_offline.load, 1);
                assert_eq!(end.load, 1);
            }
            Err(Refused::Unavailable(s)) => {
                assert_eq!(s.presence, Presence::Offline);
                assert_eq!(before_offline.load, 0);
                assert_eq!(end.load, 0);
            }
            Err(other) => panic!("refused for the wrong reason: {other:?}"),
        }
        result.is_ok()
    });
    assert_eq!(reserved.into_iter().collect::<Vec<_>>(), [false, true]);
}
