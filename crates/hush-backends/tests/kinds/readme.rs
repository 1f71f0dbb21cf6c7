//! The README lists every kind this build knows, in the table of keys and in the table of
//! capabilities, so a new kind cannot land undocumented.

use std::path::PathBuf;

fn readme() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The kinds of the table whose header row starts with `| kind | <second column> |`.
fn table_kinds(readme: &str, second_column: &str) -> Vec<String> {
    let header = format!("| kind | {second_column} |");
    let start = readme.find(&header).unwrap_or_else(|| panic!("README has no table starting {header:?}"));
    readme[start..]
        .lines()
        .skip(2)
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| line.split('|').nth(1))
        .map(|cell| cell.trim().trim_matches('`').to_owned())
        .collect()
}

#[test]
fn every_kind_has_its_rows_in_the_readme() {
    let readme = readme();
    let keys = table_kinds(&readme, "keys");
    let capabilities = table_kinds(&readme, "read");
    for kind in hush_backends::kind_names() {
        assert!(keys.iter().any(|k| k == kind), "README's table of kinds and keys has no row for {kind}: {keys:?}");
        assert!(
            capabilities.iter().any(|k| k == kind),
            "README's table of capabilities has no row for {kind}: {capabilities:?}"
        );
    }
    assert!(capabilities.len() >= 8, "{capabilities:?}");
}
