//! House rules of STYLE.md, checked on every test run (rust-analyzer's tidy tests): every Rust
//! file starts with a `//!` doc, library crates deny missing docs, and no test is ignored or
//! expected to panic.

use std::path::{Path, PathBuf};
use std::process::Command;

fn tracked_rust_files(root: &Path) -> Vec<PathBuf> {
    let output = Command::new("git").args(["ls-files", "*.rs"]).current_dir(root).output();
    match output {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).lines().map(|line| root.join(line)).collect()
        }
        _ => Vec::new(),
    }
}

#[test]
fn house_rules_hold_in_every_rust_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_owned();
    let files = tracked_rust_files(&root);
    if files.is_empty() {
        return hush_e2e::skip("not a git checkout, or git is missing: cannot list the tracked files");
    }
    let ignore = ["#[", "ignore]"].concat();
    let should_panic = ["#[", "should_panic"].concat();
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let shown = file.strip_prefix(&root).unwrap_or(file).display();
        if !text.starts_with("//!") {
            broken.push(format!("{shown}: does not start with a `//!` doc"));
        }
        let attribute = |name: &str| text.lines().any(|line| line.trim_start().starts_with(name));
        if attribute(&ignore) {
            broken.push(format!("{shown}: ignores a test; print `skipped: <reason>` instead"));
        }
        if attribute(&should_panic) {
            broken.push(format!("{shown}: expects a panic; assert the Err instead"));
        }
        let is_library_root = file.ends_with("src/lib.rs") || file.ends_with("benches/lib.rs");
        if is_library_root && !text.contains("#![deny(missing_docs)]") {
            broken.push(format!("{shown}: a library crate must deny missing docs"));
        }
    }
    assert!(broken.is_empty(), "house rules broken:\n{}", broken.join("\n"));
    assert!(files.len() > 50, "the check saw the tree ({} files)", files.len());
}

/// The workspace root.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_owned()
}

/// ARCHITECTURE.md's "Code map" section.
fn code_map(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md is readable");
    let start = text.find("## Code map").expect("ARCHITECTURE.md has a Code map");
    let rest = &text[start + 2..];
    let end = rest.find("\n## ").map_or(rest.len(), |i| i + 1);
    rest[..end].to_owned()
}

/// Every `backticked` token of `text`.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// Each workspace package with its normal (not dev, not build) dependencies inside the workspace.
fn workspace_dependencies(root: &Path) -> Vec<(String, Vec<String>)> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let names: Vec<String> = packages.iter().filter_map(|p| p["name"].as_str().map(str::to_owned)).collect();
    packages
        .iter()
        .map(|package| {
            let dependencies = package["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .filter(|d| names.iter().any(|n| n == d))
                .map(str::to_owned)
                .collect();
            (package["name"].as_str().unwrap_or_default().to_owned(), dependencies)
        })
        .collect()
}

#[test]
fn crates_depend_only_on_crates_the_code_map_lists_above_them() {
    let root = workspace_root();
    let map = code_map(&root);
    let packages = workspace_dependencies(&root);
    // The rank of each package: the index of the first code-map heading naming it;
    // `hush-backend-<kind>` ranks every backend crate no heading of its own names.
    let headings: Vec<Vec<&str>> =
        map.lines().filter(|line| line.starts_with("### ")).map(|line| backticked(line)).collect();
    let rank = |package: &str| -> Option<usize> {
        headings.iter().position(|names| names.contains(&package)).or_else(|| {
            package
                .starts_with("hush-backend-")
                .then(|| headings.iter().position(|n| n.contains(&"hush-backend-<kind>")))?
        })
    };
    let mut broken = Vec::new();
    for (package, dependencies) in &packages {
        let Some(own) = rank(package) else {
            broken.push(format!("{package}: not in ARCHITECTURE.md's code map"));
            continue;
        };
        for dependency in dependencies {
            match rank(dependency) {
                Some(theirs) if theirs < own => {}
                _ => {
                    broken.push(format!("{package} depends on {dependency}, which the code map does not list above it"))
                }
            }
        }
    }
    for names in &headings {
        for name in names.iter().filter(|n| n.starts_with("hush") && !n.contains('<')) {
            if !packages.iter().any(|(package, _)| package == name) {
                broken.push(format!("the code map names crate {name}, which the workspace does not have"));
            }
        }
    }
    assert!(broken.is_empty(), "crate order broken:\n{}", broken.join("\n"));
    assert!(packages.len() > 15, "the check saw the workspace ({} packages)", packages.len());
}

#[test]
fn every_file_and_item_the_code_map_names_exists() {
    let root = workspace_root();
    let files = tracked_rust_files(&root);
    if files.is_empty() {
        return hush_e2e::skip("not a git checkout, or git is missing: cannot list the tracked files");
    }
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|f| (f.to_string_lossy().into_owned(), std::fs::read_to_string(f).unwrap_or_default()))
        .collect();
    // Named in the code: a whole word of some tracked Rust file (a definition, a macro's
    // argument, or a vendor name the code uses). A renamed or removed item is in none.
    let defines = |item: &str| {
        let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        sources.iter().any(|(_, text)| {
            text.match_indices(item)
                .any(|(i, _)| !text[..i].ends_with(is_word) && !text[i + item.len()..].starts_with(is_word))
        })
    };
    let map = code_map(&root);
    let mut missing = Vec::new();
    let mut checked = 0;
    for token in backticked(&map) {
        let token = token.trim_end_matches("()");
        if let Some(file) = token.strip_suffix(".rs").map(|_| token) {
            checked += 1;
            if !sources.iter().any(|(path, _)| path.ends_with(&format!("/{file}"))) {
                missing.push(format!("file {file}"));
            }
        } else if token.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && token.chars().all(|c| c.is_ascii_alphanumeric())
            && token.chars().any(|c| c.is_ascii_lowercase())
        {
            checked += 1;
            if !defines(token) {
                missing.push(format!("item {token}"));
            }
        } else if let Some((_, item)) = token.rsplit_once("::")
            && !item.is_empty()
            && item.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            checked += 1;
            if !defines(item) {
                missing.push(format!("item {token}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map names what the code does not have:\n{}",
        missing.join("\n")
    );
    assert!(checked > 40, "the check saw the code map ({checked} names)");
}
