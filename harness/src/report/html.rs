//! Renders a report document as one self-contained HTML page: inline CSS and inline SVG,
//! nothing fetched (no scripts, stylesheets, fonts or images from elsewhere).

use super::doc::{Block, Doc, Table};
use std::fmt::Write;

/// Escape text for HTML element content and double-quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 80rem;
       padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6rem 0 1rem; font-size: 0.88rem; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #d4d4d4; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } tr:nth-child(even) td { background: #fafafa; }
.note { color: #666; font-style: italic; } td { white-space: nowrap; } td.wrap { white-space: normal; min-width: 20rem; }
td.free { white-space: normal; }
.scroll { overflow-x: auto; }
figure { margin: 1rem 0; } figcaption { font-size: 0.9rem; color: #444; }
svg { max-width: 100%; height: auto; }
nav ul { columns: 2; font-size: 0.9rem; }
";

/// A complete HTML page around `body` (already HTML).
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

/// A table as HTML.
pub(crate) fn table(t: &Table) -> String {
    let mut out = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
    for h in &t.header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        out.push_str("<tr>");
        for cell in row {
            // short cells (figures, names) stay on one line; long ones (messages) wrap
            if t.wrap {
                let _ = write!(out, "<td class=\"free\">{}</td>", escape(cell));
            } else if cell.chars().count() <= 48 {
                let _ = write!(out, "<td>{}</td>", escape(cell));
            } else {
                let _ = write!(out, "<td class=\"wrap\">{}</td>", escape(cell));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table></div>\n");
    out
}

/// An SVG document as it may stand inside HTML (without an XML declaration, if any).
pub(crate) fn inline_svg(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

/// The whole report as one HTML page.
pub(crate) fn render(doc: &Doc) -> String {
    let mut body = format!("<h1>{}</h1>\n", escape(&doc.title));
    for line in &doc.intro {
        let _ = writeln!(body, "<p>{}</p>", escape(line));
    }
    let mut nav = String::from("<nav><ul>\n");
    for s in &doc.sections {
        let _ = writeln!(
            nav,
            "<li><a href=\"#{}\">{}</a></li>",
            escape(&s.id),
            escape(&s.title)
        );
    }
    nav.push_str("</ul></nav>\n");
    // The first section (the findings) stands first on the screen; the contents follow it.
    for (i, s) in doc.sections.iter().enumerate() {
        if i == 1 {
            body.push_str(&nav);
        }
        let _ = writeln!(
            body,
            "<section id=\"{}\">\n<h2>{}</h2>",
            escape(&s.id),
            escape(&s.title)
        );
        for b in &s.blocks {
            match b {
                Block::Para(p) => {
                    let _ = writeln!(body, "<p>{}</p>", escape(p));
                }
                Block::Note(n) => {
                    let _ = writeln!(body, "<p class=\"note\">{}</p>", escape(n));
                }
                Block::Table(t) => body.push_str(&table(t)),
                Block::Chart(c) => {
                    let _ = writeln!(
                        body,
                        "<figure>\n{}\n<figcaption>{} (also saved as {})</figcaption>\n</figure>",
                        inline_svg(&c.svg).trim_end(),
                        escape(&c.title),
                        escape(&c.file)
                    );
                }
            }
        }
        body.push_str("</section>\n");
    }
    if doc.sections.len() < 2 {
        body.push_str(&nav);
    }
    page(&doc.title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn inline_svg_drops_xml_declaration() {
        assert_eq!(
            inline_svg("<?xml version=\"1.0\"?>\n<svg a=\"1\"/>"),
            "<svg a=\"1\"/>"
        );
        assert_eq!(inline_svg("<svg/>"), "<svg/>");
    }
}
