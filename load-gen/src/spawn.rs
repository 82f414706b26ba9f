//! Child processes the generator starts and stops: a `switchboard serve` on a temporary data
//! directory with a generated config, or this binary's own `relay`. Reads the bound address from
//! the child's first stdout line, keeps draining stdout, sends stderr to a file, and kills the
//! child (and removes its directory) on drop.
//!
//! Invariant: the generator never leaves a child running — `Drop` kills it.

use std::fmt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// How long a child has to print its address line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub enum SpawnError {
    /// The server binary is not where it was looked for.
    MissingBinary(PathBuf),
    Io(String),
    /// The child did not print its address line.
    NoAddress {
        what: &'static str,
        first_line: String,
        stderr: String,
    },
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnError::MissingBinary(path) => write!(
                f,
                "no switchboard binary at {}: build it with `cargo build --release --bin switchboard` \
                 (it lands next to switchboard-load in target/release), or pass --server-bin PATH",
                path.display()
            ),
            SpawnError::Io(e) => write!(f, "{e}"),
            SpawnError::NoAddress {
                what,
                first_line,
                stderr,
            } => write!(
                f,
                "the {what} did not start (first stdout line {first_line:?}); its stderr:\n{stderr}"
            ),
        }
    }
}

impl std::error::Error for SpawnError {}

/// A running child; killed on drop.
pub struct Spawned {
    child: Mutex<Child>,
    pub what: &'static str,
    pub addr: String,
    pub pid: u32,
    dir: PathBuf,
    /// How to start it again on the same directory (`restart`).
    command: Option<(PathBuf, &'static str)>,
}

/// `switchboard` next to this executable.
pub fn default_server_bin() -> Result<PathBuf, SpawnError> {
    let exe = std::env::current_exe()
        .map_err(|e| SpawnError::Io(format!("cannot find this executable: {e}")))?;
    Ok(exe.with_file_name("switchboard"))
}

fn temp_dir(what: &str) -> Result<PathBuf, SpawnError> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "switchboard-load-{}-{n}-{what}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| SpawnError::Io(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}

impl Spawned {
    /// Starts `bin serve --config <dir>/config.toml` with `config(data_dir)` written there.
    pub fn switchboard(
        bin: &Path,
        config: impl FnOnce(&Path) -> String,
    ) -> Result<Spawned, SpawnError> {
        if !bin.is_file() {
            return Err(SpawnError::MissingBinary(bin.to_path_buf()));
        }
        let dir = temp_dir("switchboard")?;
        let config_path = dir.join("config.toml");
        std::fs::write(&config_path, config(&dir.join("data")))
            .map_err(|e| SpawnError::Io(format!("cannot write {}: {e}", config_path.display())))?;
        let mut command = Command::new(bin);
        command.arg("serve").arg("--config").arg(&config_path);
        let mut spawned = Spawned::launch(command, dir, "server", "switchboard listening on ")?;
        spawned.command = Some((bin.to_path_buf(), "switchboard listening on "));
        Ok(spawned)
    }

    /// The child's data directory (`<dir>/data` of a spawned switchboard).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Kills the child with SIGKILL (no chance to flush or close anything) and waits for it.
    pub fn kill9(&self) {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts a killed switchboard again on the same config and data directory.
    pub fn restart(&mut self) -> Result<(), SpawnError> {
        let Some((bin, prefix)) = self.command.clone() else {
            return Err(SpawnError::Io(format!(
                "the {} cannot be restarted",
                self.what
            )));
        };
        let mut command = Command::new(bin);
        command
            .arg("serve")
            .arg("--config")
            .arg(self.dir.join("config.toml"));
        let dir = std::mem::take(&mut self.dir);
        let fresh = Spawned::launch(command, dir, self.what, prefix);
        match fresh {
            Ok(mut fresh) => {
                fresh.command = self.command.take();
                // The old child is dead already and its directory moved to the new one: dropping
                // it kills nothing and removes nothing.
                drop(std::mem::replace(self, fresh));
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Sends SIGTERM and waits up to `timeout` for the child to exit; its exit status.
    pub fn terminate(&self, timeout: Duration) -> Option<String> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Starts this executable's `relay --listen 127.0.0.1:0`.
    pub fn relay(durable: bool) -> Result<Spawned, SpawnError> {
        let exe = std::env::current_exe()
            .map_err(|e| SpawnError::Io(format!("cannot find this executable: {e}")))?;
        let dir = temp_dir("relay")?;
        let mut command = Command::new(exe);
        command.args(["relay", "--listen", "127.0.0.1:0"]);
        if durable {
            command.arg("--durable").arg(dir.join("journal"));
        }
        Spawned::launch(command, dir, "relay", "relay listening on ")
    }

    fn launch(
        mut command: Command,
        dir: PathBuf,
        what: &'static str,
        prefix: &str,
    ) -> Result<Spawned, SpawnError> {
        let stderr_path = dir.join("stderr.log");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_path)
            .map_err(|e| SpawnError::Io(format!("cannot create {}: {e}", stderr_path.display())))?;
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .map_err(|e| SpawnError::Io(format!("cannot start the {what}: {e}")))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err(SpawnError::Io(format!("no stdout from the {what}")));
        };
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the address line, then drains stdout so the child never blocks on it.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line.clone());
            while matches!(reader.read_line(&mut line), Ok(n) if n > 0) {
                line.clear();
            }
        });
        let first = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
        let pid = child.id();
        let mut spawned = Spawned {
            child: Mutex::new(child),
            what,
            addr: String::new(),
            pid,
            dir,
            command: None,
        };
        match first.trim().strip_prefix(prefix) {
            Some(addr) => {
                spawned.addr = addr.to_string();
                Ok(spawned)
            }
            None => Err(SpawnError::NoAddress {
                what,
                first_line: first.trim().to_string(),
                stderr: spawned.stderr_tail(),
            }),
        }
    }

    /// `ws://ADDR`.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// `Some(status)` once the child has exited.
    pub fn exited(&self) -> Option<String> {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown ({e})")),
        }
    }

    /// The last lines of the child's stderr.
    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Copies the contact registry of data directory `from` (the store file and the search index)
/// into `data`, so a spawned server starts with those contacts. The copies are synced before
/// the server starts, so writing them back does not compete with the measured run's flushes. A
/// copy that fails is reported and the server starts without them.
pub fn seed_contacts(from: &Path, data: &Path) {
    let copy_synced = |from: &Path, to: &Path| -> std::io::Result<()> {
        std::fs::copy(from, to)?;
        std::fs::File::open(to)?.sync_all()
    };
    let copy = || -> std::io::Result<()> {
        std::fs::create_dir_all(data.join("contacts-index"))?;
        copy_synced(
            &from.join("switchboard.redb"),
            &data.join("switchboard.redb"),
        )?;
        for entry in std::fs::read_dir(from.join("contacts-index"))? {
            let entry = entry?;
            let to = data.join("contacts-index").join(entry.file_name());
            copy_synced(&entry.path(), &to)?;
        }
        Ok(())
    };
    if let Err(e) = copy() {
        eprintln!(
            "switchboard-load: cannot seed contacts from {}: {e}",
            from.display()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_says_how_to_build_it() {
        let e = Spawned::switchboard(Path::new("/nonexistent/switchboard"), |_| String::new())
            .err()
            .expect("fails");
        let text = e.to_string();
        assert!(
            text.contains("cargo build --release --bin switchboard"),
            "{text}"
        );
    }
}
