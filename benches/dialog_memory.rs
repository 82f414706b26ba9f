//! How much memory open dialogs' messages take: `dialogs` transcripts of `messages` messages
//! each, written the way a shard writes them (each message appended, then everything up to the
//! one before it durable, so older messages leave memory as they would once their commit
//! lands), measured with a counting allocator: every byte the transcripts hold, not the
//! process's resident size.
//!
//! Not a criterion benchmark: it prints bytes per dialog and the total. With `--keep-all` no
//! message leaves memory (how every open dialog was held before), for comparison.
//! Run: `cargo bench --bench dialog_memory -- [--keep-all] [DIALOGS] [MESSAGES]` (defaults
//! 100,000 and 1,000).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;
use switchboard::protocol::Author;
use switchboard::routing::transcript::Draft;
use switchboard::routing::{Side, Transcript};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let keep_all = args.iter().any(|a| a == "--keep-all");
    let mut numbers = args.iter().filter_map(|a| a.parse::<u64>().ok());
    let dialogs = numbers.next().unwrap_or(100_000);
    let messages = numbers.next().unwrap_or(1_000);
    let before = LIVE.load(Ordering::Relaxed);
    let started = std::time::Instant::now();
    let mut open: Vec<Transcript> = (0..dialogs).map(|_| Transcript::default()).collect();
    // Round-robin, as live dialogs grow side by side
    for n in 1..=messages {
        for (d, transcript) in open.iter_mut().enumerate() {
            let seq = transcript.append((n * dialogs + d as u64) << 8, draft(d as u64, n));
            if !keep_all {
                transcript.forget_through(seq - 1);
            }
        }
    }
    let held = (LIVE.load(Ordering::Relaxed) - before) as f64;
    let kept: usize = open.iter().map(|t| t.kept().len()).sum();
    println!(
        "dialog_memory: {dialogs} dialogs x {messages} messages ({}): {:.0} bytes per dialog, \
         {:.1} MiB in all, {:.1} messages per dialog in memory, built in {:.1?}",
        if keep_all { "all kept" } else { "newest kept" },
        held / dialogs as f64,
        held / 1_048_576.0,
        kept as f64 / dialogs as f64,
        started.elapsed(),
    );
    drop(open);
}

/// Message `n` of dialog `d`: a chat line of 40–100 characters with a 36-character key.
fn draft(d: u64, n: u64) -> Draft {
    let words = "thanks, I will check the order status and get back to you shortly today";
    let len = 40 + ((d * 31 + n * 17) % 61) as usize;
    Draft {
        author: Author::Client,
        name: None,
        text: Arc::from(&format!("{n}: {words}{words}")[..len]),
        ts: 1_800_000_000_000 + n as i64,
        key: Some((
            Side::Client,
            format!("{d:08x}-{n:04x}-4000-8000-000000000000"),
        )),
    }
}
