//! The bundled web pages in a real browser: Debian's Chromium driven by Playwright
//! (`tests/browser/*.test.mjs`, run by `tests/browser/run.mjs`) against a real `switchboard`
//! process on the example config, with a customer's host page served from another origin.
//! Chromium and the npm packages are installed when missing (Chromium with apt-get, as root).
//! Screenshots of every step land in `target/browser-artifacts/<test>/`.

mod common;

use common::Server;
use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

/// One browser test at a time: each starts its own server and Chromium on a 2-core machine.
static ONE_AT_A_TIME: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn run(command: &mut Command, what: &str) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(status.success(), "{what} failed: {status}");
}

/// Debian's Chromium, installed with apt-get when missing.
fn ensure_chromium() {
    if Path::new(CHROMIUM).exists() {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    assert!(
        root,
        "{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
    );
    run(
        Command::new("apt-get").arg("update").arg("-qq"),
        "apt-get update",
    );
    run(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
        "apt-get install chromium",
    );
}

/// `playwright-core` from npm (never a downloaded browser), installed from the lock file.
fn ensure_node_modules() {
    let dir = browser_dir();
    if dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        return;
    }
    run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir),
        "npm ci in tests/browser",
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The example config on `port` and `data`, with the support line allowing `origins`.
fn example_config(port: u16, data: &Path, origins: &[String]) -> String {
    let example = include_str!("../deploy/switchboard.toml");
    let replace = |text: String, from: &str, to: &str| {
        assert!(text.contains(from), "the example config has no `{from}`");
        text.replacen(from, to, 1)
    };
    let quoted: Vec<String> = origins.iter().map(|o| format!("\"{o}\"")).collect();
    let text = replace(
        example.to_string(),
        "listen = \"127.0.0.1:7878\"",
        &format!("listen = \"127.0.0.1:{port}\""),
    );
    let text = replace(
        text,
        "data_dir = \"./switchboard-data\"",
        &format!("data_dir = {:?}", data.display().to_string()),
    );
    replace(
        text,
        "allowed_origins = [\"http://127.0.0.1:7878\", \"http://localhost:7878\"]",
        &format!("allowed_origins = [{}]", quoted.join(", ")),
    )
}

/// Runs `tests/browser/<file>` against a fresh server.
fn browser_test(file: &str) {
    browser_test_with(file, |config| config);
}

/// Runs `tests/browser/<file>` against a fresh server on the example config changed by `tweak`.
fn browser_test_with(file: &str, tweak: fn(String) -> String) {
    let _one = ONE_AT_A_TIME.lock();
    ensure_chromium();
    ensure_node_modules();
    let (port, host_port, other_port) = (free_port(), free_port(), free_port());
    let origins = [
        format!("http://127.0.0.1:{host_port}"),
        format!("http://127.0.0.1:{port}"),
    ];
    let server = Server::start_with_file(file, |data| tweak(example_config(port, data, &origins)));
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("../browser-artifacts")
        .join(file.trim_end_matches(".test.mjs"));
    let _ = std::fs::remove_dir_all(&artifacts);
    let output = Command::new("node")
        .arg("run.mjs")
        .arg(file)
        .current_dir(browser_dir())
        .env("SWITCHBOARD_URL", format!("http://{}", server.addr))
        .env("HOST_PORT", host_port.to_string())
        .env("OTHER_PORT", other_port.to_string())
        .env("ARTIFACTS", &artifacts)
        .output()
        .expect("run node tests/browser/run.mjs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "browser test {file} failed:\n{stdout}\n{stderr}\nserver stderr:\n{}",
        server.stderr()
    );
}

#[test]
fn the_widget_on_a_customer_site_talks_to_the_console() {
    browser_test("widget.test.mjs");
}

#[test]
fn the_widget_on_a_phone_by_keyboard_with_a_prechat_form_and_on_the_demo_page() {
    browser_test("widget-details.test.mjs");
}

#[test]
fn the_operator_console_and_supervisor_board() {
    browser_test("console.test.mjs");
}

/// The example config with leads created automatically on the support line too (the example
/// `sales` line has them, but it is a Telegram line with office hours and a bot first).
fn support_creates_leads(config: String) -> String {
    let sales = "[[lines]]\nid = \"sales\"";
    assert!(
        config.contains(sales),
        "the example config has no sales line"
    );
    config.replacen(
        sales,
        &format!("[lines.crm]\ncreate_lead = \"auto\"\n\n{sales}"),
        1,
    )
}

#[test]
fn the_contact_card_beside_the_chat_in_the_console() {
    browser_test_with("contacts.test.mjs", support_creates_leads);
}
