//! Message retention (`server.history_retention`): the messages of dialogs closed longer ago
//! than the retention are deleted from the store, in the background; each dialog's summary
//! (participants, times, KPI figures, rating) stays, marked `messages_deleted`.

use crate::config::bounds::RETENTION_SUBMISSION_RECORDS_MAX;
use crate::hub::Hub;
use crate::store::records;
use crate::store::{Record, StoreError};
use std::ops::ControlFlow;
use std::sync::{Arc, Weak};
use std::time::Duration;

impl Hub {
    /// Deletes old history every half retention (between 0.5 s and an hour) until the hub
    /// is dropped.
    pub(super) async fn keep_history_retention(hub: Weak<Hub>, retention_ms: u64) {
        let every = Duration::from_millis((retention_ms / 2).clamp(500, 3_600_000));
        loop {
            tokio::time::sleep(every).await;
            let Some(hub) = hub.upgrade() else {
                return;
            };
            let cutoff = hub.clock.now_ms().saturating_sub(retention_ms);
            let scan = {
                let hub = hub.clone();
                tokio::task::spawn_blocking(move || hub.forget_history_closed_before(cutoff))
            };
            match scan.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => eprintln!("switchboard: history retention failed: {e}"),
                Err(e) => eprintln!("switchboard: history retention stopped: {e}"),
            }
        }
    }

    /// Submits the deletion of the messages of every dialog closed at or before `cutoff_ms`
    /// whose messages are still kept; returns how many dialogs.
    pub fn forget_history_closed_before(
        self: &Arc<Self>,
        cutoff_ms: u64,
    ) -> Result<usize, StoreError> {
        let mut records = Vec::new();
        let mut forgotten = 0;
        let mut failed = Ok(());
        self.scan_closed(0, |id, mut closed| {
            if closed.messages_deleted || closed.closed_ms > cutoff_ms {
                return ControlFlow::Continue(());
            }
            closed.messages_deleted = true;
            records.push(Record::ForgetDialog { dialog: id });
            records.push(Record::Dialog {
                dialog: id,
                bytes: records::encode(&closed),
            });
            forgotten += 1;
            if records.len() >= RETENTION_SUBMISSION_RECORDS_MAX {
                failed = submit(self, std::mem::take(&mut records));
                if failed.is_err() {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        })?;
        failed?;
        if !records.is_empty() {
            submit(self, records)?;
        }
        Ok(forgotten)
    }
}

fn submit(hub: &Hub, records: Vec<Record>) -> Result<(), StoreError> {
    let Some(store) = &hub.store else {
        return Ok(());
    };
    store.submit(
        records,
        Box::new(|result| {
            if let Err(e) = result {
                eprintln!("switchboard: deleting old history failed: {e}");
            }
        }),
    )
}
