//! The module map holds: data flows one way through the layers of
//! DESIGN.md and STYLE.md, no module imports one to its right, no two
//! modules import each other (directly or round a loop), and the
//! knowledge tables are read only where text is written.
//!
//! The graph is read from the source: every `crate::` and `super::` path
//! outside `#[cfg(test)]` code and comments, resolved to the module file
//! it names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests may panic: that is how they fail

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every module of the crate with its source (test code cut off).
fn modules() -> BTreeMap<Module, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut mods = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&root).unwrap().with_extension("");
        let mut m: Module = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if matches!(m.last().map(String::as_str), Some("mod" | "lib" | "main")) {
            m.pop();
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let code = match text.find("#[cfg(test)]") {
            Some(i) => &text[..i],
            None => &text[..],
        };
        // Comments (doc links included) are not imports.
        let code: String = code
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        mods.insert(m, code);
    }
    mods
}

/// The identifiers of a path starting at byte `i` of `s`: `a::b::c`, or
/// the first names of each item of a `{a::b, c}` group.
fn paths_at(s: &str, i: usize) -> Vec<Vec<String>> {
    let rest = &s[i..];
    if let Some(group) = rest.strip_prefix('{') {
        let end = group.find('}').unwrap_or(group.len());
        return group[..end]
            .split(',')
            .map(|item| {
                item.trim()
                    .split("::")
                    .map(|p| p.trim().to_string())
                    .take_while(|p| {
                        !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_')
                    })
                    .collect()
            })
            .collect();
    }
    let mut parts = Vec::new();
    let mut rest = rest;
    loop {
        let n = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if n == 0 {
            break;
        }
        parts.push(rest[..n].to_string());
        match rest[n..].strip_prefix("::") {
            Some(r) if !r.starts_with('{') => rest = r,
            _ => break,
        }
    }
    vec![parts]
}

/// Module-to-module edges: (importer, imported), both modules of the map,
/// leaving out a module's use of its own ancestors and descendants.
fn edges(mods: &BTreeMap<Module, String>) -> BTreeSet<(Module, Module)> {
    let mut out = BTreeSet::new();
    for (m, code) in mods {
        for (prefix, base) in [
            ("crate::", Vec::new()),
            ("super::", m[..m.len().saturating_sub(1)].to_vec()),
        ] {
            let mut from = 0;
            while let Some(k) = code[from..].find(prefix) {
                let at = from + k;
                from = at + prefix.len();
                // `super::` inside a longer path (`crate::a::super::`) or
                // a word ending in it are not imports of this form.
                if at > 0 && code.as_bytes()[at - 1].is_ascii_alphanumeric() {
                    continue;
                }
                for p in paths_at(code, from) {
                    let mut full = base.clone();
                    full.extend(p);
                    // The longest prefix that is a module.
                    let target = (1..=full.len())
                        .rev()
                        .map(|n| full[..n].to_vec())
                        .find(|t| mods.contains_key(t));
                    if let Some(t) = target {
                        let related = m.starts_with(&t) || t.starts_with(m);
                        if !related {
                            out.insert((m.clone(), t));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Edges between the ancestors of `a` and `b` that are siblings.
fn sibling_edge(a: &Module, b: &Module) -> (Module, Module) {
    let common = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    (a[..=common].to_vec(), b[..=common].to_vec())
}

fn name(m: &Module) -> String {
    m.join("::")
}

#[test]
fn no_module_imports_itself_round_a_loop() {
    let mods = modules();
    let mut graph: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (a, b) in edges(&mods) {
        let (a, b) = sibling_edge(&a, &b);
        graph.entry(a).or_default().insert(b);
    }
    // Depth-first search for a back edge.
    fn visit(
        m: &Module,
        graph: &BTreeMap<Module, BTreeSet<Module>>,
        state: &mut BTreeMap<Module, bool>,
        stack: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        match state.get(m) {
            Some(true) => return None,
            Some(false) => {
                let i = stack.iter().position(|s| s == m).unwrap_or(0);
                let mut cycle = stack[i..].to_vec();
                cycle.push(m.clone());
                return Some(cycle);
            }
            None => {}
        }
        state.insert(m.clone(), false);
        stack.push(m.clone());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(m.clone(), true);
        None
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        if let Some(cycle) = visit(m, &graph, &mut state, &mut Vec::new()) {
            let names: Vec<String> = cycle.iter().map(name).collect();
            panic!("import cycle: {}", names.join(" -> "));
        }
    }
    assert!(
        graph.len() > 10,
        "the scan found too few modules: {graph:?}"
    );
}

/// The top-level modules, lowest layer first: each may import only
/// modules before it.
const LAYERS: &[&str] = &[
    "vocab",
    "limits",
    "knowledge",
    "capture",
    "decode",
    "flow",
    "analyzers",
    "engine",
    "diagnose",
    "report",
    "cli",
];

#[test]
fn data_flows_one_way_through_the_layers() {
    let mods = modules();
    let rank = |m: &Module| {
        LAYERS
            .iter()
            .position(|l| m.first().is_some_and(|f| f == l))
    };
    let mut wrong = Vec::new();
    for (a, b) in edges(&mods) {
        let (Some(ra), Some(rb)) = (rank(&a), rank(&b)) else {
            continue;
        };
        if ra < rb && a.first() != b.first() {
            wrong.push(format!("{} imports {}", name(&a), name(&b)));
        }
    }
    for m in mods.keys() {
        let top = m.first().map(String::as_str);
        assert!(
            m.is_empty() || top.is_some_and(|t| LAYERS.contains(&t) || t == "main"),
            "module {} is in no layer of LAYERS",
            name(m)
        );
    }
    assert!(wrong.is_empty(), "imports against the layers: {wrong:#?}");
}

#[test]
fn verdicts_and_reports_do_not_drive_the_engine() {
    // The engine runs the pipeline; diagnose and the report read what it
    // produced (the flow layer's `CaptureResult`), not the engine itself.
    let mods = modules();
    let wrong: Vec<String> = edges(&mods)
        .into_iter()
        .filter(|(a, b)| {
            b.first().is_some_and(|f| f == "engine")
                && a.first().is_some_and(|f| f == "report" || f == "diagnose")
        })
        .map(|(a, b)| format!("{} imports {}", name(&a), name(&b)))
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn knowledge_is_read_only_where_text_is_written() {
    let mods = modules();
    let readers = ["diagnose", "report", "cli", "knowledge"];
    let wrong: Vec<String> = edges(&mods)
        .into_iter()
        .filter(|(a, b)| {
            b.first().is_some_and(|f| f == "knowledge")
                && !a.first().is_some_and(|f| readers.contains(&f.as_str()))
        })
        .map(|(a, b)| format!("{} imports {}", name(&a), name(&b)))
        .collect();
    assert!(
        wrong.is_empty(),
        "knowledge read outside diagnose and report: {wrong:#?}"
    );
}

#[test]
fn the_scan_sees_imports() {
    // The checks above pass trivially if the scan finds nothing.
    let mods = modules();
    let e = edges(&mods);
    let has = |a: &str, b: &str| {
        e.iter()
            .any(|(x, y)| name(x).starts_with(a) && name(y).starts_with(b))
    };
    assert!(has("diagnose", "knowledge"), "{e:#?}");
    assert!(has("flow", "decode"));
    assert!(has("report::text", "report::spool"));
}
