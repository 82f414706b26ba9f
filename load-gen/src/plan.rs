//! A run's plan: the command line resolved into one value, with each scenario's defaults filled
//! in and every option checked against its bound, so nothing later has to guess or panic.
//! Pure: no I/O.

use std::fmt;
use std::time::Duration;

use crate::cli::{RunArgs, ScenarioKind};
use crate::wire::Encoding;

/// Most widget connections in one run.
pub const WIDGETS_MAX: usize = 200_000;
/// Most operator connections in one run.
pub const OPERATORS_MAX: usize = 10_000;
/// Most messages (each direction) one run may schedule: bounds the ledgers' memory.
pub const MESSAGES_MAX: u64 = 50_000_000;
/// Longest load phase.
pub const DURATION_MAX: Duration = Duration::from_secs(3_600);

#[derive(Clone, Debug)]
pub struct Plan {
    pub scenario: ScenarioKind,
    pub encoding: Encoding,
    /// Widget connections (firehose: dialogs; connect: most in flight at once).
    pub widgets: usize,
    pub operators: usize,
    /// Widget messages per second in total (connect: new connections per second; idle: 0).
    pub rate: f64,
    pub duration: Duration,
    pub warmup: Duration,
    pub think: Duration,
    pub accept_delay: Duration,
    pub reply_ratio: f64,
    pub typing_rate: f64,
    pub dialog_messages: u32,
    pub rate_dialogs: bool,
    pub text_bytes: usize,
    /// Widgets' hello carries the email of one of this many generated contacts.
    pub hello_emails: Option<u64>,
    pub grace: Duration,
    pub concurrency: usize,
    pub io_timeout: Duration,
}

/// An option with a value it cannot take.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanError {
    pub option: &'static str,
    pub reason: String,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--{}: {}", self.option, self.reason)
    }
}

impl std::error::Error for PlanError {}

fn bad(option: &'static str, reason: impl Into<String>) -> PlanError {
    PlanError {
        option,
        reason: reason.into(),
    }
}

fn check_range<T: PartialOrd + fmt::Display>(
    option: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<T, PlanError> {
    if value < min || value > max {
        return Err(bad(option, format!("{value} is outside {min} ..= {max}")));
    }
    Ok(value)
}

impl Plan {
    /// Resolves `args`; `url_tokens` is the number of --token values (operators default to one
    /// per token against a running server).
    pub fn from_args(args: &RunArgs) -> Result<Plan, PlanError> {
        use ScenarioKind::*;
        let s = args.scenario;
        if args.dialogs.is_some() && s != Firehose {
            return Err(bad(
                "dialogs",
                "only for --scenario firehose (chat opens dialogs as it goes)",
            ));
        }
        if args.dialogs.is_some() && args.widgets.is_some() && args.dialogs != args.widgets {
            return Err(bad(
                "dialogs",
                "firehose has one widget per dialog: give one of --dialogs and --widgets",
            ));
        }
        let widgets = match s {
            Firehose => args.dialogs.or(args.widgets).unwrap_or(1_000),
            Chat | Crash => args.widgets.unwrap_or(200),
            Idle | Connect => args.widgets.unwrap_or(1_000),
        };
        let default_operators = if args.url.is_some() {
            args.tokens.len().max(1)
        } else {
            10
        };
        let operators = match s {
            Chat | Firehose | Crash => args.operators.unwrap_or(default_operators),
            Idle | Connect => args.operators.unwrap_or(0),
        };
        let rate = match s {
            Chat | Crash => args.rate.unwrap_or(200.0),
            Firehose => args.rate.unwrap_or(10_000.0),
            Connect => args.rate.unwrap_or(500.0),
            Idle => 0.0,
        };
        let chat = s == Chat;
        let plan = Plan {
            scenario: s,
            encoding: if args.msgpack {
                Encoding::MsgPack
            } else {
                Encoding::Json
            },
            widgets: check_range("widgets", widgets, 1, WIDGETS_MAX)?,
            operators: check_range("operators", operators, 0, OPERATORS_MAX)?,
            rate,
            duration: args.duration,
            warmup: args.warmup.unwrap_or(match s {
                Chat | Firehose | Crash => Duration::from_secs(1),
                Connect | Idle => Duration::ZERO,
            }),
            think: Duration::from_millis(args.think_ms.unwrap_or(if chat { 500 } else { 0 })),
            accept_delay: Duration::from_millis(args.accept_ms.unwrap_or(if chat {
                200
            } else {
                0
            })),
            reply_ratio: args.reply_ratio.unwrap_or(if chat { 1.0 } else { 0.0 }),
            typing_rate: args
                .typing_rate
                .unwrap_or(if chat { 2.0 * rate } else { 0.0 }),
            dialog_messages: check_range("dialog-messages", args.dialog_messages, 1, 1_000_000)?,
            rate_dialogs: args.rate_dialogs,
            text_bytes: check_range("text-bytes", args.text_bytes, 8, 60_000)?,
            hello_emails: match args.hello_emails {
                Some(0) => return Err(bad("hello-emails", "at least 1")),
                n => n,
            },
            grace: args.grace,
            concurrency: check_range("concurrency", args.concurrency, 1, 10_000)?,
            io_timeout: args.io_timeout,
        };
        plan.check()?;
        Ok(plan)
    }

    fn check(&self) -> Result<(), PlanError> {
        if matches!(self.scenario, ScenarioKind::Chat | ScenarioKind::Firehose)
            && self.operators == 0
        {
            return Err(bad(
                "operators",
                "this scenario needs at least one operator",
            ));
        }
        if self.scenario != ScenarioKind::Idle && !(self.rate > 0.0 && self.rate <= 10_000_000.0) {
            return Err(bad(
                "rate",
                format!("{} is outside (0, 10000000]", self.rate),
            ));
        }
        if !(0.0..=10_000_000.0).contains(&self.typing_rate) {
            return Err(bad(
                "typing-rate",
                format!("{} is outside 0 ..= 10000000", self.typing_rate),
            ));
        }
        if !(0.0..=1.0).contains(&self.reply_ratio) {
            return Err(bad(
                "reply-ratio",
                format!("{} is outside 0 ..= 1", self.reply_ratio),
            ));
        }
        if self.duration.is_zero() || self.duration > DURATION_MAX {
            return Err(bad("duration", "must be above 0 and at most 1h"));
        }
        if self.warmup > Duration::from_secs(600) {
            return Err(bad("warmup", "at most 10m"));
        }
        if self.grace > Duration::from_secs(600) {
            return Err(bad("grace", "at most 10m"));
        }
        if self.io_timeout < Duration::from_millis(100)
            || self.io_timeout > Duration::from_secs(600)
        {
            return Err(bad("io-timeout", "between 100ms and 10m"));
        }
        if self.think > Duration::from_secs(600) || self.accept_delay > Duration::from_secs(600) {
            return Err(bad(
                "think-ms",
                "think and accept delays are at most 10 minutes",
            ));
        }
        if self.messages_planned() > MESSAGES_MAX {
            return Err(bad(
                "rate",
                format!(
                    "{} messages/s for {:?} is over {MESSAGES_MAX} messages: shorten --duration",
                    self.rate, self.duration
                ),
            ));
        }
        Ok(())
    }

    /// Widget messages the timetables hold, in total.
    pub fn messages_planned(&self) -> u64 {
        match self.scenario {
            ScenarioKind::Chat | ScenarioKind::Firehose | ScenarioKind::Crash => {
                (self.rate * self.load_time().as_secs_f64()).ceil() as u64
            }
            ScenarioKind::Connect | ScenarioKind::Idle => 0,
        }
    }

    /// The whole load phase: warm-up plus the measured duration.
    pub fn load_time(&self) -> Duration {
        self.warmup + self.duration
    }

    /// Slots for the widget → operator ledger: the timetables, plus one opening message per
    /// widget, plus slack.
    pub fn ledger_capacity(&self) -> usize {
        (self.messages_planned() + self.widgets as u64 + 1_024) as usize
    }

    /// Slots for the operator → widget ledger.
    pub fn reply_capacity(&self) -> usize {
        if self.reply_ratio == 0.0 {
            return 0;
        }
        self.ledger_capacity()
    }

    /// Whether the operators keep per-dialog counts and close after `dialog_messages`.
    pub fn operators_close(&self) -> bool {
        self.scenario == ScenarioKind::Chat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn plan(args: &[&str]) -> Result<Plan, PlanError> {
        let mut all = vec!["switchboard-load"];
        all.extend_from_slice(args);
        Plan::from_args(&Cli::try_parse_from(all).expect("parses").run)
    }

    #[test]
    fn scenario_defaults() {
        let chat = plan(&["--spawn"]).expect("valid");
        assert_eq!((chat.widgets, chat.operators, chat.rate), (200, 10, 200.0));
        assert_eq!(chat.typing_rate, 400.0);
        assert_eq!(chat.reply_ratio, 1.0);
        let fire = plan(&["--spawn", "--scenario", "firehose", "--dialogs", "50"]).expect("valid");
        assert_eq!(
            (fire.widgets, fire.rate, fire.reply_ratio),
            (50, 10_000.0, 0.0)
        );
        assert_eq!(fire.warmup, Duration::from_secs(1));
        assert_eq!(fire.ledger_capacity(), 110_000 + 50 + 1_024);
        assert_eq!(fire.reply_capacity(), 0);
        let idle = plan(&["--scenario", "idle", "--widgets", "10000"]).expect("valid");
        assert_eq!((idle.widgets, idle.operators), (10_000, 0));
        let url = plan(&["--url", "ws://h:1", "--token", "a,b,c"]).expect("valid");
        assert_eq!(url.operators, 3);
    }

    #[test]
    fn bad_values_name_their_option() {
        let e = plan(&["--rate", "0"]).expect_err("zero rate");
        assert_eq!(e.option, "rate");
        let e = plan(&["--scenario", "chat", "--dialogs", "5"]).expect_err("dialogs in chat");
        assert_eq!(e.option, "dialogs");
        let e = plan(&["--reply-ratio", "1.5"]).expect_err("ratio");
        assert_eq!(e.option, "reply-ratio");
        let e = plan(&[
            "--scenario",
            "firehose",
            "--rate",
            "10000000",
            "--duration",
            "1h",
        ])
        .expect_err("too many");
        assert_eq!(e.option, "rate");
        let e = plan(&["--scenario", "firehose", "--operators", "0"]).expect_err("no ops");
        assert_eq!(e.option, "operators");
        let e = plan(&["--widgets", "0"]).expect_err("no widgets");
        assert!(e.to_string().starts_with("--widgets:"), "{e}");
    }
}
