//! A full disk for real: the data directory on a small tmpfs, filled from outside. New messages
//! get `error unavailable` instead of an ack, reads keep working, `/healthz` and `/metrics` say
//! why; once space is freed it accepts again, and after `kill -9` nothing acknowledged is lost.
//! Needs root (to mount the tmpfs); skipped with a message otherwise.

mod common;

use common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A tmpfs mounted for the test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if !root {
            eprintln!("SKIPPED: mounting a tmpfs needs root");
            return None;
        }
        let dir = fresh_dir("tmpfs");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("SKIPPED: cannot mount a tmpfs at {}", dir.display());
            return None;
        }
        Some(Tmpfs(dir))
    }

    fn free(&self) -> u64 {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(&self.0)
            .output()
            .expect("df");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .expect("df's available bytes")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fill(path: &Path, bytes: u64) {
    let file = std::fs::File::create(path).expect("filler");
    file.set_len(0).unwrap();
    use std::io::Write;
    let mut w = std::io::BufWriter::new(file);
    let chunk = vec![0xabu8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        if w.write_all(&chunk[..n]).is_err() {
            break;
        }
        left -= n as u64;
    }
    let _ = w.flush();
}

async fn health(server: &Server) -> Answer {
    Http::with_token(server, None).get("/healthz").await
}

/// Waits (at most 10 s) until `/healthz` answers `status`: the server reads the free space on
/// its own schedule (every 250 ms), so the test waits for what it reports, not for a time.
async fn health_becomes(server: &Server, status: u16) -> Answer {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answer = health(server).await;
        if answer.status == status || tokio::time::Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_new_messages_keeps_reads_and_recovers_when_space_is_freed() {
    let Some(disk) = Tmpfs::mount("48m") else {
        return;
    };
    let config = Config::new()
        .admin()
        .operators(&["anna"])
        .line(line("support", "even", &["anna"], "30s"))
        .limit("disk_free_min_bytes", "16777216");
    let data = disk.0.join("data");
    let mut server = Server::start_with_file("disk-full", |_| config.render(&data));
    let mut anna = Operator::connect(&server, "anna").await;
    let mut widget = Widget::join(&server, "support", "c1").await;
    let d = field_u64(&widget.say("m1", "before").await, "dialog_id");
    anna.offered(d).await;
    anna.accept(d).await;
    assert_eq!(health(&server).await.status, 200);

    // Someone else fills the disk to 8 MiB below the minimum.
    let filler = disk.0.join("filler");
    fill(&filler, disk.free().saturating_sub(8 << 20));
    let healthz = health_becomes(&server, 503).await;
    assert_eq!(healthz.status, 503, "{}", healthz.text);
    assert!(healthz.text.contains("disk is full"), "{}", healthz.text);
    let refused = widget
        .request(json!({"type": "message", "client_msg_id": "m2", "text": "during"}))
        .await;
    assert_error(&refused, "unavailable");
    assert!(
        field_str(&refused, "message").contains("disk is full"),
        "{refused}"
    );
    let refused = anna
        .request(json!({"type": "message", "dialog_id": d, "client_msg_id": "a1", "text": "x"}))
        .await;
    assert_error(&refused, "unavailable");
    let metrics = Http::with_token(&server, None).get("/metrics").await.text;
    assert!(metrics.contains("switchboard_read_only 1"), "{metrics}");
    // Reads keep working.
    let history = anna
        .request(json!({"type": "history", "dialog_id": d}))
        .await;
    assert_eq!(history["messages"][0]["text"], "before", "{history}");
    let listed = Http::admin(&server).get_ok("/api/v1/dialogs").await;
    assert_eq!(listed["dialogs"][0]["id"], d);

    // Space comes back: the same message is taken now.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(health_becomes(&server, 200).await.status, 200);
    let ack = widget.say("m2", "during").await;
    assert_eq!(ack["seq"], 2, "{ack}");

    // Nothing acknowledged is lost, and the file opens again.
    server.kill9();
    server.restart();
    let messages = Http::admin(&server)
        .get_ok(&format!("/api/v1/dialogs/{d}/messages"))
        .await;
    let texts: Vec<&str> = messages["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["before", "during"]);
    drop(server);
}
