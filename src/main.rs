//! The `switchboard` command line: `serve`, `check-config`. The only place with a boxed error.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use switchboard::config::Config;

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Embedded, high-throughput chat routing for contact centers"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the service (with the built-in example config when --config is not given).
    Serve {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Validate a configuration file: prints "ok" or every problem, one per line.
    CheckConfig {
        /// The TOML file.
        file: PathBuf,
    },
    /// Look into a data directory (the service must not be running on it).
    Store {
        #[command(subcommand)]
        action: StoreCmd,
    },
}

#[derive(Subcommand)]
enum StoreCmd {
    /// Counts and the newest snapshot's position.
    Inspect {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Open dialogs and every stored message, as JSON lines on stdout.
    Export {
        #[arg(long)]
        data_dir: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::CheckConfig { file } => match Config::load(&file) {
            Ok(_) => {
                println!("ok");
                ExitCode::SUCCESS
            }
            Err(errors) => {
                println!("{errors}");
                ExitCode::from(2)
            }
        },
        Cmd::Store { action } => match store(action) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("switchboard: {e}");
                ExitCode::FAILURE
            }
        },
        Cmd::Serve { config } => match serve(config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("switchboard: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn serve(config: Option<PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
    let config = match config {
        Some(path) => Config::load(&path)?,
        None => Config::example(),
    };
    switchboard::server::run(config)?;
    Ok(())
}

fn store(action: StoreCmd) -> Result<(), Box<dyn std::error::Error>> {
    use switchboard::store::records::{MessageRecord, State};
    use switchboard::store::{Store, StoreOptions};
    let (dir, export) = match action {
        StoreCmd::Inspect { data_dir } => (data_dir, false),
        StoreCmd::Export { data_dir } => (data_dir, true),
    };
    if !dir.join(switchboard::store::FILE_NAME).exists() {
        return Err(format!(
            "{}: no store here",
            dir.join(switchboard::store::FILE_NAME).display()
        )
        .into());
    }
    let store = Store::open(&dir, StoreOptions::default())?;
    let recovered = store.recover()?;
    let state = State::fold(&recovered)?;
    if export {
        for dialog in state.dialogs.values() {
            println!(
                "{}",
                serde_json::json!({ "kind": "dialog", "dialog": dialog })
            );
        }
        let mut failed = None;
        store.for_each_message(|dialog, seq, bytes| match rmp_serde::from_slice::<MessageRecord>(bytes) {
            Ok(m) => println!("{}", serde_json::json!({ "kind": "message", "dialog_id": dialog, "seq": seq, "message": m })),
            Err(e) => failed = Some(format!("message {seq} of dialog {dialog} cannot be read: {e}")),
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        export_closed_and_consents(&store)?;
    } else {
        let inspect = store.inspect()?;
        println!("file: {}", inspect.path.display());
        println!("format version: {}", inspect.format_version);
        println!("log records: {}", inspect.log_records);
        println!("last log position: {}", inspect.last_position);
        match inspect.snapshot {
            Some((covers, bytes)) => {
                println!("snapshot: covers log position {covers}, {bytes} bytes")
            }
            None => println!("snapshot: none"),
        }
        println!(
            "messages: {} in {} dialogs",
            inspect.messages, inspect.dialogs_with_messages
        );
        println!("open dialogs: {}", state.dialogs.len());
        println!("closed dialog summaries: {}", inspect.dialogs);
        println!("consent answers: {}", inspect.consents);
        println!("resume tokens: {}", state.tokens.len());
        println!("boot epoch: {}", state.epoch);
    }
    store.close()?;
    Ok(())
}

/// `store export`, continued: closed-dialog summaries and consent answers as JSON lines.
fn export_closed_and_consents(
    store: &switchboard::store::Store,
) -> Result<(), Box<dyn std::error::Error>> {
    use switchboard::hub::consents::ConsentView;
    use switchboard::store::records::ClosedDialog;
    let mut failed = None;
    store.for_each_dialog(|dialog, bytes| match rmp_serde::from_slice::<ClosedDialog>(bytes) {
        Ok(summary) => println!(
            "{}",
            serde_json::json!({ "kind": "closed_dialog", "dialog_id": dialog, "summary": summary })
        ),
        Err(e) => failed = Some(format!("the summary of dialog {dialog} cannot be read: {e}")),
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    store.for_each_consent(|line, client, bytes| {
        match ConsentView::decode(line, client, bytes) {
            Ok(consent) => println!(
                "{}",
                serde_json::json!({ "kind": "consent", "consent": consent })
            ),
            Err(e) => failed = Some(e.to_string()),
        }
    })?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
