//! Messages of an open dialog as sessions ask for them (an operator's history page, a widget's
//! missed messages on resume): the newest come from the transcript in memory, older ones (which
//! left memory once durable) from the store, joined in `seq` order without a gap.

use super::requests::Refusal;
use super::ShardTask;
use crate::protocol::{ErrorCode, MessageView};
use crate::routing::{transcript, DialogId, Transcript};
use crate::store::records;

impl ShardTask {
    /// Up to `limit` messages of the open `dialog` older than `before` (the newest when `None`),
    /// oldest first.
    pub(super) fn open_page(
        &self,
        dialog: DialogId,
        transcript: &Transcript,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<MessageView>, Refusal> {
        let kept = transcript.page(before, limit);
        let missing = limit - kept.len();
        // A page short of `limit` reached the oldest message in memory, or lies before it
        let below = before.unwrap_or(u64::MAX).min(transcript.forgotten() + 1);
        let mut page = Vec::new();
        if missing > 0 && below > 1 {
            if let Some(store) = &self.hub.store {
                page = records::stored_page(store, dialog.0, Some(below), missing)
                    .map_err(|_| unreadable())?;
            }
        }
        page.extend(transcript::views(dialog, kept));
        Ok(page)
    }

    /// The messages of the open `dialog` after `after`, oldest first.
    pub(super) fn open_since(
        &self,
        dialog: DialogId,
        transcript: &Transcript,
        after: u64,
    ) -> Result<Vec<MessageView>, Refusal> {
        let mut missed = Vec::new();
        if after < transcript.forgotten() {
            if let Some(store) = &self.hub.store {
                let seqs = after + 1..transcript.forgotten() + 1;
                missed = records::stored_range(store, dialog.0, seqs).map_err(|_| unreadable())?;
            }
        }
        missed.extend(transcript::views(dialog, transcript.since(after)));
        Ok(missed)
    }
}

fn unreadable() -> Refusal {
    Refusal::new(
        ErrorCode::Internal,
        "the dialog's history could not be read",
    )
}
