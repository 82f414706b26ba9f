//! The durable relay's journal: the plain way to make a relay durable, as the baseline a
//! durable Switchboard is held against. Every client and operator message is appended to one
//! file; a writer thread takes whatever is queued, writes it in one go, calls `fdatasync` once
//! for the batch, and only then releases the batch's frames (acks, forwards, offers — every
//! frame a handled request produced, in order). Commit, then publish; nothing else.

use serde_json::Value;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::mpsc;
use tokio::sync::mpsc as tokio_mpsc;

/// Entries written per batch at most (then synced, then the next batch).
const BATCH_ENTRIES_MAX: usize = 4_096;

/// Frames held until their batch is on disk: the connection's queue and the frame.
pub type Held = Vec<(tokio_mpsc::Sender<Value>, Value)>;

/// What one handled request leaves: the record to append (a message), and its frames.
pub struct Entry {
    pub record: Option<Vec<u8>>,
    pub frames: Held,
}

/// The writer thread's queue.
pub struct Journal {
    tx: mpsc::Sender<Entry>,
}

impl Journal {
    /// Opens (creates or truncates) `path` and starts the writer thread.
    pub fn open(path: &Path) -> Result<Journal, String> {
        let file =
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name("relay-journal".into())
            .spawn(move || write_batches(file, rx))
            .map_err(|e| format!("cannot start the journal writer: {e}"))?;
        Ok(Journal { tx })
    }

    /// Queues one request's record and frames (in the order requests were handled).
    pub fn push(&self, entry: Entry) {
        let _ = self.tx.send(entry);
    }
}

fn write_batches(mut file: File, rx: mpsc::Receiver<Entry>) {
    let mut bytes = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH_ENTRIES_MAX {
            match rx.try_recv() {
                Ok(entry) => batch.push(entry),
                Err(_) => break,
            }
        }
        bytes.clear();
        for record in batch.iter().filter_map(|e| e.record.as_ref()) {
            bytes.extend_from_slice(&(record.len() as u32).to_le_bytes());
            bytes.extend_from_slice(record);
        }
        if !bytes.is_empty() {
            let written = file.write_all(&bytes).and_then(|()| file.sync_data());
            if let Err(e) = written {
                eprintln!("relay: the journal cannot be written ({e}); stopping");
                std::process::exit(1);
            }
        }
        for entry in batch {
            for (conn, frame) in entry.frames {
                // A full queue drops the frame (the generator then counts the message lost).
                let _ = conn.try_send(frame);
            }
        }
    }
}
