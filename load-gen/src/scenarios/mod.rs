//! The scenarios (`chat`, `firehose`, `connect`, `idle`) and what they share: connecting the
//! operators and widgets with bounded concurrency (each setup measured as `connect`), and the
//! end of a load phase (stop, drain until every message is accounted for or the grace period
//! is over, close).
//!
//! The per-connection behaviour lives in `widget.rs` and `operator.rs`; a scenario only wires
//! them together and sets the phases.

pub mod chat;
pub mod connect;
pub mod firehose;
pub mod idle;
pub mod operator;
pub mod widget;

use futures_util::StreamExt;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

use crate::ctx::{Ctx, Phase};
use crate::measure::{Counters, Metric};
use crate::wire::{conn, ConnError, Out, Ws};

/// Why a scenario could not run.
#[derive(Debug)]
pub enum ScenarioError {
    /// An operator could not connect: nothing can be measured without them.
    Operator { token: String, error: ConnError },
    /// Not one widget could connect.
    NoWidgets(String),
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScenarioError::Operator { token, error } => {
                write!(
                    f,
                    "operator with token {token:?} could not connect: {error}"
                )?;
                if matches!(error, ConnError::Connect { .. }) {
                    write!(f, " (is the server running there?)")?;
                }
                Ok(())
            }
            ScenarioError::NoWidgets(e) => write!(f, "no widget could connect: {e}"),
        }
    }
}

/// Failure name in the error table for a connection that could not be set up.
pub fn failure_name(e: &ConnError) -> String {
    match e {
        ConnError::Connect { .. } => "generator_connect_failed".into(),
        ConnError::Timeout(_) => "generator_setup_timeout".into(),
        ConnError::Closed(Some(code)) => format!("generator_closed_during_setup_{code}"),
        ConnError::Closed(None) => "generator_closed_during_setup".into(),
        ConnError::Refused(code) => code.clone(),
        ConnError::Io(_) => "generator_io_error".into(),
    }
}

/// Connects every operator and starts its driver.
pub async fn start_operators(ctx: &Arc<Ctx>) -> Result<Vec<JoinHandle<()>>, ScenarioError> {
    let url = ctx.endpoint.operator_url();
    let opened = futures_util::stream::iter(0..ctx.plan.operators)
        .map(|i| {
            let url = url.clone();
            let ctx = ctx.clone();
            async move {
                let token = ctx.endpoint.token(i).to_string();
                let started = ctx.clock.now_ns();
                let frame = Out::OperatorHello { token: &token };
                let result = conn::open(&url, ctx.plan.encoding, &frame, ctx.plan.io_timeout).await;
                if result.is_ok() {
                    ctx.measures
                        .record_since(Metric::Connect, i, started, ctx.clock.now_ns());
                    Counters::one(&ctx.measures.counters.operators_connected);
                }
                (i, token, result)
            }
        })
        .buffer_unordered(ctx.plan.concurrency)
        .collect::<Vec<_>>()
        .await;
    let mut tasks = Vec::with_capacity(opened.len());
    let mut first_error = None;
    for (i, token, result) in opened {
        match result {
            Ok(ws) => tasks.push(tokio::spawn(operator::drive(ctx.clone(), ws, i))),
            Err(error) => {
                first_error.get_or_insert(ScenarioError::Operator { token, error });
            }
        }
    }
    if let Some(e) = first_error {
        ctx.advance(Phase::Done);
        return Err(e);
    }
    Ok(tasks)
}

/// Connects `count` widgets (hello → welcome), at most `concurrency` at once; returns the open
/// ones with their numbers. Failures are counted; none at all is an error.
pub async fn connect_widgets(
    ctx: &Arc<Ctx>,
    count: usize,
) -> Result<Vec<(usize, Ws)>, ScenarioError> {
    let url = ctx.endpoint.widget_url();
    let results = futures_util::stream::iter(0..count)
        .map(|i| {
            let url = url.clone();
            let ctx = ctx.clone();
            async move {
                if ctx.phase() >= Phase::Done {
                    return (i, Err(ConnError::Io("the run was stopped".into())));
                }
                (i, open_widget(&ctx, &url, i).await)
            }
        })
        .buffer_unordered(ctx.plan.concurrency)
        .collect::<Vec<_>>()
        .await;
    let mut open = Vec::with_capacity(results.len());
    let mut first_error = None;
    for (i, result) in results {
        match result {
            Ok(ws) => open.push((i, ws)),
            Err(e) => {
                Counters::one(&ctx.measures.counters.connect_failures);
                ctx.measures.failure(&failure_name(&e));
                first_error.get_or_insert(e);
            }
        }
    }
    open.sort_by_key(|(i, _)| *i);
    match (open.is_empty(), first_error) {
        (true, Some(e)) => Err(ScenarioError::NoWidgets(e.to_string())),
        (false, Some(e)) => {
            ctx.note(format!(
                "{} of {count} widgets could not connect (first: {e})",
                count - open.len()
            ));
            Ok(open)
        }
        _ => Ok(open),
    }
}

/// One widget's connection setup, measured from `started`.
pub async fn open_widget(ctx: &Ctx, url: &str, i: usize) -> Result<Ws, ConnError> {
    let started = ctx.clock.now_ns();
    open_widget_due(ctx, url, i, started).await
}

/// One widget's connection setup, measured from `due_ns` (the connect scenario's timetable).
pub async fn open_widget_due(ctx: &Ctx, url: &str, i: usize, due_ns: u64) -> Result<Ws, ConnError> {
    let client_id = format!("{}-w{i}", ctx.run_tag);
    let email = ctx.plan.hello_emails.map(|n| {
        let k = i as u64 % n;
        format!("user{k}@mail{}.test", k % 997)
    });
    let frame = Out::WidgetHello {
        line: ctx.endpoint.line(i),
        client_id: &client_id,
        email: email.as_deref(),
    };
    let ws = conn::open(url, ctx.plan.encoding, &frame, ctx.plan.io_timeout).await?;
    ctx.record(Metric::Connect, i, due_ns, ctx.clock.now_ns());
    Counters::one(&ctx.measures.counters.widgets_connected);
    Ok(ws)
}

/// Runs the load window that is already set: waits for its end, then drains (until every sent
/// message is delivered or rejected, or `grace` is over), then moves to Done.
pub async fn load_then_drain(ctx: &Ctx) {
    let (_, end) = ctx.load_window();
    let mut phase = ctx.watch_phase();
    ctx.advance(Phase::Load);
    tokio::select! {
        _ = tokio::time::sleep_until(ctx.clock.instant(end)) => {}
        _ = Ctx::reached(&mut phase, Phase::Done) => return,
    }
    ctx.advance(Phase::Drain);
    let grace_end = ctx.clock.now_ns() + ctx.plan.grace.as_nanos() as u64;
    while ctx.phase() < Phase::Done && ctx.clock.now_ns() < grace_end {
        let waiting =
            ctx.w2o.outstanding() + ctx.o2w.outstanding() + ctx.w2o.unacked() + ctx.o2w.unacked();
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ctx.advance(Phase::Done);
}

/// Waits for the connection tasks to wind down (they watch the phase), at most a few seconds.
pub async fn join_all(tasks: Vec<JoinHandle<()>>) {
    let all = futures_util::future::join_all(tasks);
    let _ = tokio::time::timeout(Duration::from_secs(5), all).await;
}
