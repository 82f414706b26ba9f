//! `switchboard-load`: the bundled load generator for Switchboard, and the bare relay it is
//! compared against. Parses the command line, raises the open-file limit, runs the scenario (or
//! the comparison, or the rate search) and prints the report. The only place with a boxed error.
//!
//! Layout, in the order a run goes through it:
//! `cli` (options) → `plan` (defaults, bounds) → `run` (target, watchdog) → `spawn` +
//! `server_config` (a child server) → `scenarios/*` (connections under load, over `wire/*`;
//! `schedule` + `pacer` say when each message is due and wake the sender then; `ledger`
//! matches sends to arrivals; `measure` keeps histograms and counts; `procfs` reads memory and
//! CPU) → `report/*` (table, JSON, .hgrm, SVG) → `output`. `progress` draws the live line,
//! `findmax` steps the rate up, `relay` is the baseline server.

mod cli;
mod crash;
mod ctx;
mod findmax;
mod ledger;
mod measure;
mod output;
mod pacer;
mod plan;
mod procfs;
mod progress;
mod relay;
mod relay_journal;
mod report;
mod run;
mod scenarios;
mod schedule;
mod server_config;
mod spawn;
mod wire;

use clap::Parser;
use std::process::ExitCode;

use cli::{Cli, Command, RunArgs};
use findmax::Search;
use output::{Finished, Outputs};
use plan::Plan;
use report::{Comparison, Report};
use run::Target;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Exit status of a run that completed but lost or duplicated messages.
const EXIT_LOST: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("switchboard-load: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Some(Command::Relay(args)) => runtime
            .block_on(relay::serve(&args.listen, args.durable.as_deref()))
            .map(|()| ExitCode::SUCCESS)
            .map_err(BoxError::from),
        None => runtime.block_on(run_main(cli.run)),
    };
    // Connection tasks still closing must not hold the exit up.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("switchboard-load: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Raises the open-file limit as far as allowed; says so when it stays below what the run
/// needs.
fn raise_open_files(needed: u64, quiet: bool) {
    let raised = rlimit::increase_nofile_limit(u64::MAX).map(|limit| {
        if limit >= needed {
            return limit;
        }
        // Above the hard limit only a privileged process may go (root, CAP_SYS_RESOURCE);
        // a spawned server inherits the raised limit
        match rlimit::setrlimit(rlimit::Resource::NOFILE, needed, needed) {
            Ok(()) => needed,
            Err(_) => limit,
        }
    });
    match raised {
        Ok(limit) if limit < needed => eprintln!(
            "switchboard-load: the open-file limit is {limit} and cannot be raised further, but \
             this run needs about {needed}: connections beyond it will fail (raise the hard \
             limit, e.g. `ulimit -Hn`, or use fewer --widgets)"
        ),
        Ok(limit) => {
            if !quiet {
                eprintln!("switchboard-load: open-file limit {limit}");
            }
        }
        Err(e) => eprintln!(
            "switchboard-load: could not raise the open-file limit ({e}); about {needed} are \
             needed"
        ),
    }
}

fn target(args: &RunArgs) -> Result<Target, BoxError> {
    if let Some(url) = &args.url {
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(format!("--url {url:?}: expected ws://HOST:PORT").into());
        }
        return Ok(Target::Url {
            url: url.clone(),
            tokens: args.tokens.clone(),
            lines: args.line_ids.clone(),
            pid: args.server_pid,
        });
    }
    if !args.spawn {
        return Err(
            "say where the server is: --url ws://HOST:PORT, or --spawn to start one".into(),
        );
    }
    if !(1..=1_000).contains(&args.lines) {
        return Err(format!("--lines: {} is outside 1 ..= 1000", args.lines).into());
    }
    let bin = match &args.server_bin {
        Some(bin) => bin.clone(),
        None => spawn::default_server_bin()?,
    };
    Ok(Target::Switchboard {
        bin,
        lines: args.lines,
        mode: args.mode,
        webhook_url: args.webhook_url.clone(),
        contacts_from: args.contacts_from.clone(),
    })
}

async fn run_main(args: RunArgs) -> Result<ExitCode, BoxError> {
    if args.scenario == cli::ScenarioKind::Crash {
        if args.url.is_some() || !args.spawn {
            return Err("--scenario crash kills and restarts the server: use --spawn".into());
        }
        let bin = match &args.server_bin {
            Some(bin) => bin.clone(),
            None => spawn::default_server_bin()?,
        };
        return crash::run(&args, bin).await;
    }
    let plan = Plan::from_args(&args)?;
    let target = target(&args)?;
    let quiet = args.quiet;
    let connections = (plan.widgets + plan.operators) as u64;
    raise_open_files(connections + 256, quiet);
    let progress = progress::wanted(quiet);
    let say = |text: String| {
        if !quiet {
            eprintln!("switchboard-load: {text}");
        }
    };
    let relay = Target::Relay {
        lines: args.lines,
        durable: false,
    };
    let durable_relay = Target::Relay {
        lines: args.lines,
        durable: true,
    };
    let finished = if args.find_max {
        let mut searches = Vec::new();
        if args.compare_baseline {
            searches.push(search(&plan, &relay, &args, progress, &say).await);
            searches.push(search(&plan, &durable_relay, &args, progress, &say).await);
        }
        searches.push(search(&plan, &target, &args, progress, &say).await);
        Finished::Searched(searches)
    } else if args.compare_baseline {
        say("baselines: the same scenario against the bare relay, then the durable relay".into());
        let plain = run::run(&plan, &relay, progress).await?;
        let durable = run::run(&plan, &durable_relay, progress).await?;
        say("now against Switchboard".into());
        let subject = run::run(&plan, &target, progress).await?;
        Finished::Compared(vec![
            Comparison::new(plain, subject.clone()),
            Comparison::new(durable, subject),
        ])
    } else {
        Finished::One(Box::new(run::run(&plan, &target, progress).await?))
    };
    let outputs = Outputs {
        json: args.json,
        hgrm: args.hgrm.as_deref(),
        plot: args.plot.as_deref(),
    };
    for path in output::emit(&finished, &outputs)? {
        say(format!("wrote {}", path.display()));
    }
    let lost = |r: &Report| {
        r.lost() + r.widget_to_operator.duplicated + r.operator_to_widget.duplicated > 0
    };
    let bad = match &finished {
        Finished::One(r) => lost(r),
        Finished::Compared(cs) => cs.first().is_some_and(|c| lost(&c.switchboard)),
        Finished::Searched(_) => false,
    };
    Ok(if bad {
        ExitCode::from(EXIT_LOST)
    } else {
        ExitCode::SUCCESS
    })
}

/// `--find-max` against one target: steps the rate up until a step fails.
async fn search(
    plan: &Plan,
    target: &Target,
    args: &RunArgs,
    progress: bool,
    say: &impl Fn(String),
) -> Search {
    let label = match target {
        Target::Relay { durable: false, .. } => "relay",
        Target::Relay { durable: true, .. } => "durable-relay",
        _ => "switchboard",
    };
    let mut found = Search {
        target: label.to_string(),
        p99_max_ms: args.p99_max_ms,
        steps: Vec::new(),
    };
    let factor = args.find_max_factor.clamp(1.01, 10.0);
    let mut step_plan = plan.clone();
    for _ in 0..args.find_max_steps.clamp(1, 50) {
        say(format!("find-max: {label} at {:.0}/s", step_plan.rate));
        let step = match run::run(&step_plan, target, progress).await {
            Ok(report) => findmax::judge(&report, args.p99_max_ms),
            Err(e) => findmax::Step {
                rate: step_plan.rate,
                achieved_rate: 0.0,
                p99_ms: None,
                p999_ms: None,
                lost: 0,
                held: false,
                why: e.to_string(),
            },
        };
        say(format!(
            "find-max: {label} at {:.0}/s: {}",
            step.rate,
            if step.held { "held" } else { &step.why }
        ));
        found.steps.push(step);
        let Some(rate) = findmax::next_rate(&found.steps, factor) else {
            break;
        };
        step_plan.rate = rate;
        if step_plan.messages_planned() > plan::MESSAGES_MAX {
            break;
        }
    }
    found
}
