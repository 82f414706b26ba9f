//! What the load generator's end-to-end tests share: running the real generator binary against
//! the real server binary built next to it.

use std::process::{Command, Output};

/// Runs `switchboard-load` with `args`, once the `switchboard` it spawns is known to be there.
pub fn run_load(args: &[&str]) -> Output {
    let load = env!("CARGO_BIN_EXE_switchboard-load");
    let server = std::path::Path::new(load).with_file_name("switchboard");
    assert!(
        server.is_file(),
        "{} is missing: run `cargo test --workspace` (or `cargo build --bin switchboard`)",
        server.display()
    );
    Command::new(load)
        .args(args)
        .output()
        .expect("run switchboard-load")
}
