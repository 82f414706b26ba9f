//! Running the real binary: [`Server`] starts `switchboard serve` on port 0 in a fresh temp dir
//! ([`fresh_dir`]), reads the address it listens on, and can SIGKILL it and restart it on the
//! same data, send it SIGTERM and wait for its exit. Dropping it kills it and removes its dir.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::client::Endpoint;
use super::config::Config;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

/// A running `switchboard serve`; killed (and its temp dir removed) on drop. When the test is
/// panicking, the server's stderr is printed and the dir is kept.
pub struct Server {
    child: Child,
    pub addr: String,
    pub dir: PathBuf,
    exited: Option<ExitStatus>,
}

static SERIALS: AtomicU64 = AtomicU64::new(0);

/// A number not handed out before in this test process (for temp dirs and probe names).
pub fn next_serial() -> u64 {
    SERIALS.fetch_add(1, Ordering::Relaxed)
}

/// A new empty temp dir for one server of this test process; `name` labels it.
pub fn fresh_dir(name: &str) -> PathBuf {
    let n = next_serial();
    let dir =
        std::env::temp_dir().join(format!("switchboard-e2e-{}-{n}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

impl Endpoint for Server {
    fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }
}

impl Server {
    /// Starts the binary on `config`; `name` labels its temp dir.
    pub fn start(name: &str, config: &Config) -> Server {
        let dir = fresh_dir(name);
        let config_path = dir.join("config.toml");
        let text = config.render(&dir.join("data"));
        std::fs::write(&config_path, &text).expect("write config");
        let (child, addr) = Server::launch(&dir);
        Server {
            child,
            addr,
            dir,
            exited: None,
        }
    }

    /// Starts the binary on a whole config file: `render` gets the data dir to name in it.
    pub fn start_with_file(name: &str, render: impl FnOnce(&Path) -> String) -> Server {
        let dir = fresh_dir(name);
        std::fs::write(dir.join("config.toml"), render(&dir.join("data"))).expect("write config");
        let (child, addr) = Server::launch(&dir);
        Server {
            child,
            addr,
            dir,
            exited: None,
        }
    }

    /// Starts the binary on `config` with at most `files` open file descriptors (through
    /// util-linux's `prlimit`), to test what happens at the process's descriptor limit.
    pub fn start_with_open_files(name: &str, config: &Config, files: u32) -> Server {
        let dir = fresh_dir(name);
        std::fs::write(dir.join("config.toml"), config.render(&dir.join("data")))
            .expect("write config");
        let limit = format!("--nofile={files}:{files}");
        let (child, addr) = Server::launch_with(&dir, Some(&limit));
        Server {
            child,
            addr,
            dir,
            exited: None,
        }
    }

    /// Spawns the binary on `dir/config.toml` and reads its address line.
    fn launch(dir: &Path) -> (Child, String) {
        Server::launch_with(dir, None)
    }

    /// [`Server::launch`], under `prlimit <limit>` when given.
    fn launch_with(dir: &Path, limit: Option<&str>) -> (Child, String) {
        let config_path = dir.join("config.toml");
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("stderr.log"))
            .expect("stderr log");
        let mut command = match limit {
            Some(limit) => {
                let mut c = Command::new("prlimit");
                c.arg(limit).arg("--").arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        let mut child = command
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn switchboard");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        // Reads the address line, then keeps draining stdout so the server never hits EPIPE.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut first = String::new();
            let _ = reader.read_line(&mut first);
            let _ = tx.send(first);
            let mut sink = String::new();
            while matches!(reader.read_line(&mut sink), Ok(n) if n > 0) {
                sink.clear();
            }
        });
        let first = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        match first.trim().strip_prefix("switchboard listening on ") {
            Some(addr) => (child, addr.to_string()),
            None => {
                let _ = child.kill();
                panic!(
                    "server did not start; first stdout line {first:?}\nconfig:\n{}\nstderr:\n{}",
                    std::fs::read_to_string(&config_path).unwrap_or_default(),
                    std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default()
                )
            }
        }
    }

    /// SIGKILLs the process (no chance to flush or close anything) and waits for it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the binary again on the same config and data directory (after `kill9`).
    pub fn restart(&mut self) {
        let (child, addr) = Server::launch(&self.dir);
        self.child = child;
        self.addr = addr;
        self.exited = None;
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.exited = Some(status);
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.exited.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- switchboard stderr ({}) ---\n{}",
                self.dir.display(),
                self.stderr()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
