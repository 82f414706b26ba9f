//! The `switchboard` binary end to end: `check-config` on good and bad files, and `serve`
//! listening on a real port (port 0), answering `/healthz`, refusing unknown paths with a JSON
//! error, and exiting 0 on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_switchboard");

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("switchboard-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn check_config_accepts_the_shipped_example() {
    let out = Command::new(BIN)
        .args(["check-config", "deploy/switchboard.toml"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ok");
}

#[test]
fn check_config_lists_every_problem_with_its_key() {
    let path = temp_file(
        "bad",
        "[[operators]]\nid = \"anna\"\nname = \"Anna\"\ncapacity = 0\n\n[[lines]]\nid = \"l\"\nname = \"L\"\n[lines.queue]\nmembers = [\"anna\", \"zed\"]\ntransfer_after = \"0s\"\n",
    );
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec![
            "operators[0].capacity: must be at least 1",
            "lines[0].queue.members[1]: unknown operator \"zed\" (departments are written \"dept:<id>\")",
            "lines[0].queue.transfer_after: 0ms is below the minimum of 1s",
        ]
    );
}

#[test]
fn check_config_reports_a_missing_file() {
    let out = Command::new(BIN)
        .args(["check-config", "/nonexistent/switchboard.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("cannot read /nonexistent/switchboard.toml")
    );
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_listens_answers_health_and_stops_cleanly_on_sigterm() {
    let example = std::fs::read_to_string("deploy/switchboard.toml").unwrap();
    let path = temp_file(
        "serve",
        &example.replace("listen = \"127.0.0.1:7878\"", "listen = \"127.0.0.1:0\""),
    );
    let mut child = Command::new(BIN)
        .arg("serve")
        .arg("--config")
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("switchboard listening on ")
        .expect("address line")
        .to_string();

    let health = get(&addr, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(health.ends_with("ok\n"), "{health}");
    let missing = get(&addr, "/nope");
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
    assert!(missing.contains(r#""code":"not_found""#), "{missing}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}
