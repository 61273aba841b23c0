//! Names: plain names, unknown names with the closest known one suggested, and the text of messages.

use super::*;

/// Whether `name` can name a directory under `results/`: at most [`MAX_NAME_CHARS`] ASCII
/// letters, digits, `-`, `_` or `.`, not starting with `.` (no `..`, no `/`, nothing hidden).
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Entries of a table in the order they appear in the file (toml's map is sorted by key).
pub(super) fn in_source_order<'a, 'i>(
    table: &'a DeTable<'i>,
) -> Vec<(&'a Spanned<DeString<'i>>, &'a Spanned<DeValue<'i>>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(k, _)| k.span().start);
    entries
}

/// "unknown {subject}{place}: did you mean `x`? (expected one of: a, b)", where `subject`
/// names the unknown `name`, e.g. "workload `mlpp`".
pub(super) fn unknown<S: AsRef<str>>(
    subject: &str,
    name: &str,
    place: &str,
    known: &[S],
) -> String {
    let mut msg = format!("unknown {subject}{place}");
    if let Some(best) = closest(name, known) {
        msg.push_str(&format!(": did you mean `{}`?", esc(best)));
    }
    if known.is_empty() {
        msg.push_str(" (the catalog has none)");
    } else {
        let list: Vec<String> = known.iter().map(|k| esc(k.as_ref())).collect();
        msg.push_str(&format!(" (expected one of: {})", list.join(", ")));
    }
    msg
}

/// The known name closest to `name`, if within edit distance 2 (case-insensitively).
pub(super) fn closest<'k, S: AsRef<str>>(name: &str, known: &'k [S]) -> Option<&'k str> {
    let lower = name.to_lowercase();
    known
        .iter()
        .map(|k| k.as_ref())
        .filter_map(|k| edit_distance(&lower, &k.to_lowercase(), 2).map(|d| (d, k)))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance between `a` and `b`, or `None` when it exceeds `limit`.
pub(super) fn edit_distance(a: &str, b: &str, limit: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let d = prev[b.len()];
    (d <= limit).then_some(d)
}

/// How a value that had the wrong type or range reads in a message.
pub(super) fn found(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(s) if s.is_empty() => "an empty string".to_string(),
        DeValue::String(s) => format!("string {:?}", truncate(s)),
        DeValue::Integer(i) => format!("integer {}", esc(&i.to_string())),
        DeValue::Float(x) => format!("float {}", esc(x.as_str())),
        DeValue::Boolean(b) => format!("boolean {b}"),
        DeValue::Datetime(d) => format!("datetime {d}"),
        DeValue::Array(a) if a.is_empty() => "an empty array".to_string(),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}

/// At most 40 characters of user text, so an error stays readable.
pub(super) fn truncate(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(MAX).collect();
        t.push('…');
        t
    }
}

/// User text shown between backticks: truncated, control characters escaped.
pub(super) fn esc(s: &str) -> String {
    truncate(s).escape_debug().to_string()
}

/// 1-based (line, column in characters) of byte `offset` in `text`.
pub(super) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}
