//! The live progress line on stderr (indicatif): phase, elapsed, messages sent and their rate,
//! delivered, p99 of the scenario's main metric so far, errors, open connections. Shown only
//! when stdout and stderr are terminals and `--quiet` is off; redrawn four times a second.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

use crate::cli::ScenarioKind;
use crate::ctx::{Ctx, Phase};
use crate::measure::Counters;
use crate::report::table::thousands;
use crate::report::Report;

const TICK: Duration = Duration::from_millis(250);

pub struct Progress {
    bar: Option<ProgressBar>,
    task: Option<JoinHandle<()>>,
}

/// Whether a progress line may be drawn at all.
pub fn wanted(quiet: bool) -> bool {
    !quiet && std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
}

impl Progress {
    pub fn start(ctx: Arc<Ctx>, enabled: bool) -> Progress {
        if !enabled {
            return Progress {
                bar: None,
                task: None,
            };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            bar.set_style(style);
        }
        let shown = bar.clone();
        let task = tokio::spawn(async move {
            let mut last_sent = 0u64;
            loop {
                let sent = sent(&ctx);
                shown.set_message(line(&ctx, sent.saturating_sub(last_sent)));
                shown.tick();
                last_sent = sent;
                if ctx.phase() >= Phase::Done {
                    break;
                }
                tokio::time::sleep(TICK).await;
            }
        });
        Progress {
            bar: Some(bar),
            task: Some(task),
        }
    }

    pub fn finish(self) {
        if let Some(task) = self.task {
            task.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// What the scenario sends: messages, or (connect) connections set up.
fn sent(ctx: &Ctx) -> u64 {
    match ctx.plan.scenario {
        ScenarioKind::Connect => Counters::get(&ctx.measures.counters.churned),
        _ => ctx.w2o.sent_count(),
    }
}

/// The text of the line; `sent_in_tick` messages went out in the last tick.
fn line(ctx: &Ctx, sent_in_tick: u64) -> String {
    let c = &ctx.measures.counters;
    let now = ctx.clock.now_ns();
    let (start, end) = ctx.load_window();
    let conns =
        ctx.live_widgets.load(Ordering::Relaxed) + ctx.live_operators.load(Ordering::Relaxed);
    let head = format!("[{}]", ctx.endpoint.label);
    let errors = ctx.measures.errors_total();
    match ctx.phase() {
        Phase::Setup => format!(
            "{head} setup: {} widgets and {} operators connected, {} failed",
            thousands(Counters::get(&c.widgets_connected)),
            Counters::get(&c.operators_connected),
            Counters::get(&c.connect_failures)
        ),
        phase => {
            let metric = Report::main_metric(ctx.plan.scenario);
            let p99 = ctx.measures.snapshot(metric).value_at_quantile(0.99) as f64 / 1_000.0;
            let elapsed = now.saturating_sub(start) as f64 / 1e9;
            let total = end.saturating_sub(start) as f64 / 1e9;
            let state = match phase {
                Phase::Drain => format!(
                    "drain: {} on their way",
                    ctx.w2o.outstanding() + ctx.o2w.outstanding()
                ),
                _ => format!("load {:.1}/{:.1} s", elapsed.min(total), total),
            };
            let rate = thousands((sent_in_tick as f64 / TICK.as_secs_f64()) as u64);
            let traffic = match ctx.plan.scenario {
                ScenarioKind::Connect => format!("set up {} ({rate}/s)", thousands(sent(ctx))),
                ScenarioKind::Idle => "holding".to_string(),
                _ => format!(
                    "sent {} ({rate}/s) | delivered {}",
                    thousands(sent(ctx)),
                    thousands(ctx.w2o.delivered_count())
                ),
            };
            format!(
                "{head} {state} | {traffic} | p99 {p99:.2} ms | errors {errors} | connections {conns}"
            )
        }
    }
}
