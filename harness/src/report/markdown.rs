//! Renders a report document as Markdown (GitHub-flavoured tables); charts become links to the
//! SVG files written beside `report.md`.

use super::doc::{Block, Doc, Table};
use std::fmt::Write;

/// Make text safe inside a Markdown table cell: no line breaks, `|` escaped.
pub(crate) fn cell(s: &str) -> String {
    s.replace(['\r', '\n'], " ").replace('|', "\\|")
}

/// A table as Markdown.
pub(crate) fn table(t: &Table) -> String {
    let mut out = String::new();
    let row = |cells: &[String]| {
        let inner: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        format!("| {} |\n", inner.join(" | "))
    };
    out.push_str(&row(&t.header));
    out.push_str(&format!("|{}\n", "---|".repeat(t.header.len())));
    for r in &t.rows {
        out.push_str(&row(r));
    }
    out
}

/// The whole report as Markdown.
pub(crate) fn render(doc: &Doc) -> String {
    let mut out = format!("# {}\n\n", doc.title);
    for line in &doc.intro {
        let _ = writeln!(out, "{line}\n");
    }
    for s in &doc.sections {
        let _ = writeln!(out, "## {}\n", s.title);
        for b in &s.blocks {
            match b {
                Block::Para(p) => {
                    let _ = writeln!(out, "{p}\n");
                }
                Block::Note(n) => {
                    let _ = writeln!(out, "_{}_\n", n.replace('_', "\\_"));
                }
                Block::Table(t) => {
                    out.push_str(&table(t));
                    out.push('\n');
                }
                Block::Chart(c) => {
                    let _ = writeln!(out, "![{}]({})\n", c.title.replace([']', '['], ""), c.file);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_escapes_pipes_and_newlines() {
        let mut t = Table::new(&["a", "b"]);
        t.push(vec!["x|y".into(), "1\n2".into()]);
        assert_eq!(table(&t), "| a | b |\n|---|---|\n| x\\|y | 1 2 |\n");
    }
}
