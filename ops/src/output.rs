//! Output that scripts can trust: every command that prints data takes
//! `--format table|json|jsonl|csv` ([`OutputFormat`]) and renders through this module.
//!
//! Two shapes:
//! - **rows** ([`print_rows`]): a list of flat records (audit events, schedule windows). All
//!   four formats: `json` is one array, `jsonl` one object per line, `csv` a header row then
//!   one line per record (a nested value is written as its JSON text), `table` aligned
//!   columns for people.
//! - **a document** ([`print_document`]): one report (verify, replay, timelapse, config
//!   check). `json` pretty-printed, `jsonl` the same object on one line, `table` the command's
//!   own text; `csv` only where the report is one flat record, else refused with exit 2
//!   ([`refuse`]) — say so in the command's `--format` help.
//!
//! A closed stdout (`| head`) is not an error. Commands of other engineers (`retention`,
//! `backup`, `restore`, `key rotate`, `status`) use the same two calls:
//!
//! ```ignore
//! let rows: Vec<serde_json::Value> = …; // flat objects, same keys each
//! output::print_rows(args.format, &["seq", "kind", "ts"], &rows)?;
//! output::print_document(args.format, &report_json, || table_text(&report))?;
//! ```

use std::io::Write;

use serde_json::Value;

use crate::exit::{CmdResult, Failure};
use crate::render::csv_field;

/// Output formats for data (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Aligned table (or lines) for people.
    Table,
    /// One JSON document.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

impl OutputFormat {
    /// The name as given on the command line.
    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Table => "table",
            OutputFormat::Json => "json",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Csv => "csv",
        }
    }
}

/// The refusal (exit 2) of a format a command's output has no sensible shape for.
pub fn refuse(command: &str, format: OutputFormat, why: &str) -> Failure {
    Failure::BadInput(anyhow::anyhow!(
        "`{command} --format {}` is not available: {why}",
        format.name()
    ))
}

/// A value as a cell: strings bare, null empty, anything else as JSON text.
fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Write `text` to stdout; a closed pipe ends the output quietly.
pub fn write_stdout(text: &str) -> CmdResult {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Failed(anyhow::anyhow!("writing to stdout: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// Render rows (flat JSON objects) with these `columns` in `format`.
pub fn render_rows(format: OutputFormat, columns: &[&str], rows: &[Value]) -> String {
    let mut s = String::new();
    match format {
        OutputFormat::Json => {
            s = serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".into());
            s.push('\n');
        }
        OutputFormat::Jsonl => {
            for r in rows {
                s.push_str(&r.to_string());
                s.push('\n');
            }
        }
        OutputFormat::Csv => {
            s.push_str(&columns.join(","));
            s.push('\n');
            for r in rows {
                let line: Vec<String> = columns.iter().map(|c| csv_field(&cell(&r[*c]))).collect();
                s.push_str(&line.join(","));
                s.push('\n');
            }
        }
        OutputFormat::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| columns.iter().map(|c| cell(&r[*c])).collect())
                .collect();
            let widths: Vec<usize> = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    cells
                        .iter()
                        .map(|row| row[i].chars().count())
                        .chain([c.chars().count()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |vals: Vec<&str>| {
                let padded: Vec<String> = vals
                    .iter()
                    .zip(&widths)
                    .map(|(v, w)| format!("{v:<w$}"))
                    .collect();
                padded.join("  ").trim_end().to_string() + "\n"
            };
            s.push_str(&line(columns.to_vec()));
            for row in &cells {
                s.push_str(&line(row.iter().map(String::as_str).collect()));
            }
        }
    }
    s
}

/// Print rows (flat JSON objects) with these `columns` in `format`.
pub fn print_rows(format: OutputFormat, columns: &[&str], rows: &[Value]) -> CmdResult {
    write_stdout(&render_rows(format, columns, rows))
}

/// Print one report: `json` pretty, `jsonl` on one line, `table` as `table()` writes it,
/// `csv` as a header and one row when the report is a flat object (nested values as JSON
/// text). A command whose report is nested refuses csv before calling this.
pub fn print_document(
    format: OutputFormat,
    doc: &Value,
    table: impl FnOnce() -> String,
) -> CmdResult {
    let text = match format {
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(doc).unwrap_or_default();
            s.push('\n');
            s
        }
        OutputFormat::Jsonl => format!("{doc}\n"),
        OutputFormat::Table => table(),
        OutputFormat::Csv => {
            let columns: Vec<&str> = doc
                .as_object()
                .map(|m| m.keys().map(String::as_str).collect())
                .unwrap_or_default();
            render_rows(format, &columns, std::slice::from_ref(doc))
        }
    };
    write_stdout(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_render_in_every_format() {
        let rows = vec![
            json!({"name": "day", "n": 1, "note": "a,b"}),
            json!({"name": "dusk", "n": 2, "note": null}),
        ];
        let cols = ["name", "n", "note"];
        assert_eq!(
            render_rows(OutputFormat::Csv, &cols, &rows),
            "name,n,note\nday,1,\"a,b\"\ndusk,2,\n"
        );
        assert_eq!(
            render_rows(OutputFormat::Jsonl, &cols, &rows)
                .lines()
                .count(),
            2
        );
        assert_eq!(
            render_rows(OutputFormat::Table, &cols, &rows),
            "name  n  note\nday   1  a,b\ndusk  2\n"
        );
        let back: Vec<Value> = serde_json::from_str(&render_rows(OutputFormat::Json, &cols, &rows))
            .unwrap_or_default();
        assert_eq!(back, rows);
    }
}
