//! The shared state of one run, handed to every connection task: the plan, where to connect,
//! the clock, the measures and ledgers, the run's phase, and the first fatal error.
//!
//! The phase only moves forward (Setup → Load → Drain → Done); every connection task watches it
//! and winds down at Done, so nothing outlives the run. A fatal error (dead server, Ctrl-C)
//! jumps straight to Done.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

use crate::ledger::Ledger;
use crate::measure::{Measures, Metric};
use crate::pacer::Pacer;
use crate::plan::Plan;
use crate::procfs::{CpuMark, CpuUse};
use crate::schedule::Clock;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Connecting, opening dialogs.
    Setup,
    /// The timetables run.
    Load,
    /// No new messages; waiting for the ones on their way.
    Drain,
    /// Closing everything.
    Done,
}

/// Where the run connects, and what it knows about the server there.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// `switchboard` or `relay`.
    pub label: &'static str,
    /// `ws://HOST:PORT`.
    pub url: String,
    pub tokens: Vec<String>,
    pub lines: Vec<String>,
    /// The server's pid, when its memory can be read.
    pub pid: Option<u32>,
}

impl Endpoint {
    pub fn widget_url(&self) -> String {
        format!("{}/ws/widget", self.url.trim_end_matches('/'))
    }

    pub fn operator_url(&self) -> String {
        format!("{}/ws/operator", self.url.trim_end_matches('/'))
    }

    /// The line widget `i` writes to.
    pub fn line(&self, i: usize) -> &str {
        self.lines
            .get(i % self.lines.len().max(1))
            .map_or("", |s| s)
    }

    /// The token operator `i` uses.
    pub fn token(&self, i: usize) -> &str {
        self.tokens
            .get(i % self.tokens.len().max(1))
            .map_or("", |s| s)
    }
}

pub struct Ctx {
    pub plan: Plan,
    pub endpoint: Endpoint,
    pub clock: Clock,
    /// Precise wake-ups for every timetable of the run.
    pub pacer: Pacer,
    pub measures: Measures,
    pub w2o: Ledger,
    pub o2w: Ledger,
    /// Prefix of this run's client ids (unique per run, so runs against one server never
    /// resume each other's clients).
    pub run_tag: String,
    phase: watch::Sender<Phase>,
    load_start_ns: AtomicU64,
    load_end_ns: AtomicU64,
    /// Messages due before this (the warm-up) are not recorded in the histograms.
    measure_from_ns: AtomicU64,
    /// Open widget / operator connections.
    pub live_widgets: AtomicI64,
    pub live_operators: AtomicI64,
    /// Widgets whose dialog an operator joined (firehose's setup barrier).
    pub joined: AtomicU64,
    fatal: Mutex<Option<String>>,
    notes: Mutex<Vec<String>>,
    /// CPU at the start of the load, then its use over the load.
    cpu_mark: Mutex<Option<CpuMark>>,
    cpu_use: Mutex<Option<CpuUse>>,
    /// The kernel's listen-queue overflow count when the run began.
    pub listen_overflows_at_start: Option<u64>,
}

impl Ctx {
    /// A new run's state; fails only when the pacer thread cannot start.
    pub fn new(plan: Plan, endpoint: Endpoint) -> Result<Ctx, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let clock = Clock::new();
        Ok(Ctx {
            w2o: Ledger::new(plan.ledger_capacity()),
            o2w: Ledger::new(plan.reply_capacity()),
            plan,
            endpoint,
            clock,
            pacer: Pacer::start(clock)?,
            measures: Measures::new(),
            run_tag: format!("lg{:x}", nanos % (1 << 40)),
            phase: watch::Sender::new(Phase::Setup),
            load_start_ns: AtomicU64::new(u64::MAX),
            load_end_ns: AtomicU64::new(u64::MAX),
            measure_from_ns: AtomicU64::new(u64::MAX),
            live_widgets: AtomicI64::new(0),
            live_operators: AtomicI64::new(0),
            joined: AtomicU64::new(0),
            fatal: Mutex::new(None),
            notes: Mutex::new(Vec::new()),
            cpu_mark: Mutex::new(None),
            cpu_use: Mutex::new(None),
            listen_overflows_at_start: crate::procfs::listen_overflows(),
        })
    }

    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    pub fn watch_phase(&self) -> watch::Receiver<Phase> {
        self.phase.subscribe()
    }

    /// Moves the phase forward (never back); CPU use is measured over the Load phase.
    pub fn advance(&self, to: Phase) {
        let mut from = None;
        self.phase.send_if_modified(|p| {
            let forward = to > *p;
            if forward {
                from = Some(*p);
                *p = to;
            }
            forward
        });
        let pid = self.endpoint.pid;
        match (from, to) {
            (Some(Phase::Setup), Phase::Load) => {
                *self.cpu_mark.lock().unwrap_or_else(|p| p.into_inner()) = Some(CpuMark::now(pid));
            }
            (Some(Phase::Load), _) => {
                let mark = *self.cpu_mark.lock().unwrap_or_else(|p| p.into_inner());
                *self.cpu_use.lock().unwrap_or_else(|p| p.into_inner()) =
                    mark.map(|m| m.since(pid));
            }
            _ => {}
        }
    }

    /// CPU use over the load phase, once it ended.
    pub fn cpu_use(&self) -> Option<CpuUse> {
        *self.cpu_use.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fixes the load window (ns on the clock) before the phase becomes Load: it starts at
    /// `start_ns`, is measured after the plan's warm-up and lasts the plan's duration after it.
    pub fn set_load_window(&self, start_ns: u64) {
        let measured = start_ns + self.plan.warmup.as_nanos() as u64;
        self.load_start_ns.store(start_ns, Ordering::Release);
        self.measure_from_ns.store(measured, Ordering::Release);
        self.load_end_ns.store(
            measured + self.plan.duration.as_nanos() as u64,
            Ordering::Release,
        );
    }

    /// Records a latency for something due at `due_ns`. Messages count only when due in the
    /// measured part of the load (not during setup, not in the warm-up); offers and connection
    /// setups also count during setup (firehose opens its dialogs there), never in the warm-up.
    pub fn record(&self, metric: Metric, shard: usize, due_ns: u64, now_ns: u64) {
        let from = self.measure_from_ns.load(Ordering::Relaxed);
        let measured = match metric {
            Metric::Offer | Metric::Connect => {
                due_ns < self.load_start_ns.load(Ordering::Relaxed) || due_ns >= from
            }
            Metric::WidgetToOperator | Metric::OperatorToWidget | Metric::Ack => due_ns >= from,
        };
        if measured {
            self.measures.record_since(metric, shard, due_ns, now_ns);
        }
    }

    pub fn load_window(&self) -> (u64, u64) {
        (
            self.load_start_ns.load(Ordering::Acquire),
            self.load_end_ns.load(Ordering::Acquire),
        )
    }

    /// Ends the run with `reason` (the first reason wins).
    pub fn fail(&self, reason: impl Into<String>) {
        {
            let mut fatal = self.fatal.lock().unwrap_or_else(|p| p.into_inner());
            if fatal.is_none() {
                *fatal = Some(reason.into());
            }
        }
        self.advance(Phase::Done);
    }

    pub fn fatal(&self) -> Option<String> {
        self.fatal.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A remark for the report (bounded: the first 32 are kept).
    pub fn note(&self, text: impl Into<String>) {
        let mut notes = self.notes.lock().unwrap_or_else(|p| p.into_inner());
        if notes.len() < 32 {
            notes.push(text.into());
        }
    }

    pub fn notes(&self) -> Vec<String> {
        self.notes.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Resolves when the phase reaches `at_least` (or the sender is gone).
    pub async fn reached(rx: &mut watch::Receiver<Phase>, at_least: Phase) {
        let _ = rx.wait_for(|p| *p >= at_least).await;
    }
}
