//! The shape of `src/`, checked: the rules ARCHITECTURE.md states, so that
//! they stay true as the code moves.
//!
//! - The top level holds the entry point, the command line and the folders.
//! - Every file opens with a `//!` saying what it owns.
//! - A folder imports only the folders below it (`LAYERS`), and no two
//!   modules import each other, directly or around a loop.
//! - Platform code (`cfg(unix)`, `cfg(windows)`, `target_os`, `std::os`)
//!   lives in `sys/` only; unit tests aside.
//! - No file is longer than `MAX_LINES`, except those in `LONG_FILES`, each
//!   with the reason it stays whole.
//!
//! The source is read as text: a reference is any `crate::a::b` or
//! `super::a` path outside a file's unit-test module.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The folders from the bottom up: each may import those before it, never
/// one after it. `main.rs` and `cli.rs` sit above them all.
const LAYERS: &[&str] = &["sys", "http", "fs", "dev", "serve", "net"];

/// Modules of a lower folder that another folder may not import even though
/// it sits above them: the file system side speaks HTTP's vocabulary
/// (errors, types, validators, dates) but never reads requests or writes
/// responses.
const FORBIDDEN: &[(&str, &str)] = &[
    ("fs", "http::request"),
    ("fs", "http::response"),
    ("fs", "http::sender"),
];

const MAX_LINES: usize = 520;

/// Files allowed past `MAX_LINES`, and why each should stay whole.
const LONG_FILES: &[(&str, &str)] = &[];

struct Module {
    /// `http::response`, `sys`, `main`.
    name: String,
    path: PathBuf,
    text: String,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn modules() -> Vec<Module> {
    let mut found = Vec::new();
    walk(&src(), &mut found);
    found.sort();
    found
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(src()).unwrap().with_extension("");
            let mut parts: Vec<String> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|last| last == "mod") {
                parts.pop();
            }
            let text = fs::read_to_string(&path).unwrap();
            Module {
                name: parts.join("::"),
                path,
                text,
            }
        })
        .collect()
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The text before the file's unit-test module: by this crate's habit the
/// tests sit at the bottom, behind `#[cfg(test)]` and a `mod` line. A file
/// that is a test module as a whole (declared behind `#[cfg(test)]` in its
/// parent) has no code in this sense.
fn code(module: &Module, test_only: &BTreeSet<String>) -> String {
    if test_only.contains(&module.name) {
        return String::new();
    }
    let lines: Vec<&str> = module.text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            is_test_cfg(lines[i])
                && lines.get(i + 1).is_some_and(|next| {
                    let next = next.trim_start();
                    // `mod tests`, `pub mod tests`, `pub(super) mod tests`.
                    let next = match next.strip_prefix("pub") {
                        Some(rest) if rest.starts_with('(') => {
                            rest.split_once(") ").map_or(next, |(_, r)| r)
                        }
                        Some(rest) => rest.trim_start(),
                        None => next,
                    };
                    next.starts_with("mod ")
                })
        })
        .unwrap_or(lines.len());
    lines[..end].join("\n")
}

/// `#[cfg(test)]`, or `#[cfg(all(test, ...))]` for a test of one platform.
fn is_test_cfg(line: &str) -> bool {
    let line = line.trim();
    line == "#[cfg(test)]" || line.starts_with("#[cfg(all(test,")
}

/// Modules declared behind `#[cfg(test)]` (`mod fuzz_tests;`).
fn test_only_modules(modules: &[Module]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for module in modules {
        let lines: Vec<&str> = module.text.lines().collect();
        for pair in lines.windows(2) {
            let declared = pair[1]
                .trim()
                .strip_prefix("mod ")
                .and_then(|r| r.strip_suffix(';'));
            if let (true, Some(child)) = (pair[0].trim() == "#[cfg(test)]", declared) {
                names.insert(child_name(&module.name, child));
            }
        }
    }
    names
}

fn child_name(parent: &str, child: &str) -> String {
    if parent == "main" {
        child.to_string()
    } else {
        format!("{parent}::{child}")
    }
}

/// Every module path `code` names through `crate::` or `super::`, resolved
/// to the longest known module it starts with.
fn references(module: &Module, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let is_mod_rs = module.path.file_name().is_some_and(|f| f == "mod.rs");
    let own: Vec<&str> = if module.name == "main" {
        vec![]
    } else {
        module.name.split("::").collect()
    };
    // The module `super` names from this file.
    let parent: Vec<&str> = match (is_mod_rs, own.len()) {
        (_, 0) => vec![],
        (true, n) if n > 1 => own[..n - 1].to_vec(),
        (true, _) => vec![],
        (false, n) => own[..n - 1].to_vec(),
    };
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    for (start, root) in ["crate::", "super::"]
        .iter()
        .flat_map(|r| code.match_indices(r).map(|(i, _)| (i, *r)))
    {
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            continue;
        }
        let rest = &code[start + root.len()..];
        let path: Vec<&str> = rest
            .split("::")
            .map(|part| {
                part.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or("")
            })
            .take_while(|part| !part.is_empty())
            .collect();
        let mut full: Vec<&str> = if root == "super::" {
            parent.clone()
        } else {
            vec![]
        };
        full.extend(path);
        for len in (1..=full.len()).rev() {
            let candidate = full[..len].join("::");
            if known.contains(&candidate) {
                if candidate != module.name {
                    found.insert(candidate);
                }
                break;
            }
        }
    }
    found
}

fn folder(name: &str) -> &str {
    name.split("::").next().unwrap()
}

fn rank(name: &str) -> usize {
    let top = folder(name);
    LAYERS
        .iter()
        .position(|l| *l == top)
        .unwrap_or(LAYERS.len())
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let modules = modules();
    let test_only = test_only_modules(&modules);
    let known: BTreeSet<String> = modules.iter().map(|m| m.name.clone()).collect();
    modules
        .iter()
        .map(|m| {
            let code = code(m, &test_only);
            (m.name.clone(), references(m, &code, &known))
        })
        .collect()
}

#[test]
fn the_top_level_holds_the_entry_point_and_the_folders() {
    let mut files = Vec::new();
    let mut folders = Vec::new();
    for entry in fs::read_dir(src()).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() {
            folders.push(name)
        } else {
            files.push(name)
        }
    }
    files.sort();
    folders.sort();
    assert_eq!(files, ["cli.rs", "main.rs"]);
    let mut layers: Vec<&str> = LAYERS.to_vec();
    layers.sort();
    assert_eq!(folders, layers);
}

#[test]
fn every_file_says_what_it_owns() {
    for module in modules() {
        assert!(
            module.text.starts_with("//!"),
            "{} does not open with a //! comment",
            module.path.display()
        );
    }
}

#[test]
fn folders_import_only_the_folders_below_them() {
    let mut wrong = Vec::new();
    for (from, to) in graph() {
        for target in to {
            let (a, b) = (folder(&from), folder(&target));
            if a == b || from == "main" || from == "cli" {
                continue;
            }
            let forbidden = FORBIDDEN
                .iter()
                .any(|(f, t)| *f == a && (target == *t || target.starts_with(&format!("{t}::"))));
            if target == "cli" || rank(&target) >= rank(&from) || forbidden {
                wrong.push(format!("{from} -> {target}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_module_imports_itself_around_a_loop() {
    let graph = graph();
    let mut cycles = Vec::new();
    // Depth-first search, colouring: 1 on the path, 2 finished.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        colour: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
        cycles: &mut Vec<String>,
    ) {
        colour.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match colour.get(next.as_str()).copied().unwrap_or(0) {
                0 => visit(next, graph, colour, path, cycles),
                1 => {
                    let from = path.iter().position(|p| p == next).unwrap();
                    cycles.push(format!("{} -> {next}", path[from..].join(" -> ")));
                }
                _ => {}
            }
        }
        path.pop();
        colour.insert(node.to_string(), 2);
    }
    let mut colour = BTreeMap::new();
    for node in graph.keys() {
        if !colour.contains_key(node.as_str()) {
            visit(node, &graph, &mut colour, &mut Vec::new(), &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn platform_code_lives_in_sys() {
    let patterns = [
        "cfg(unix",
        "cfg(windows",
        "cfg!(unix",
        "cfg!(windows",
        "target_os",
        "target_family",
        "std::os::",
        "portable)",
    ];
    let modules = modules();
    let test_only = test_only_modules(&modules);
    let mut wrong = Vec::new();
    for module in &modules {
        if folder(&module.name) == "sys" {
            continue;
        }
        for (number, line) in code(module, &test_only).lines().enumerate() {
            let line = line.split("//").next().unwrap_or("");
            if patterns.iter().any(|p| line.contains(p)) {
                wrong.push(format!(
                    "{}:{}: {}",
                    module.path.display(),
                    number + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "platform code outside sys/:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn files_stay_short_enough_to_read_whole() {
    let mut long = Vec::new();
    for module in modules() {
        let lines = module.text.lines().count();
        let relative = module
            .path
            .strip_prefix(src())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let excused = LONG_FILES.iter().any(|(file, _)| *file == relative);
        if lines > MAX_LINES && !excused {
            long.push(format!("{relative}: {lines} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines:\n{}",
        long.join("\n")
    );
}

/// The checker itself, on made-up text: a reference through `super::` in a
/// folder's file, one hidden in a test module, one inside a longer name.
#[test]
fn references_are_read_as_the_compiler_reads_them() {
    let known: BTreeSet<String> = [
        "http",
        "http::response",
        "http::date",
        "serve",
        "serve::files",
        "serve::guards",
    ]
    .map(String::from)
    .into();
    let module = Module {
        name: "serve::files".into(),
        path: src().join("serve/files.rs"),
        text: "//! x\nuse super::guards::Guard;\nuse crate::http::response::{Body, Response};\nfn f() { notcrate::http::date(); }\n#[cfg(test)]\nmod tests {\n    use crate::http::date;\n}\n".into(),
    };
    let code = code(&module, &BTreeSet::new());
    let found = references(&module, &code, &known);
    assert_eq!(
        found,
        ["http::response", "serve::guards"].map(String::from).into()
    );
}
