//! The command line (clap): `switchboard-load [OPTIONS]` runs a scenario, `switchboard-load
//! relay` serves the bare relay baseline. Only parsing lives here; defaults that depend on the
//! scenario and every cross-option check are resolved in `plan.rs`.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "switchboard-load",
    version,
    about = "Load generator for Switchboard (and the bare relay it is compared against)",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the bare relay baseline: the same protocol subset, no routing rules, no persistence.
    Relay(RelayArgs),
}

#[derive(Args, Debug)]
pub struct RelayArgs {
    /// Address to listen on; the first stdout line is `relay listening on ADDR`.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: String,
    /// The durable relay: every message appended to FILE, one fdatasync per batch, acks and
    /// forwards only after the sync.
    #[arg(long)]
    pub durable: Option<std::path::PathBuf>,
}

/// What the load looks like.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScenarioKind {
    /// Realistic sessions: dialogs open, clients type and write, operators accept, reply after a
    /// think time and close, clients rate.
    Chat,
    /// Message throughput on established dialogs (opened and accepted before measuring).
    Firehose,
    /// Connection churn: connect, hello, welcome, close.
    Connect,
    /// Many idle widget connections; the server's memory per connection.
    Idle,
    /// Conversations while the server is killed with SIGKILL and restarted --rounds times; then
    /// every acknowledgement and delivery is checked against the data file.
    Crash,
}

/// Routing mode of the lines of a spawned server.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Even,
    Balanced,
    Strict,
    All,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Even => "even",
            Mode::Balanced => "balanced",
            Mode::Strict => "strict",
            Mode::All => "all",
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    // ---- target
    /// Drive a running server at this base URL (ws://HOST:PORT).
    #[arg(long, help_heading = "Target", conflicts_with = "spawn")]
    pub url: Option<String>,
    /// Start a `switchboard` on a temporary data dir with a generated config, and stop it at the
    /// end.
    #[arg(long, help_heading = "Target")]
    pub spawn: bool,
    /// The `switchboard` binary for --spawn [default: `switchboard` next to this executable].
    #[arg(long, help_heading = "Target", value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// A spawned server POSTs every `message.created` webhook event to this URL (loopback
    /// allowed), e.g. to `webhook-sink`.
    #[arg(long, help_heading = "Target", value_name = "URL")]
    pub webhook_url: Option<String>,
    /// Pid of the --url server, to read its resident memory (idle scenario).
    #[arg(long, help_heading = "Target", value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Operator tokens on the --url server (comma-separated); operators cycle through them.
    #[arg(
        long = "token",
        help_heading = "Target",
        value_delimiter = ',',
        default_value = "anna-secret"
    )]
    pub tokens: Vec<String>,
    /// Line ids on the --url server (comma-separated); widget i writes to line i mod count.
    #[arg(
        long = "line",
        help_heading = "Target",
        value_delimiter = ',',
        default_value = "support"
    )]
    pub line_ids: Vec<String>,
    /// Lines of a spawned server (every operator serves every line).
    #[arg(long, help_heading = "Target", default_value_t = 1)]
    pub lines: usize,
    /// Routing mode of a spawned server's lines.
    #[arg(long, help_heading = "Target", value_enum, default_value = "even")]
    pub mode: Mode,

    // ---- load
    /// Scenario preset.
    #[arg(long, help_heading = "Load", value_enum, default_value = "chat")]
    pub scenario: ScenarioKind,
    /// Widget connections [chat 200, idle 1000; connect: most in flight at once, 1000].
    #[arg(long, help_heading = "Load")]
    pub widgets: Option<usize>,
    /// Firehose: dialogs to open and have accepted before measuring (one widget each) [1000].
    #[arg(long, help_heading = "Load")]
    pub dialogs: Option<usize>,
    /// Operator connections [10 with --spawn; with --url, one per --token].
    #[arg(long, help_heading = "Load")]
    pub operators: Option<usize>,
    /// Total widget messages per second (connect: new connections per second)
    /// [chat 200, firehose 10000, connect 500].
    #[arg(long, help_heading = "Load")]
    pub rate: Option<f64>,
    /// How long the load is measured (idle: how long the connections are held).
    #[arg(long, help_heading = "Load", value_parser = parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Load before the measured --duration, not recorded in the histograms (counted in the
    /// message tallies) [chat and firehose 1s, else 0].
    #[arg(long, help_heading = "Load", value_parser = parse_duration)]
    pub warmup: Option<Duration>,
    /// Operators reply this long after a client message (chat) [chat 500].
    #[arg(long, help_heading = "Load")]
    pub think_ms: Option<u64>,
    /// Operators accept an offer this long after it arrives [chat 200, else 0].
    #[arg(long, help_heading = "Load")]
    pub accept_ms: Option<u64>,
    /// Share of client messages an operator answers, 0..=1 [chat 1, firehose 0].
    #[arg(long, help_heading = "Load")]
    pub reply_ratio: Option<f64>,
    /// Total typing drafts per second (typing previews) [chat: 2 per message, else 0].
    #[arg(long, help_heading = "Load")]
    pub typing_rate: Option<f64>,
    /// Chat: client messages per dialog; the operator closes after answering the last one.
    #[arg(long, help_heading = "Load", default_value_t = 5)]
    pub dialog_messages: u32,
    /// Chat: clients rate a dialog when asked (`rating_request`).
    #[arg(long, help_heading = "Load", default_value_t = true, action = clap::ArgAction::Set)]
    pub rate_dialogs: bool,
    /// Bytes of each message text (an id, then padding).
    #[arg(long, help_heading = "Load", default_value_t = 32)]
    pub text_bytes: usize,
    /// MessagePack (binary frames) instead of JSON.
    #[arg(long, help_heading = "Load")]
    pub msgpack: bool,
    /// Widgets say hello with the email of one of N generated contacts
    /// (`user<k>@mail<k % 997>.test`, k = widget number % N: the contacts bench's emails), so
    /// the server looks every new client up in its contact registry.
    #[arg(long, help_heading = "Load")]
    pub hello_emails: Option<u64>,
    /// With --spawn: seed the server's data directory with the contact registry kept in this
    /// directory (its `switchboard.redb` and `contacts-index/`, e.g. from
    /// `SB_CONTACTS_KEEP=1 cargo bench --bench contacts`).
    #[arg(long, help_heading = "Target", requires = "spawn")]
    pub contacts_from: Option<std::path::PathBuf>,
    /// After the load stops, how long to wait for messages still on their way (then: lost).
    #[arg(long, help_heading = "Load", value_parser = parse_duration, default_value = "5s")]
    pub grace: Duration,
    /// Connections being set up at once.
    #[arg(long, help_heading = "Load", default_value_t = 256)]
    pub concurrency: usize,
    /// Longest wait for one network step (connect, handshake, welcome, one send).
    #[arg(long, help_heading = "Load", value_parser = parse_duration, default_value = "10s")]
    pub io_timeout: Duration,

    /// Crash: how many times the server is killed with SIGKILL and started again.
    #[arg(long, help_heading = "Load", default_value_t = 20)]
    pub rounds: u32,
    /// Crash: the seed of the kill moments and the operators' choices [random, printed].
    #[arg(long, help_heading = "Load")]
    pub seed: Option<u64>,

    // ---- comparison
    /// Run the same scenario against the bare relay, then the durable relay, then Switchboard,
    /// and report Switchboard's figures as ratios to each relay's (with --find-max: search all
    /// three).
    #[arg(long, help_heading = "Comparison")]
    pub compare_baseline: bool,
    /// Step the rate up (x --find-max-factor) until p99 exceeds --p99-max-ms; report the
    /// highest rate that held. Starts at --rate.
    #[arg(long, help_heading = "Comparison")]
    pub find_max: bool,
    /// The p99 bound of --find-max, in ms.
    #[arg(long, help_heading = "Comparison", default_value_t = 10.0)]
    pub p99_max_ms: f64,
    /// Rate multiplier between --find-max steps.
    #[arg(long, help_heading = "Comparison", default_value_t = 1.25)]
    pub find_max_factor: f64,
    /// Most --find-max steps.
    #[arg(long, help_heading = "Comparison", default_value_t = 10)]
    pub find_max_steps: u32,

    // ---- output
    /// Print one JSON object (the whole report) instead of the table.
    #[arg(long, help_heading = "Output")]
    pub json: bool,
    /// Write one percentile-distribution file (.hgrm) per measure into this directory.
    #[arg(long, help_heading = "Output", value_name = "DIR")]
    pub hgrm: Option<PathBuf>,
    /// Draw the latency percentile curves into this SVG file.
    #[arg(long, help_heading = "Output", value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// No progress line and no notes on stderr.
    #[arg(long, short, help_heading = "Output")]
    pub quiet: bool,
}

/// `10s`, `1500ms`, `2m`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        if (0.0..1e9).contains(&secs) {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(format!("{s} is not a duration"));
    }
    humantime::parse_duration(s).map_err(|e| format!("{s:?} is not a duration like 10s: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15s"), Ok(Duration::from_secs(15)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn relay_and_run_parse() {
        let cli = Cli::try_parse_from(["switchboard-load", "relay", "--listen", "127.0.0.1:9"])
            .expect("relay parses");
        assert!(matches!(cli.command, Some(Command::Relay(_))));
        let cli = Cli::try_parse_from([
            "switchboard-load",
            "--spawn",
            "--scenario",
            "firehose",
            "--dialogs",
            "1000",
            "--rate",
            "10000",
            "--duration",
            "15s",
            "--compare-baseline",
        ])
        .expect("run parses");
        assert!(cli.command.is_none());
        assert_eq!(cli.run.scenario, ScenarioKind::Firehose);
        assert_eq!(cli.run.duration, Duration::from_secs(15));
        assert!(Cli::try_parse_from(["switchboard-load", "--url", "ws://x", "--spawn"]).is_err());
    }
}
