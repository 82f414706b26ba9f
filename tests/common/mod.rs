//! Shared harness of the gateway end-to-end tests: builds a config, runs the real `switchboard`
//! binary on port 0 in a fresh temp dir (or serves it in the test process), and talks to it over
//! real WebSockets as widgets and operators, in JSON (text frames) or MessagePack (binary
//! frames), and over HTTP to its admin API. One module a job; everything is re-exported here so
//! that a test file needs only `use common::*;`.

// Each test binary uses only part of the harness: an unused item is not a mistake here.
#![allow(dead_code)]

pub mod client;
pub mod config;
pub mod frames;
pub mod http;
pub mod in_process;
pub mod process;
pub mod roles;
pub mod webhook_receiver;

#[allow(unused_imports)]
pub use {
    client::{Conn, Enc, End, Endpoint, QUIET, RECV_TIMEOUT},
    config::{display_name, line, token, Config, Line, ADMIN_TOKEN},
    frames::{
        assert_error, field_str, field_u64, frame_type, is_message_with_text, now_ms, of_type,
    },
    http::{Answer, Http},
    process::{fresh_dir, next_serial, Server},
    roles::{assert_new_widget_welcomed, Operator, Widget},
};
