//! The search index beside the store: a tantivy index in `DATA_DIR/contacts-index` holding,
//! per live contact, its id and its searchable texts (one value per field, so a phrase never
//! spans two fields). Wildcards run as tantivy `RegexQuery` over the term dictionary, similar
//! spelling as `FuzzyTermQuery` (Levenshtein automata, a swap counts 1), phrases as
//! `PhraseQuery`; nothing here matches by hand.
//!
//! It never decides what exists: it answers candidate ids, and the registry keeps only those it
//! holds. Every commit carries the registry generation it reflects (tantivy's commit payload);
//! at start an index that is missing, damaged or at another generation is rebuilt from the
//! store. All calls block (disk); callers run them off the async workers.

use std::path::Path;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, FuzzyTermQuery, PhraseQuery, Query, RegexQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{
    doc, DocId, Index, IndexReader, IndexWriter, ReloadPolicy, Score, SegmentReader,
    TantivyDocument, Term,
};

use super::query::{analyzer, wildcard_regex, Clause};
use crate::sync::Mutex;

/// The index writer's memory budget, in bytes (tantivy's minimum is 15 MB).
pub const WRITER_BYTES_MAX: usize = 32 * 1024 * 1024;
/// The name the analyzer is registered under.
const TOKENIZER: &str = "contact";

/// A failure of the index (never a client mistake).
#[derive(Debug, thiserror::Error)]
#[error("contact search index: {0}")]
pub struct IndexError(String);

impl From<tantivy::TantivyError> for IndexError {
    fn from(e: tantivy::TantivyError) -> Self {
        IndexError(e.to_string())
    }
}

impl From<tantivy::directory::error::OpenDirectoryError> for IndexError {
    fn from(e: tantivy::directory::error::OpenDirectoryError) -> Self {
        IndexError(e.to_string())
    }
}

/// One change to the index: a contact's texts (replacing what it had), or its removal.
pub type IndexChange<'a> = (u64, Option<Vec<&'a str>>);

/// The open index.
pub struct SearchIndex {
    id: Field,
    text: Field,
    writer: Mutex<IndexWriter>,
    reader: IndexReader,
    index: Index,
}

fn schema() -> (Schema, Field, Field) {
    let mut builder = Schema::builder();
    let id = builder.add_u64_field("id", NumericOptions::default().set_indexed().set_fast());
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text = builder.add_text_field(
        "text",
        TextOptions::default().set_indexing_options(indexing),
    );
    (builder.build(), id, text)
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it (empty, generation unknown) when it is missing or
    /// cannot be opened with this build's schema.
    pub fn open(dir: &Path) -> Result<SearchIndex, IndexError> {
        std::fs::create_dir_all(dir).map_err(|e| IndexError(format!("{}: {e}", dir.display())))?;
        let (schema, id, text) = schema();
        let index = match Index::open_in_dir(dir) {
            Ok(index) if index.schema() == schema => index,
            _ => {
                // Missing, damaged or of another schema: start afresh (it is rebuilt from the
                // store, which is the source of truth).
                std::fs::remove_dir_all(dir)
                    .and_then(|()| std::fs::create_dir_all(dir))
                    .map_err(|e| IndexError(format!("{}: {e}", dir.display())))?;
                Index::create_in_dir(dir, schema)?
            }
        };
        index.tokenizers().register(TOKENIZER, analyzer());
        let writer = index.writer_with_num_threads(1, WRITER_BYTES_MAX)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            id,
            text,
            writer: Mutex::new(writer),
            reader,
            index,
        })
    }

    /// The registry generation of the last commit, if the index has one.
    pub fn generation(&self) -> Option<u64> {
        let metas = self.index.load_metas().ok()?;
        metas.payload?.parse().ok()
    }

    /// Applies `changes` and commits them as `generation`; searches see them on return.
    pub fn apply(&self, changes: &[IndexChange<'_>], generation: u64) -> Result<(), IndexError> {
        let mut writer = self.writer.lock();
        for (id, texts) in changes {
            writer.delete_term(Term::from_field_u64(self.id, *id));
            if let Some(texts) = texts {
                writer.add_document(self.document(*id, texts))?;
            }
        }
        self.commit(&mut writer, generation)
    }

    /// Replaces everything with the contacts `fill` adds (`add(id, texts)`), and commits as
    /// `generation`.
    pub fn rebuild<E: From<IndexError>>(
        &self,
        generation: u64,
        fill: impl FnOnce(&mut dyn FnMut(u64, &[&str])) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut writer = self.writer.lock();
        writer.delete_all_documents().map_err(IndexError::from)?;
        let mut failed = None;
        fill(&mut |id, texts| {
            if failed.is_none() {
                if let Err(e) = writer.add_document(self.document(id, texts)) {
                    failed = Some(e);
                }
            }
        })?;
        if let Some(e) = failed {
            return Err(IndexError::from(e).into());
        }
        Ok(self.commit(&mut writer, generation)?)
    }

    fn document(&self, id: u64, texts: &[&str]) -> TantivyDocument {
        let mut document = doc!(self.id => id);
        for text in texts {
            document.add_text(self.text, text);
        }
        document
    }

    fn commit(&self, writer: &mut IndexWriter, generation: u64) -> Result<(), IndexError> {
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&generation.to_string());
        prepared.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// The ids of every indexed contact that matches all `clauses`, unordered.
    pub fn search(&self, clauses: &[Clause]) -> Result<Vec<u64>, IndexError> {
        let query = self.query(clauses)?;
        Ok(self.reader.searcher().search(&query, &Ids)?)
    }

    fn query(&self, clauses: &[Clause]) -> Result<Box<dyn Query>, IndexError> {
        let term = |token: &str| Term::from_field_text(self.text, token);
        let mut parts: Vec<Box<dyn Query>> = Vec::with_capacity(clauses.len());
        for clause in clauses {
            parts.push(match clause {
                Clause::Word(token) => {
                    Box::new(TermQuery::new(term(token), IndexRecordOption::Basic))
                }
                Clause::Phrase(tokens) => {
                    Box::new(PhraseQuery::new(tokens.iter().map(|t| term(t)).collect()))
                }
                Clause::Wildcard(pattern) => Box::new(RegexQuery::from_pattern(
                    &wildcard_regex(pattern),
                    self.text,
                )?),
                Clause::Fuzzy(token, distance) => {
                    Box::new(FuzzyTermQuery::new(term(token), *distance, true))
                }
            });
        }
        Ok(match parts.len() {
            1 => parts
                .pop()
                .unwrap_or_else(|| Box::new(BooleanQuery::new(vec![]))),
            _ => Box::new(BooleanQuery::intersection(parts)),
        })
    }

    /// Documents in the index (live contacts it knows).
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Collects the `id` fast field of every matching document straight into a vector (no set of
/// document addresses, no second lookup).
struct Ids;

/// [`Ids`] within one segment.
struct SegmentIds {
    column: Column<u64>,
    ids: Vec<u64>,
}

impl Collector for Ids {
    type Fruit = Vec<u64>;
    type Child = SegmentIds;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<SegmentIds> {
        Ok(SegmentIds {
            column: segment.fast_fields().u64("id")?,
            ids: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u64>>) -> tantivy::Result<Vec<u64>> {
        Ok(fruits.concat())
    }
}

impl SegmentCollector for SegmentIds {
    type Fruit = Vec<u64>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(id) = self.column.first(doc) {
            self.ids.push(id);
        }
    }

    fn harvest(self) -> Vec<u64> {
        self.ids
    }
}
