//! Import and export: CSV (a header row naming the columns below; lists separated by `;`, the
//! first email and phone primary) and JSON lines (one contact body per line, as `POST` takes).
//! Every bad row is reported with its line number and reason; good rows are kept, or none with
//! `all_or_nothing`. Parsing is pure; [`Registry::import`] commits.

use serde::Serialize;

use super::input::{ChannelInput, ContactInput};
use super::model::{Contact, Stored};
use super::registry::Registry;
use super::ContactError;

/// Rows in one import at most.
pub const IMPORT_ROWS_MAX: usize = 100_000;
/// Bytes of one import request at most.
pub const IMPORT_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The CSV columns, in export order. Import takes any subset in any order; `id`, `source`,
/// `version`, `created_ts` and `updated_ts` are written by export and ignored by import.
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "kind",
    "first_name",
    "last_name",
    "company_name",
    "position",
    "emails",
    "phones",
    "websites",
    "addresses",
    "description",
    "tags",
    "type",
    "responsible",
    "source",
    "version",
    "created_ts",
    "updated_ts",
];

/// One refused row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based line of the file (the CSV header is line 1).
    pub line: u64,
    pub reason: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub imported: usize,
    pub errors: Vec<RowError>,
}

/// One parsed row: its line and the contact, or why it is refused.
pub type Row = (u64, Result<ContactInput, String>);

/// Parses JSON lines; blank lines are skipped.
pub fn parse_jsonl(text: &str) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if rows.len() >= IMPORT_ROWS_MAX {
            return Err(format!("more than {IMPORT_ROWS_MAX} rows"));
        }
        let mut de = serde_json::Deserializer::from_str(line);
        let row = serde_path_to_error::deserialize::<_, ContactInput>(&mut de).map_err(|e| {
            let path = e.path().to_string();
            match path.as_str() {
                "." => e.inner().to_string(),
                _ => format!("{path}: {}", e.inner()),
            }
        });
        rows.push((i as u64 + 1, row));
    }
    Ok(rows)
}

/// Parses CSV with a header row; an unknown column refuses the whole file.
pub fn parse_csv(text: &str) -> Result<Vec<Row>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("line 1: {e}"))?
        .clone();
    if let Some(unknown) = headers.iter().find(|h| !CSV_COLUMNS.contains(h)) {
        return Err(format!(
            "line 1: column \"{unknown}\" is not one of {}",
            CSV_COLUMNS.join(", ")
        ));
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        if rows.len() >= IMPORT_ROWS_MAX {
            return Err(format!("more than {IMPORT_ROWS_MAX} rows"));
        }
        let (line, row) = match record {
            Ok(record) => {
                let line = record.position().map_or(0, |p| p.line());
                (line, csv_row(&headers, &record))
            }
            Err(e) => (
                e.position().map_or(0, |p| p.line()),
                Err(format!("not a CSV row: {e}")),
            ),
        };
        rows.push((line, row));
    }
    Ok(rows)
}

fn csv_row(
    headers: &csv::StringRecord,
    record: &csv::StringRecord,
) -> Result<ContactInput, String> {
    if record.len() != headers.len() {
        return Err(format!(
            "{} fields where the header has {}",
            record.len(),
            headers.len()
        ));
    }
    let mut input = ContactInput::default();
    for (column, value) in headers.iter().zip(record.iter()) {
        let text = || Some(Some(value.to_string()).filter(|v| !v.trim().is_empty()));
        let list = || -> Vec<String> {
            value
                .split(';')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
                .collect()
        };
        let channels = || -> Vec<ChannelInput> {
            list()
                .into_iter()
                .enumerate()
                .map(|(i, value)| ChannelInput {
                    value,
                    primary: i == 0,
                })
                .collect()
        };
        match column {
            "kind" => {
                input.kind = Some(
                    serde_json::from_value(serde_json::Value::String(value.trim().to_string()))
                        .map_err(|_| {
                            format!("kind: \"{value}\" is not \"person\" or \"company\"")
                        })?,
                )
            }
            "first_name" => input.first_name = text(),
            "last_name" => input.last_name = text(),
            "company_name" => input.company_name = text(),
            "position" => input.position = text(),
            "description" => input.description = text(),
            "type" => input.kind_type = text(),
            "responsible" => input.responsible = text(),
            "emails" => input.emails = Some(channels()),
            "phones" => input.phones = Some(channels()),
            "websites" => input.websites = Some(list()),
            "addresses" => input.addresses = Some(list()),
            "tags" => input.tags = Some(list()),
            _ => {}
        }
    }
    Ok(input)
}

/// `contacts` as CSV with [`CSV_COLUMNS`].
pub fn to_csv<'a>(contacts: impl Iterator<Item = &'a Contact>) -> Result<Vec<u8>, String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(CSV_COLUMNS)
        .map_err(|e| e.to_string())?;
    for c in contacts {
        let join = |items: Vec<&str>| items.join(";");
        let mut emails: Vec<&str> = c
            .primary_email()
            .map(|e| e.value.as_str())
            .into_iter()
            .collect();
        emails.extend(
            c.emails
                .iter()
                .filter(|e| Some(*e) != c.primary_email())
                .map(|e| e.value.as_str()),
        );
        let mut phones: Vec<&str> = c
            .primary_phone()
            .map(|p| p.value.as_str())
            .into_iter()
            .collect();
        phones.extend(
            c.phones
                .iter()
                .filter(|p| Some(*p) != c.primary_phone())
                .map(|p| p.value.as_str()),
        );
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        writer
            .write_record([
                c.id.to_string(),
                c.kind.as_str().to_string(),
                opt(&c.first_name),
                opt(&c.last_name),
                opt(&c.company_name),
                opt(&c.position),
                join(emails),
                join(phones),
                join(c.websites.iter().map(String::as_str).collect()),
                join(c.addresses.iter().map(String::as_str).collect()),
                opt(&c.description),
                join(c.tags.iter().map(String::as_str).collect()),
                opt(&c.kind_type),
                opt(&c.responsible),
                c.source.clone(),
                c.version.to_string(),
                c.created_ts.to_string(),
                c.updated_ts.to_string(),
            ])
            .map_err(|e| e.to_string())?;
    }
    writer.into_inner().map_err(|e| e.to_string())
}

/// `contacts` as JSON lines (the API's contact shape).
pub fn to_jsonl<'a>(contacts: impl Iterator<Item = &'a Contact>) -> Vec<u8> {
    let mut out = Vec::new();
    for contact in contacts {
        if serde_json::to_writer(&mut out, contact).is_ok() {
            out.push(b'\n');
        }
    }
    out
}

impl Registry {
    /// Creates a contact for every good row (source `import`); with `all_or_nothing`, none
    /// if any row is bad. Durable on return.
    pub async fn import(
        &self,
        rows: Vec<Row>,
        all_or_nothing: bool,
    ) -> Result<ImportReport, ContactError> {
        let _writing = self.writes.lock().await;
        let mut report = ImportReport::default();
        let mut writes = Vec::new();
        {
            let view = self.view()?;
            let mut id = self.state.read().next_id;
            for (line, row) in rows {
                let built = row.and_then(|input| {
                    self.build(&view, id, &input, "import")
                        .map_err(|e| e.to_string())
                });
                match built {
                    Ok((contact, _)) => {
                        writes.push((id, Stored::Live(Box::new(contact))));
                        id += 1;
                    }
                    Err(reason) => report.errors.push(RowError { line, reason }),
                }
            }
        }
        if all_or_nothing && !report.errors.is_empty() {
            return Ok(report);
        }
        report.imported = writes.len();
        if !writes.is_empty() {
            self.commit(writes, vec![]).await?;
        }
        Ok(report)
    }

    /// Every live contact, by id, as CSV (`csv == true`) or JSON lines, read from one moment
    /// of the store.
    pub fn export(&self, csv: bool) -> Result<Vec<u8>, ContactError> {
        let view = self.view()?;
        let mut contacts = Vec::new();
        view.walk(0, |contact| {
            contacts.push(contact);
            true
        })?;
        if csv {
            to_csv(contacts.iter()).map_err(ContactError::Unsupported)
        } else {
            Ok(to_jsonl(contacts.iter()))
        }
    }
}
