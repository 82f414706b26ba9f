//! What sessions need to know about operators and lines, fixed at start: ids, display data,
//! token hashes (SHA-256; compared in constant time), line settings the widget sees, and which
//! shard owns each line. Routing state lives in the shards, not here.

use crate::config::{Config, OperatorDisplay};
use crate::protocol::{OperatorView, QuickAnswer};
use crate::routing::{LineIdx, OpIdx, OperatorCell};
use crate::schedule::WorkingHours;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// SHA-256 of a secret.
pub fn sha256(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

pub fn parse_hex32(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// An operator as sessions see it.
pub struct OperatorInfo {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub title: Option<String>,
    pub avatar: Option<String>,
    pub supervisor: bool,
    pub bot: bool,
    pub token_hash: Option<[u8; 32]>,
    pub cell: Arc<OperatorCell>,
}

/// A line as sessions see it.
pub struct LineInfo {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub shard: usize,
    pub display: OperatorDisplay,
    pub overrides: HashMap<OpIdx, OperatorView>,
    pub typing_preview: bool,
    pub consent: Option<(String, u32, bool)>,
    pub quick_list: Option<String>,
    pub hours: Option<WorkingHours>,
    /// Deleted through the admin API: widgets still connected to it get `not_found`.
    pub retired: bool,
    /// Origins whose pages may run the widget (`allowed_origins`; empty: any).
    pub allowed_origins: Vec<String>,
    /// What the widget asks before the first message.
    pub prechat: Vec<crate::config::PrechatField>,
    /// How its chats meet the contact registry.
    pub crm: crate::config::CrmConfig,
}

impl LineInfo {
    /// Whether a widget page of `origin` may use this line. A connection without an `Origin`
    /// header is not a browser page (browsers always send one on WebSocket handshakes).
    pub fn allows_origin(&self, origin: Option<&str>) -> bool {
        match origin {
            None => true,
            Some(origin) => {
                self.allowed_origins.is_empty()
                    || self
                        .allowed_origins
                        .iter()
                        .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
            }
        }
    }
}

/// Operators and lines.
pub struct Directory {
    pub operators: Vec<OperatorInfo>,
    pub operator_index: HashMap<Arc<str>, OpIdx>,
    pub lines: Vec<LineInfo>,
    pub line_index: HashMap<Arc<str>, LineIdx>,
    /// Lines each operator is a queue member of.
    pub operator_lines: HashMap<OpIdx, Vec<LineIdx>>,
}

impl Directory {
    /// Builds the directory; `cells` are the routing core's operator cells, by index.
    pub fn new(config: &Config, routing: &crate::routing::setup::Directory, shards: usize) -> Self {
        let operators: Vec<OperatorInfo> = config
            .operators
            .iter()
            .zip(&routing.operators)
            .map(|(c, r)| OperatorInfo {
                id: r.id.clone(),
                name: r.name.clone(),
                title: c.title.clone(),
                avatar: c.avatar.clone(),
                supervisor: c.supervisor,
                bot: c.bot,
                token_hash: c
                    .token
                    .as_deref()
                    .map(sha256)
                    .or_else(|| c.token_sha256.as_deref().and_then(parse_hex32)),
                cell: r.cell.clone(),
            })
            .collect();
        let mut operator_lines: HashMap<OpIdx, Vec<LineIdx>> = HashMap::new();
        let lines = config
            .lines
            .iter()
            .zip(&routing.lines)
            .enumerate()
            .map(|(i, (c, rules))| {
                for op in &rules.pool {
                    operator_lines
                        .entry(*op)
                        .or_default()
                        .push(LineIdx(i as u32));
                }
                let overrides = c
                    .display_overrides
                    .iter()
                    .filter_map(|(id, o)| {
                        let op = *routing.operator_index.get(id.as_str())?;
                        let base = &operators[op.0 as usize];
                        Some((
                            op,
                            OperatorView {
                                name: o.name.clone().unwrap_or_else(|| base.name.to_string()),
                                title: o.title.clone(),
                                avatar: o.avatar.clone(),
                            },
                        ))
                    })
                    .collect();
                LineInfo {
                    id: rules.id.clone(),
                    name: rules.name.clone(),
                    shard: crate::routing::placement::shard_of_line(i, shards),
                    display: c.operator_display,
                    overrides,
                    typing_preview: c.typing_preview,
                    consent: c
                        .consent
                        .as_ref()
                        .map(|k| (k.text.clone(), k.version, k.required)),
                    quick_list: c.quick_answers.clone(),
                    hours: rules.hours.clone(),
                    retired: false,
                    allowed_origins: c.allowed_origins.clone(),
                    prechat: c.prechat.clone(),
                    crm: c.crm.clone(),
                }
            })
            .collect();
        Directory {
            operators,
            operator_index: routing.operator_index.clone(),
            lines,
            line_index: routing.line_index.clone(),
            operator_lines,
        }
    }

    /// The operator whose token this is, compared in constant time against every hash.
    pub fn authenticate(&self, token: &str) -> Option<OpIdx> {
        let presented = sha256(token);
        let mut found: Option<OpIdx> = None;
        for (i, op) in self.operators.iter().enumerate() {
            if let Some(hash) = &op.token_hash {
                if bool::from(hash.ct_eq(&presented)) {
                    found = Some(OpIdx(i as u32));
                }
            }
        }
        found
    }

    /// How the widget of `line` sees operator `op`.
    pub fn operator_view(&self, line: LineIdx, op: OpIdx) -> Option<OperatorView> {
        let line = &self.lines[line.0 as usize];
        let info = self.operators.get(op.0 as usize)?;
        match line.display {
            OperatorDisplay::Hidden => None,
            OperatorDisplay::Override => line.overrides.get(&op).cloned().or_else(|| {
                Some(OperatorView {
                    name: info.name.to_string(),
                    title: None,
                    avatar: None,
                })
            }),
            OperatorDisplay::Profile => Some(OperatorView {
                name: info.name.to_string(),
                title: info.title.clone(),
                avatar: info.avatar.clone(),
            }),
        }
    }

    /// Whether `line` is inside working hours at `now_ms`.
    pub fn line_open(&self, line: LineIdx, now_ms: u64) -> bool {
        self.lines[line.0 as usize]
            .hours
            .as_ref()
            .is_none_or(|h| h.is_open(now_ms as i64))
    }
}

/// The configured quick-answer lists, items numbered `<list>-<n>`.
pub fn quick_answers(config: &Config) -> HashMap<String, Vec<QuickAnswer>> {
    config
        .quick_answers
        .iter()
        .map(|list| {
            let items = list
                .items
                .iter()
                .enumerate()
                .map(|(i, text)| QuickAnswer {
                    id: format!("{}-{}", list.id, i + 1),
                    text: text.clone(),
                })
                .collect();
            (list.id.clone(), items)
        })
        .collect()
}
