//! One run against one target: start the target if asked (a spawned `switchboard`, or the
//! relay), run the scenario with a watchdog (the child exited? Ctrl-C? every operator gone?)
//! and the progress line, and turn what was recorded into a [`Report`]. The child is stopped
//! when the run ends, whatever happened.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::cli::{Mode, ScenarioKind};
use crate::ctx::{Ctx, Endpoint, Phase};
use crate::plan::Plan;
use crate::progress::Progress;
use crate::report::Report;
use crate::scenarios::{self, ScenarioError};
use crate::server_config::{self, Shape};
use crate::spawn::{SpawnError, Spawned};

/// What to run against.
#[derive(Clone, Debug)]
pub enum Target {
    /// A server that is already running.
    Url {
        url: String,
        tokens: Vec<String>,
        lines: Vec<String>,
        pid: Option<u32>,
    },
    /// A `switchboard` started for this run.
    Switchboard {
        bin: PathBuf,
        lines: usize,
        mode: Mode,
        /// Where its `message.created` webhooks go, if anywhere.
        webhook_url: Option<String>,
        /// A data directory whose contact registry seeds the server's.
        contacts_from: Option<PathBuf>,
    },
    /// The bare relay (`durable`: the durable relay), started for this run.
    Relay { lines: usize, durable: bool },
}

#[derive(Debug)]
pub enum RunError {
    Spawn(SpawnError),
    Scenario(ScenarioError),
    /// The run was cut short.
    Aborted(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Spawn(e) => write!(f, "{e}"),
            RunError::Scenario(e) => write!(f, "{e}"),
            RunError::Aborted(why) => write!(f, "the run was stopped: {why}"),
        }
    }
}

impl std::error::Error for RunError {}

/// How often the watchdog looks.
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// Starts the target (if it is to be spawned), runs `plan` against it, stops it.
pub async fn run(plan: &Plan, target: &Target, progress: bool) -> Result<Report, RunError> {
    let (spawned, endpoint) = start(plan, target).await?;
    let ctx = Arc::new(Ctx::new(plan.clone(), endpoint).map_err(RunError::Aborted)?);
    let shown = Progress::start(ctx.clone(), progress);
    let watchdog = tokio::spawn(watch(ctx.clone(), spawned.clone()));
    let outcome = match plan.scenario {
        ScenarioKind::Chat => scenarios::chat::run(&ctx).await.map(|()| None),
        ScenarioKind::Firehose => scenarios::firehose::run(&ctx).await.map(|()| None),
        ScenarioKind::Connect => scenarios::connect::run(&ctx).await.map(|()| None),
        ScenarioKind::Idle => scenarios::idle::run(&ctx).await,
        // main.rs hands the crash scenario to crash::run before a plan is made.
        ScenarioKind::Crash => Err(ScenarioError::NoWidgets(
            "--scenario crash runs on its own driver (crash::run)".into(),
        )),
    };
    ctx.advance(Phase::Done);
    watchdog.abort();
    shown.finish();
    // A child that died explains any other failure best.
    if let Some(child) = &spawned {
        if let Some(status) = child.exited() {
            return Err(RunError::Aborted(died(child, &status)));
        }
    }
    if let Some(reason) = ctx.fatal() {
        return Err(RunError::Aborted(reason));
    }
    let memory = outcome.map_err(RunError::Scenario)?;
    Ok(Report::from_run(&ctx, memory))
}

fn died(child: &Spawned, status: &str) -> String {
    format!(
        "the {} (pid {}) exited during the run ({status}); the end of its stderr:\n{}",
        child.what,
        child.pid,
        child.stderr_tail()
    )
}

async fn start(plan: &Plan, target: &Target) -> Result<(Option<Arc<Spawned>>, Endpoint), RunError> {
    let spawned_lines = |lines: usize| (0..lines.max(1)).map(server_config::line_id).collect();
    let spawned_tokens = || {
        (0..plan.operators)
            .map(server_config::operator_token)
            .collect()
    };
    match target {
        Target::Url {
            url,
            tokens,
            lines,
            pid,
        } => Ok((
            None,
            Endpoint {
                label: "switchboard",
                url: url.clone(),
                tokens: tokens.clone(),
                lines: lines.clone(),
                pid: *pid,
            },
        )),
        Target::Switchboard {
            bin,
            lines,
            mode,
            webhook_url,
            contacts_from,
        } => {
            let shape = Shape {
                webhook_url: webhook_url.clone(),
                operators: plan.operators,
                lines: *lines,
                mode: mode.as_str(),
                widgets: plan.widgets,
                dialogs: plan.widgets,
                rating: plan.scenario == ScenarioKind::Chat && plan.rate_dialogs,
            };
            let bin = bin.clone();
            let seed = contacts_from.clone();
            let child = spawn_blocking(move || {
                Spawned::switchboard(&bin, |data| {
                    if let Some(from) = &seed {
                        crate::spawn::seed_contacts(from, data);
                    }
                    server_config::render(&shape, data)
                })
            })
            .await?;
            let endpoint = Endpoint {
                label: "switchboard",
                url: child.url(),
                tokens: spawned_tokens(),
                lines: spawned_lines(*lines),
                pid: Some(child.pid),
            };
            Ok((Some(Arc::new(child)), endpoint))
        }
        Target::Relay { lines, durable } => {
            let durable = *durable;
            let child = spawn_blocking(move || Spawned::relay(durable)).await?;
            let endpoint = Endpoint {
                label: if durable { "durable-relay" } else { "relay" },
                url: child.url(),
                tokens: (0..plan.operators)
                    .map(|i| format!("relay-op{i}"))
                    .collect(),
                lines: spawned_lines(*lines),
                pid: Some(child.pid),
            };
            Ok((Some(Arc::new(child)), endpoint))
        }
    }
}

async fn spawn_blocking(
    f: impl FnOnce() -> Result<Spawned, SpawnError> + Send + 'static,
) -> Result<Spawned, RunError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| RunError::Spawn(SpawnError::Io(format!("spawning failed: {e}"))))?
        .map_err(RunError::Spawn)
}

/// Ends the run early when the child exits, on Ctrl-C, or when every operator is gone.
async fn watch(ctx: Arc<Ctx>, child: Option<Arc<Spawned>>) {
    let needs_operators = ctx.plan.operators > 0;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                ctx.fail("interrupted (Ctrl-C)");
                return;
            }
            _ = tokio::time::sleep(WATCH_EVERY) => {}
        }
        if let Some(child) = &child {
            if let Some(status) = child.exited() {
                ctx.fail(died(child, &status));
                return;
            }
        }
        let phase = ctx.phase();
        if needs_operators
            && (phase == Phase::Load || phase == Phase::Drain)
            && ctx.live_operators.load(Ordering::Relaxed) <= 0
        {
            ctx.fail(format!(
                "every operator connection closed (close codes: {:?}); is the server still up?",
                ctx.measures.close_codes()
            ));
            return;
        }
        if phase >= Phase::Done {
            return;
        }
    }
}
