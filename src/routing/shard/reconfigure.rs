//! Applying a configuration changed at run time (admin API) to a live shard: operators keep
//! their indexes and shared cells (new ones are appended), each line of this shard takes its new
//! rules with its members' counters kept, new lines start empty, and a retired line's open
//! dialogs are closed. Every line of the shard is then refilled, so a member just added gets
//! the next offer at once.

use super::Shard;
use crate::routing::api::{CloseReason, Effect};
use crate::routing::ids::{DialogId, LineIdx, OpIdx};
use crate::routing::line::{Line, LineRules};
use crate::routing::operator::Operator;
use std::collections::HashMap;

impl Shard {
    /// Takes the operators `ops` (every index, in order) and the rules of every line (`lines`,
    /// by global index; this shard owns index `i` when `i % shards == self.index`). Lines in
    /// `retired` were deleted: their open dialogs close with `LineDeleted`.
    pub fn reconfigure(
        &mut self,
        now_ms: u64,
        ops: Vec<Operator>,
        lines: &[LineRules],
        shards: usize,
        retired: &[LineIdx],
        out: &mut Vec<Effect>,
    ) {
        self.advance(now_ms, out);
        self.ops = ops;
        if self.lines.len() < lines.len() {
            self.lines.resize_with(lines.len(), || None);
        }
        let shards = shards.max(1);
        for (i, rules) in lines.iter().enumerate() {
            if crate::routing::placement::shard_of_line(i, shards) != usize::from(self.index) {
                continue;
            }
            let idx = LineIdx(i as u32);
            match &mut self.lines[i] {
                Some(line) => line.set_rules(rules.clone()),
                slot @ None => *slot = Some(Line::new(idx, rules.clone())),
            }
            self.mark_dirty(idx);
        }
        for line in retired {
            if self.lines.get(line.0 as usize).is_some_and(Option::is_some) {
                let open: Vec<DialogId> = self
                    .dialogs
                    .values()
                    .filter(|d| d.line == *line)
                    .map(|d| d.id)
                    .collect();
                for id in open {
                    self.finish(id, CloseReason::LineDeleted, out);
                }
            }
        }
        let mut op_lines: HashMap<OpIdx, Vec<LineIdx>> = HashMap::new();
        for line in self.lines.iter().flatten() {
            for op in &line.rules.pool {
                op_lines.entry(*op).or_default().push(line.idx);
            }
        }
        self.op_lines = op_lines;
        self.dispatch_dirty(out);
    }
}
