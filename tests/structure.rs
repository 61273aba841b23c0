//! The harness's module graph has no cycles. Each top-level module of `harness/src` (a file or a
//! directory) is a node; an edge A -> B is any `crate::B` path, or `B` inside `use crate::{...}`,
//! in A's non-test code (everything before its `#[cfg(test)]`). Data flows one way — scenario ->
//! plan -> target -> meters -> records -> report/compare — so a cycle means a stage imports from
//! a later one. The test prints the graph, and names each cycle it finds.
//!
//! And no source file is longer than [`MAX_LINES`] lines of non-test code, so each file keeps
//! one job: see [`non_test_lines`] for how lines are counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The identifier at the start of `s` (letters, digits, `_`).
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Top-level modules that `code` names through `crate::`.
fn named_modules(code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // use crate::{a, b::c, d::{e, f}}: the first path segment of each item
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        item_start = true;
                        continue;
                    }
                    c if c.is_whitespace() => continue,
                    _ => {}
                }
                if item_start && depth == 0 {
                    out.insert(ident(&group[j..]).to_string());
                }
                item_start = false;
            }
        } else {
            out.insert(ident(rest).to_string());
        }
    }
    out.retain(|m| modules.contains(m));
    out
}

/// The most lines of non-test code one source file may hold.
const MAX_LINES: usize = 600;

/// `text` without its test code: every item marked `#[cfg(test)]` is left out, from the
/// attribute to the item's end (a line ending in `;` for `mod tests;`, otherwise the line where
/// the braces opened after the attribute close again). A heuristic: braces are counted as
/// characters, so a brace inside a string or comment of a test item could end it early or late.
fn non_test_code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            let mut depth = 0i64;
            let mut opened = false;
            for l in lines.by_ref() {
                depth += l.matches('{').count() as i64 - l.matches('}').count() as i64;
                opened |= l.contains('{');
                if (opened && depth <= 0) || (!opened && l.trim_end().ends_with(';')) {
                    break;
                }
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Lines of non-test code in `text` ([`non_test_code`]), blank lines and comments included.
fn non_test_lines(text: &str) -> usize {
    non_test_code(text).lines().count()
}

/// Files that hold only test code: the files of modules declared `#[cfg(test)] mod name;`
/// (`name.rs` or `name/mod.rs` next to a `mod.rs`/`lib.rs`/`main.rs`, else in the folder named
/// after the declaring file), and every file under such a module's folder.
fn test_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if !line.trim_start().starts_with("#[cfg(test)]") {
                continue;
            }
            let Some(next) = lines.next() else { break };
            let decl = next.trim();
            let decl = decl
                .strip_prefix("pub(crate) ")
                .or_else(|| decl.strip_prefix("pub "))
                .unwrap_or(decl);
            let Some(name) = decl.strip_prefix("mod ").and_then(|d| d.strip_suffix(';')) else {
                continue;
            };
            let stem = f.file_stem().unwrap().to_string_lossy();
            let dir = if ["mod", "lib", "main"].contains(&stem.as_ref()) {
                f.parent().unwrap().to_path_buf()
            } else {
                f.with_extension("")
            };
            out.insert(dir.join(format!("{name}.rs")));
            let folder = dir.join(name);
            out.extend(files.iter().filter(|g| g.starts_with(&folder)).cloned());
        }
    }
    out
}

/// The module graph of `src`: top-level module -> modules it names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let top = |p: &Path| -> String {
        let rel = p.strip_prefix(src).unwrap();
        let first = rel.components().next().unwrap().as_os_str();
        first.to_string_lossy().trim_end_matches(".rs").to_string()
    };
    let modules: BTreeSet<String> = files
        .iter()
        .map(|p| top(p))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = modules
        .iter()
        .map(|m| (m.clone(), BTreeSet::new()))
        .collect();
    let tests = test_files(&files);
    for f in &files {
        let m = top(f);
        if !modules.contains(&m) || tests.contains(f) {
            continue;
        }
        let text = std::fs::read_to_string(f).unwrap();
        let code = non_test_code(&text);
        let mut names = named_modules(&code, &modules);
        names.remove(&m);
        g.get_mut(&m).unwrap().extend(names);
    }
    g
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct S<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut S<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on.insert(v);
        for w in &s.g[v] {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if s.on.contains(w) {
                let iw = s.index[w];
                let lv = s.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = s.stack.pop().unwrap();
                s.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                s.out.push(comp);
            }
        }
    }
    let mut s = S {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in g.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn the_parser_finds_paths_groups_and_cycles() {
    let modules: BTreeSet<String> = ["plan", "target", "meter", "record"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let code = "use crate::plan::Case;\nuse crate::{target::{Outcome, Processes}, record};\n\
                fn f() { crate::meter::cap::x(); crate::nothing::y(); }";
    let found: Vec<String> = named_modules(code, &modules).into_iter().collect();
    assert_eq!(found, ["meter", "plan", "record", "target"]);
    let g: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(cycles(&g), vec![vec!["a", "b", "c"]]);
}

#[test]
fn harness_modules_have_no_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph(&src);
    for (m, to) in &g {
        eprintln!(
            "{m} -> {}",
            to.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    assert!(
        g.len() > 10,
        "only {} modules found under {}",
        g.len(),
        src.display()
    );
    let found = cycles(&g);
    assert!(found.is_empty(), "module cycles: {found:?}");
}

#[test]
fn test_code_is_left_out_of_the_count() {
    let text = "use a;\n#[cfg(test)]\nmod tests;\nfn f() {\n}\n#[cfg(test)]\nmod tests {\n    \
                fn g() {\n    }\n}\nfn h() {}\n";
    assert_eq!(non_test_code(text), "use a;\nfn f() {\n}\nfn h() {}\n");
    assert_eq!(non_test_lines(text), 4);
    let files: Vec<PathBuf> = [
        "src/report/mod.rs",
        "src/report/tests.rs",
        "src/report/gap.rs",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    let dir = std::env::temp_dir().join(format!("gapbench-structure-{}", std::process::id()));
    let abs: Vec<PathBuf> = files.iter().map(|f| dir.join(f)).collect();
    std::fs::create_dir_all(dir.join("src/report")).unwrap();
    std::fs::write(&abs[0], "mod gap;\n#[cfg(test)]\nmod tests;\n").unwrap();
    std::fs::write(&abs[1], "").unwrap();
    std::fs::write(&abs[2], "#[cfg(test)]\nmod tests {}\n").unwrap();
    let found = test_files(&abs);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found, BTreeSet::from([abs[1].clone()]));
}

#[test]
fn no_source_file_is_over_600_lines_of_non_test_code() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for src in ["harness/src", "wasm-probe/src"] {
        rust_files(&root.join(src), &mut files);
    }
    let tests = test_files(&files);
    let mut over = Vec::new();
    for f in files.iter().filter(|f| !tests.contains(*f)) {
        let n = non_test_lines(&std::fs::read_to_string(f).unwrap());
        if n > MAX_LINES {
            over.push(format!(
                "{} ({n} lines)",
                f.strip_prefix(&root).unwrap().display()
            ));
        }
    }
    assert!(
        over.is_empty(),
        "over {MAX_LINES} lines of non-test code (split by job): {}",
        over.join(", ")
    );
}

/// Integration tests are listed by hand in harness/Cargo.toml (`[[test]]`, the files live in the
/// workspace's tests/); a file that is not listed never runs. Every `tests/*.rs` must be listed,
/// and every listed file must exist.
#[test]
fn every_test_file_is_a_test_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let manifest = std::fs::read_to_string(root.join("harness/Cargo.toml")).unwrap();
    let listed: BTreeSet<String> = manifest
        .lines()
        .filter_map(|l| l.trim().strip_prefix("path = \"../tests/"))
        .filter_map(|l| l.strip_suffix('"'))
        .map(str::to_string)
        .collect();
    let files: BTreeSet<String> = std::fs::read_dir(root.join("tests"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rs"))
        .collect();
    let unlisted: Vec<&String> = files.difference(&listed).collect();
    let missing: Vec<&String> = listed.difference(&files).collect();
    assert!(
        unlisted.is_empty() && missing.is_empty(),
        "tests/*.rs not listed as [[test]] in harness/Cargo.toml (they never run): {unlisted:?}; listed but missing: {missing:?}"
    );
    assert!(
        listed.len() >= 10,
        "the manifest's test list was not read: {listed:?}"
    );
}
