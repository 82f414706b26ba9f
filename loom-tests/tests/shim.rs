//! Runs without `--cfg switchboard_loom`: the included primitives build against the loom `sync`
//! shim and behave single-threaded inside one `loom::model` execution.

use loom_tests::mailbox::{Mailbox, Park};
use loom_tests::reserve::{Need, OperatorCell, Presence};

#[test]
fn primitives_run_on_the_shim() {
    loom::model(|| {
        let cell = OperatorCell::new(1);
        assert!(cell.reserve(Need::Online).is_err());
        cell.set_presence(Presence::Online);
        assert_eq!(cell.reserve(Need::Online).unwrap().load, 1);
        assert_eq!(cell.release().load, 1);

        let mailbox = Mailbox::new();
        assert!(mailbox.push(1));
        assert!(!mailbox.push(2));
        let mut out = Vec::new();
        assert_eq!(mailbox.drain_into(&mut out, 8), 2);
        assert_eq!(mailbox.try_park(), Park::Sleep);
        assert_eq!(out, vec![1, 2]);
    });
}
