//! The config builder: a whole `switchboard` config file in TOML ([`Config`], [`Line`]), minus
//! `listen` and `data_dir`, which [`Config::render`] fills in for the server it starts; and the
//! names every test config gives its operators ([`token`], [`display_name`], [`ADMIN_TOKEN`]).

use std::path::Path;

/// The admin token of [`Config::admin`].
pub const ADMIN_TOKEN: &str = "admin-secret";

/// The token of operator `id` in every test config.
pub fn token(id: &str) -> String {
    format!("{id}-token")
}

/// The display name of operator `id` in every test config: `anna` → `Anna`.
pub fn display_name(id: &str) -> String {
    let mut chars = id.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Appends each of `lines` to `out`, one a line.
fn push_lines(out: &mut String, lines: &[String]) {
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
}

/// One `[[lines]]` block.
#[derive(Clone, Debug)]
pub struct Line {
    id: String,
    name: String,
    top: Vec<String>,
    queue: Vec<String>,
    sections: Vec<String>,
}

/// A line `id` (named like the id, capitalized) with the given queue.
pub fn line(id: &str, mode: &str, members: &[&str], transfer_after: &str) -> Line {
    let members: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
    Line {
        id: id.to_string(),
        name: display_name(id),
        top: Vec::new(),
        queue: vec![
            format!("members = [{}]", members.join(", ")),
            format!("mode = \"{mode}\""),
            format!("transfer_after = \"{transfer_after}\""),
        ],
        sections: Vec::new(),
    }
}

impl Line {
    /// A key of the line itself, e.g. `typing_preview = true`.
    pub fn top(mut self, toml: &str) -> Self {
        self.top.push(toml.to_string());
        self
    }

    /// A key of `[lines.queue]`, e.g. `limit = { max = 1, count = "all" }`.
    pub fn queue(mut self, toml: &str) -> Self {
        self.queue.push(toml.to_string());
        self
    }

    /// A whole sub-table, e.g. `"[lines.auto]\ngreeting_text = \"Hi\""`.
    pub fn section(mut self, toml: &str) -> Self {
        self.sections.push(toml.to_string());
        self
    }

    fn render(&self, first: bool, out: &mut String) {
        out.push_str("\n[[lines]]\n");
        out.push_str(&format!("id = \"{}\"\nname = \"{}\"\n", self.id, self.name));
        if first {
            out.push_str("channels = [\"online_chat\"]\n");
        }
        push_lines(out, &self.top);
        out.push_str("[lines.queue]\n");
        push_lines(out, &self.queue);
        push_lines(out, &self.sections);
    }
}

/// A whole config file, minus `listen` and `data_dir` (the harness sets those).
#[derive(Clone, Debug, Default)]
pub struct Config {
    server: Vec<String>,
    operators: Vec<String>,
    lines: Vec<Line>,
    limits: Vec<String>,
    tail: Vec<String>,
}

impl Config {
    pub fn new() -> Self {
        Self::default()
    }

    /// Operators with id `id`, name [`display_name`] and token [`token`].
    pub fn operators(mut self, ids: &[&str]) -> Self {
        for id in ids {
            self.operators.push(format!(
                "id = \"{id}\"\nname = \"{}\"\ntoken = \"{}\"\n",
                display_name(id),
                token(id)
            ));
        }
        self
    }

    /// An operator block in raw TOML (without the `[[operators]]` header).
    pub fn operator_raw(mut self, toml: &str) -> Self {
        self.operators.push(format!("{toml}\n"));
        self
    }

    pub fn line(mut self, line: Line) -> Self {
        self.lines.push(line);
        self
    }

    /// Top-level TOML appended at the end, e.g. a `[[quick_answers]]` table.
    pub fn raw(mut self, toml: &str) -> Self {
        self.tail.push(toml.to_string());
        self
    }

    /// A `[server]` key with its TOML value, e.g. `server_key("admin_token", "\"t\"")`.
    pub fn server_key(mut self, key: &str, value: &str) -> Self {
        self.server.push(format!("{key} = {value}"));
        self
    }

    /// Opens the admin API with [`ADMIN_TOKEN`].
    pub fn admin(self) -> Self {
        self.server_key("admin_token", &format!("\"{ADMIN_TOKEN}\""))
    }

    /// A `[server.limits]` key with its TOML value, e.g. `limit("frame_bytes_max", "1024")`.
    pub fn limit(mut self, key: &str, value: &str) -> Self {
        self.limits.push(format!("{key} = {value}"));
        self
    }

    pub fn render(&self, data_dir: &Path) -> String {
        let mut out = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndata_dir = \"{}\"\n",
            data_dir.display()
        );
        push_lines(&mut out, &self.server);
        if !self.limits.is_empty() {
            out.push_str("\n[server.limits]\n");
            push_lines(&mut out, &self.limits);
        }
        for op in &self.operators {
            out.push_str("\n[[operators]]\n");
            out.push_str(op);
        }
        for (i, line) in self.lines.iter().enumerate() {
            line.render(i == 0, &mut out);
        }
        for toml in &self.tail {
            out.push('\n');
            out.push_str(toml);
            out.push('\n');
        }
        out
    }
}
