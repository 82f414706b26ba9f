//! Config parsing and validation: the shipped example, the SPEC example, and one test per class
//! of mistake, each checking the key path and the reason.

use super::*;

const SPEC_EXAMPLE: &str = r##"
[server]
listen = "127.0.0.1:7878"
data_dir = "./switchboard-data"
admin_token = "change-me"

[server.limits]
frame_bytes_max = 65536
text_chars_max = 4000
messages_per_sec = 20
messages_burst = 40
connections_max = 100000

[[departments]]
id = "sales"
name = "Sales"
members = ["anna", "boris"]

[[operators]]
id = "anna"
name = "Anna"
token = "anna-secret"
capacity = 8

[[operators]]
id = "boris"
name = "Boris"
token = "boris-secret"

[[lines]]
id = "support"
name = "Support"
channels = ["online_chat"]
typing_preview = true
operator_display = "profile"
[lines.queue]
members = ["anna", "dept:sales"]
mode = "strict"
transfer_after = "2m"
check_availability = true
limit = { max = 3, count = "exclude_answered" }
[lines.auto]
greeting_text = "Hello! An operator will answer shortly."
no_operators_text = "All operators are offline now; we will answer as soon as we can."
unanswered_after = "10m"
unanswered_text = "Sorry for the wait, we are still here."
rating_wait = "5m"
client_idle_close = { after = "1h", action = "close" }
[lines.rating]
enabled = true
close_on_rating = true
[lines.hours]
timezone = "Europe/Berlin"
week = { mon = "09:00-18:00", tue = "09:00-18:00", wed = "09:00-18:00", thu = "09:00-18:00", fri = "09:00-17:00" }
holidays = ["2026-12-25"]
off_hours_text = "We are closed now and will answer in the morning."
[lines.kpi.first_response]
target = "3m"
notify = ["boris"]
text = "#OPERATOR# has not answered dialog #DIALOG# in time"
"##;

/// A small valid config to break one key at a time.
const BASE: &str = r#"
[[operators]]
id = "anna"
name = "Anna"

[[lines]]
id = "support"
name = "Support"
channels = ["online_chat"]
[lines.queue]
members = ["anna"]
"#;

fn errors(text: &str) -> Vec<String> {
    match Config::from_toml_str(text) {
        Ok(_) => Vec::new(),
        Err(ConfigErrors(list)) => list.iter().map(ToString::to_string).collect(),
    }
}

fn assert_error(text: &str, expected: &str) {
    let found = errors(text);
    assert!(
        found.iter().any(|e| e.contains(expected)),
        "expected an error containing {expected:?}, got {found:#?}"
    );
}

#[test]
fn the_shipped_example_is_valid() {
    let config = Config::example();
    assert_eq!(config.lines.len(), 2);
    assert_eq!(config.server.listen, "127.0.0.1:7878");
}

#[test]
fn the_spec_example_is_valid_and_read_right() {
    let config = Config::from_toml_str(SPEC_EXAMPLE).unwrap();
    let line = &config.lines[0];
    assert_eq!(line.queue.mode, QueueMode::Strict);
    assert_eq!(line.queue.transfer_after.as_ms(), 120_000);
    let limit = line.queue.limit.unwrap();
    assert_eq!((limit.max, limit.count), (3, CountMode::ExcludeAnswered));
    assert_eq!(
        line.auto.client_idle_close.as_ref().unwrap().after.as_ms(),
        3_600_000
    );
    assert_eq!(line.hours.as_ref().unwrap().timezone, "Europe/Berlin");
    assert_eq!(config.operators[0].capacity, 8);
    assert_eq!(config.operators[1].capacity, 1000, "default capacity");
    assert_eq!(
        config.server.limits.outbound_frames_max, 1024,
        "defaulted limit"
    );
}

#[test]
fn the_base_config_is_valid() {
    assert_eq!(errors(BASE), Vec::<String>::new());
}

#[test]
fn transfer_after_below_the_minimum_names_the_key() {
    let text = BASE.replace(
        "members = [\"anna\"]",
        "members = [\"anna\"]\ntransfer_after = \"0s\"",
    );
    assert_eq!(
        errors(&text),
        vec!["lines[0].queue.transfer_after: 0ms is below the minimum of 1s"]
    );
    let text = BASE.replace(
        "members = [\"anna\"]",
        "members = [\"anna\"]\ntransfer_after = \"13h\"",
    );
    assert_error(
        &text,
        "lines[0].queue.transfer_after: 13h is above the maximum of 12h",
    );
}

#[test]
fn a_malformed_duration_names_the_key() {
    let text = BASE.replace(
        "members = [\"anna\"]",
        "members = [\"anna\"]\ntransfer_after = \"two minutes\"",
    );
    assert_error(
        &text,
        "lines[0].queue.transfer_after: \"two minutes\" is not a duration",
    );
}

#[test]
fn unknown_keys_are_rejected_with_their_path() {
    let text = BASE.replace(
        "members = [\"anna\"]",
        "members = [\"anna\"]\ntransfer_afer = \"2m\"",
    );
    assert_error(
        &text,
        "lines[0].queue.transfer_afer: unknown field `transfer_afer`, expected one of",
    );
    assert_error(
        &format!("{BASE}\n[server]\nlisten_on = \"x\"\n"),
        "server.listen_on: unknown field `listen_on`",
    );
}

#[test]
fn unknown_queue_members_and_departments_are_errors() {
    let text = BASE.replace(
        "members = [\"anna\"]",
        "members = [\"anna\", \"zed\", \"dept:nope\"]",
    );
    let found = errors(&text);
    assert!(found.contains(&"lines[0].queue.members[1]: unknown operator \"zed\" (departments are written \"dept:<id>\")".to_string()), "{found:#?}");
    assert!(
        found.contains(&"lines[0].queue.members[2]: unknown department \"nope\"".to_string()),
        "{found:#?}"
    );
}

#[test]
fn duplicate_ids_are_errors() {
    let text = format!("{BASE}\n[[operators]]\nid = \"anna\"\nname = \"Other\"\n");
    assert_error(&text, "operators[1].id: duplicate operator id \"anna\"");
    let text = format!("{BASE}\n[[lines]]\nid = \"support\"\nname = \"Two\"\n[lines.queue]\nmembers = [\"anna\"]\n");
    assert_error(&text, "lines[1].id: duplicate line id \"support\"");
}

#[test]
fn a_channel_on_two_lines_is_an_error() {
    let text = format!("{BASE}\n[[lines]]\nid = \"two\"\nname = \"Two\"\nchannels = [\"online_chat\"]\n[lines.queue]\nmembers = [\"anna\"]\n");
    assert_error(
        &text,
        "lines[1].channels[0]: channel \"online_chat\" is already attached to lines[0]",
    );
    let text = BASE.replace("[\"online_chat\"]", "[\"pigeon\"]");
    assert_error(
        &text,
        "lines[0].channels[0]: unknown channel kind \"pigeon\"",
    );
}

#[test]
fn bad_time_zones_and_intervals_are_errors() {
    let hours = "\n[lines.hours]\ntimezone = \"Europe/Berln\"\nweek = { mon = \"09:00-18:00\" }\n";
    assert_error(&format!("{BASE}{hours}"), "lines[0].hours.timezone");
    let hours = "\n[lines.hours]\ntimezone = \"Europe/Berlin\"\nweek = { mon = \"9am-6pm\" }\n";
    assert_error(&format!("{BASE}{hours}"), "lines[0].hours.week.mon");
    let hours = "\n[lines.hours]\ntimezone = \"Europe/Berlin\"\nholidays = [\"2026-13-01\"]\n";
    assert_error(&format!("{BASE}{hours}"), "lines[0].hours.holidays[0]");
}

#[test]
fn every_semantic_error_is_reported_not_just_the_first() {
    let text = BASE
        .replace(
            "members = [\"anna\"]",
            "members = [\"anna\"]\ntransfer_after = \"0s\"\nlimit = { max = 0 }",
        )
        .replace("name = \"Anna\"", "name = \"Anna\"\ncapacity = 0");
    let found = errors(&text);
    assert_eq!(found.len(), 3, "{found:#?}");
}

#[test]
fn wrong_types_name_the_key() {
    let text = BASE.replace("name = \"Anna\"", "name = \"Anna\"\ncapacity = \"lots\"");
    assert_error(&text, "operators[0].capacity");
    let text = BASE.replace(
        "members = [\"anna\"]",
        "members = [\"anna\"]\nmode = \"random\"",
    );
    assert_error(&text, "lines[0].queue.mode: unknown variant `random`");
}

#[test]
fn bot_must_be_a_bot_account_and_idle_text_needs_text() {
    let text = format!("{BASE}\n[lines.bot]\noperator = \"anna\"\n");
    assert_error(
        &text,
        "lines[0].bot.operator: operator \"anna\" is not a bot account",
    );
    let text = format!(
        "{BASE}\n[lines.auto]\nclient_idle_close = {{ after = \"1h\", action = \"text\" }}\n"
    );
    assert_error(
        &text,
        "lines[0].auto.client_idle_close.text: action = \"text\" needs a text",
    );
}

#[test]
fn vacation_ranges_and_limits_are_checked() {
    let text = BASE.replace(
        "name = \"Anna\"",
        "name = \"Anna\"\nvacation = [{ from = \"2026-12-31\", to = \"2026-12-01\" }]",
    );
    assert_error(
        &text,
        "operators[0].vacation[0]: ends (2026-12-01) before it starts (2026-12-31)",
    );
    let text = format!("{BASE}\n[server.limits]\nframe_bytes_max = 10\n");
    assert_error(&text, "server.limits.frame_bytes_max");
}

#[test]
fn syntax_errors_are_reported_not_panicked() {
    let found = errors("[[lines]\nid = ");
    assert_eq!(found.len(), 1);
    assert!(!found[0].is_empty());
}

#[test]
fn escalation_steps_must_grow() {
    let text = BASE.replace(
        "members = [\"anna\"]",
        "members = [\"anna\"]\nescalation = [{ after = \"5m\", add = [\"anna\"] }, { after = \"5m\", add = [\"anna\"] }]",
    );
    assert_error(
        &text,
        "lines[0].queue.escalation[1].after: 5m must be later than the step before (5m)",
    );
}

#[test]
fn the_store_cache_is_set_in_mib_within_bounds() {
    let with = |value: &str| format!("[server]\nstore_cache_mib = {value}\n{BASE}");
    assert_eq!(
        Config::from_toml_str(BASE).unwrap().server.store_cache_mib,
        256
    );
    assert_eq!(
        Config::from_toml_str(&with("16"))
            .unwrap()
            .server
            .store_cache_mib,
        16
    );
    assert_error(&with("0"), "server.store_cache_mib: 0 is outside 1..=65536");
    assert_error(
        &with("70000"),
        "server.store_cache_mib: 70000 is outside 1..=65536",
    );
}

#[test]
fn history_retention_is_optional_and_at_least_a_second() {
    let with = |value: &str| format!("[server]\nhistory_retention = \"{value}\"\n{BASE}");
    assert!(errors(BASE).is_empty());
    assert!(errors(&with("365d")).is_empty());
    assert_error(
        &with("500ms"),
        "server.history_retention: 500ms is below the minimum of 1s",
    );
    assert_eq!(
        Config::from_toml_str(&with("30d"))
            .unwrap()
            .server
            .history_retention
            .map(|d| d.as_ms()),
        Some(30 * 86_400_000)
    );
}

#[test]
fn the_kubernetes_example_config_is_valid() {
    let manifest = include_str!("../../deploy/kubernetes/switchboard.yaml");
    let embedded = manifest
        .split("switchboard.toml: |\n")
        .nth(1)
        .and_then(|rest| rest.split("\n---").next())
        .expect("the ConfigMap embeds switchboard.toml");
    let toml: String = embedded
        .lines()
        .map(|l| l.strip_prefix("    ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let config = Config::from_toml_str(&toml).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.server.listen, "0.0.0.0:7878");
}
