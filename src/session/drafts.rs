//! A widget session's typing drafts, coalesced before they reach the shard.
//!
//! The operator sees at most one preview per dialog per [`TYPING_PREVIEW_INTERVAL_MS`], the
//! latest draft winning (the shard enforces that). Drafts are exempt from the per-connection
//! rate limit, so a widget may send far more than that, and each one posted to the shard is a
//! pass of the one task that serves every dialog of its lines. So the session forwards a draft
//! at once when the last one it forwarded is at least that old, and otherwise keeps only the
//! newest until then: a widget flooding drafts costs its own session, not its shard. A kept
//! draft is dropped when the client sends its message (it is stale then).
//!
//! Time is passed in, so the rules are tested without a clock.
//!
//! [`TYPING_PREVIEW_INTERVAL_MS`]: crate::config::bounds::TYPING_PREVIEW_INTERVAL_MS

use crate::config::bounds::TYPING_PREVIEW_INTERVAL_MS;
use crate::routing::DialogId;
use std::time::Duration;
use tokio::time::Instant;

/// At most one draft per this goes to the shard.
const INTERVAL: Duration = Duration::from_millis(TYPING_PREVIEW_INTERVAL_MS);

/// The drafts of one widget session (kept small: every idle connection has one).
#[derive(Debug, Default)]
pub struct Drafts {
    last_forwarded: Option<Instant>,
    kept: Option<Box<(DialogId, String)>>,
}

impl Drafts {
    /// A draft typed at `now` in `dialog`: returned if it goes to the shard now, else kept in
    /// place of any kept before it.
    pub fn typed(
        &mut self,
        now: Instant,
        dialog: DialogId,
        text: String,
    ) -> Option<(DialogId, String)> {
        match self.last_forwarded {
            Some(at) if now < at + INTERVAL => {
                self.kept = Some(Box::new((dialog, text)));
                None
            }
            _ => {
                self.last_forwarded = Some(now);
                self.kept = None;
                Some((dialog, text))
            }
        }
    }

    /// When the kept draft is due, if one is kept.
    pub fn due(&self) -> Option<Instant> {
        self.kept.as_ref()?;
        self.last_forwarded.map(|at| at + INTERVAL)
    }

    /// The kept draft, if it is due at `now` (it then counts as forwarded at `now`).
    pub fn take_due(&mut self, now: Instant) -> Option<(DialogId, String)> {
        if self.due()? > now {
            return None;
        }
        self.last_forwarded = Some(now);
        self.kept.take().map(|kept| *kept)
    }

    /// Drops the kept draft: the client sent a message, which supersedes it.
    pub fn discard(&mut self) {
        self.kept = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: DialogId = DialogId(7);

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_first_draft_goes_at_once_and_later_ones_wait_for_the_interval_latest_winning() {
        let t0 = Instant::now();
        let mut drafts = Drafts::default();
        assert_eq!(drafts.due(), None);
        assert_eq!(drafts.typed(t0, D, "h".into()), Some((D, "h".into())));
        assert_eq!(drafts.due(), None, "nothing kept");

        assert_eq!(drafts.typed(t0 + ms(10), D, "he".into()), None);
        assert_eq!(drafts.typed(t0 + ms(40), D, "hel".into()), None);
        assert_eq!(drafts.due(), Some(t0 + INTERVAL));
        assert_eq!(drafts.take_due(t0 + ms(99)), None, "not due yet");
        assert_eq!(drafts.take_due(t0 + ms(100)), Some((D, "hel".into())));
        assert_eq!(drafts.due(), None);
        assert_eq!(drafts.take_due(t0 + ms(500)), None, "taken once");

        // The interval runs from the kept draft's forwarding
        assert_eq!(drafts.typed(t0 + ms(150), D, "hell".into()), None);
        assert_eq!(drafts.due(), Some(t0 + ms(200)));
    }

    #[test]
    fn a_draft_after_a_quiet_interval_goes_at_once() {
        let t0 = Instant::now();
        let mut drafts = Drafts::default();
        drafts.typed(t0, D, "a".into());
        assert_eq!(
            drafts.typed(t0 + ms(100), D, "ab".into()),
            Some((D, "ab".into()))
        );
        assert_eq!(
            drafts.typed(t0 + ms(350), D, "abc".into()),
            Some((D, "abc".into()))
        );
    }

    #[test]
    fn a_message_discards_the_kept_draft_and_a_new_dialogs_draft_replaces_the_old_one() {
        let t0 = Instant::now();
        let mut drafts = Drafts::default();
        drafts.typed(t0, D, "hi".into());
        drafts.typed(t0 + ms(20), D, "hi there".into());
        drafts.discard();
        assert_eq!(drafts.due(), None);
        assert_eq!(drafts.take_due(t0 + ms(200)), None);

        let other = DialogId(8);
        drafts.typed(t0 + ms(210), D, "x".into());
        drafts.typed(t0 + ms(220), other, "y".into());
        assert_eq!(drafts.take_due(t0 + ms(310)), Some((other, "y".into())));
    }
}
