//! `HUSH_` environment variables as a figment provider that overrides the file.
//!
//! # Mapping
//!
//! `HUSH_CACHE__TTL=30s` sets `cache.ttl`: the prefix `HUSH_` is dropped, the rest is split
//! at `__`, and each part names one key. Only variables whose first part is one of the
//! top-level tables (`nats`, `keys`, `cache`, `resolver`, `backends`, `tenants`) are taken;
//! every other `HUSH_` variable (`HUSH_CONFIG`, `HUSH_GRANT`, `HUSH_TEST_POSTGRES_URL`) is
//! ignored, not an error.
//!
//! Variable names are upper case and cannot hold `-` or `.`, while backend names, tenant
//! ids and namespace keys may (`vault-main`, `company.team`). So each part is matched
//! against the keys the file already has at that place: a part matches a key whose name,
//! lower-cased with every `-` and `.` turned into `_`, equals the lower-cased part
//! (`VAULT_MAIN` matches `vault-main`, `COMPANY_TEAM` matches `"company.team"`); an exact
//! match wins over such a match. A part that matches no existing key becomes a new key, in
//! lower case: names created through the environment alone should therefore use `_`, not
//! `-` or `.`.
//!
//! # Values
//!
//! A value is taken as a string, and converted where a number or a boolean is expected
//! (`HUSH_CACHE__MAX_ENTRIES=500`, `HUSH_CACHE__ENABLED=false`), so a token made of digits
//! stays a string. A value starting with `[` or `{` is parsed as an array or a table
//! (`HUSH_KEYS__ISSUER_PUBLIC_KEYS=[a.pub, b.pub]`). Relative paths set through the
//! environment are resolved against the config file's directory, like those in the file.

use std::fmt;

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};

use crate::model::SECTIONS;

/// The `HUSH_` environment overrides, mapped onto the keys of a file (see the module docs).
#[derive(Clone)]
pub struct EnvOverrides {
    /// (variable name, key path, raw value), sorted by variable name.
    entries: Vec<(String, Vec<String>, String)>,
}

impl EnvOverrides {
    /// The prefix of every override variable.
    pub const PREFIX: &'static str = "HUSH_";

    /// The overrides found in this process's environment, mapped onto `file`.
    pub fn from_process(file: &Dict) -> Self {
        let vars = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Self::from_vars(vars, file)
    }

    /// The overrides among `vars` (name, value), mapped onto `file`.
    pub fn from_vars<I, K, V>(vars: I, file: &Dict) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut entries: Vec<_> = vars
            .into_iter()
            .filter_map(|(name, value)| {
                let name = name.into();
                let path = map_name(&name, file)?;
                Some((name, path, value.into()))
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Self { entries }
    }

    /// Each override as (variable name, key path it sets), for `hush config check`.
    pub fn applied(&self) -> impl Iterator<Item = (&str, String)> {
        self.entries.iter().map(|(name, path, _)| (name.as_str(), crate::problem::key_path(path)))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl fmt::Debug for EnvOverrides {
    /// Names the variables, never their values: they may be credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.entries.iter().map(|(name, _, _)| name)).finish()
    }
}

impl Provider for EnvOverrides {
    fn metadata(&self) -> Metadata {
        Metadata::named("`HUSH_` environment variables")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut root = Dict::new();
        for (_, path, raw) in &self.entries {
            insert_at(&mut root, path, parse_value(raw));
        }
        Ok(Profile::Default.collect(root))
    }
}

/// The key path a variable sets, or `None` when it is not an override.
fn map_name(name: &str, file: &Dict) -> Option<Vec<String>> {
    let rest = name.strip_prefix(EnvOverrides::PREFIX)?;
    let parts: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
    if parts.iter().any(String::is_empty) || !SECTIONS.contains(&parts[0].as_str()) {
        return None;
    }
    let mut level = Some(file);
    let mut path = Vec::with_capacity(parts.len());
    for part in parts {
        let key = level.and_then(|dict| matching_key(dict, &part)).unwrap_or(part);
        level = match level.and_then(|dict| dict.get(&key)) {
            Some(Value::Dict(_, inner)) => Some(inner),
            _ => None,
        };
        path.push(key);
    }
    Some(path)
}

/// The key of `dict` that the lower-case variable part `part` names: exact first, then
/// with `-` and `.` read as `_`, case-insensitively.
fn matching_key(dict: &Dict, part: &str) -> Option<String> {
    if dict.contains_key(part) {
        return Some(part.to_owned());
    }
    let normalise = |key: &str| key.to_ascii_lowercase().replace(['-', '.'], "_");
    dict.keys().find(|key| normalise(key) == part).cloned()
}

/// A variable's value: arrays and tables parsed, everything else a string.
fn parse_value(raw: &str) -> Value {
    let trimmed = raw.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        // Parsing is infallible: text that does not parse stays a string.
        raw.parse::<Value>().unwrap_or_else(|never| match never {})
    } else {
        Value::from(raw.to_owned())
    }
}

/// Sets `path` in `root` to `value`, creating tables on the way and replacing non-tables.
fn insert_at(root: &mut Dict, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut dict = root;
    for part in parents {
        let entry = dict.entry(part.clone()).or_insert_with(|| Value::from(Dict::new()));
        if !matches!(entry, Value::Dict(..)) {
            *entry = Value::from(Dict::new());
        }
        let Value::Dict(_, inner) = entry else { return };
        dict = inner;
    }
    dict.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::Format;

    fn file() -> Dict {
        let toml = r#"
            [backends.vault-main]
            kind = "vault"
            auth = { method = "token", token = "x" }
            [tenants.acme-corp.namespaces."company.team"]
            backend = "vault-main"
        "#;
        figment::Figment::from(figment::providers::Toml::string(toml)).extract().unwrap()
    }

    #[test]
    fn names_map_onto_existing_keys_with_dashes_and_dots() {
        let file = file();
        assert_eq!(
            map_name("HUSH_BACKENDS__VAULT_MAIN__AUTH__TOKEN", &file).unwrap(),
            ["backends", "vault-main", "auth", "token"]
        );
        assert_eq!(
            map_name("HUSH_TENANTS__ACME_CORP__NAMESPACES__COMPANY_TEAM__READ_ONLY", &file).unwrap(),
            ["tenants", "acme-corp", "namespaces", "company.team", "read_only"]
        );
        assert_eq!(map_name("HUSH_BACKENDS__NEW_ONE__KIND", &file).unwrap(), ["backends", "new_one", "kind"]);
        assert_eq!(map_name("HUSH_CACHE__TTL", &file).unwrap(), ["cache", "ttl"]);
    }

    #[test]
    fn other_hush_variables_are_ignored() {
        let file = file();
        for name in
            ["HUSH_CONFIG", "HUSH_GRANT", "HUSH_TEST_POSTGRES_URL", "HUSH_NATS_URL", "HUSH_CACHE____TTL", "PATH"]
        {
            assert_eq!(map_name(name, &file), None, "{name}");
        }
    }

    #[test]
    fn values_stay_strings_unless_arrays_or_tables() {
        assert_eq!(parse_value("12345"), Value::from("12345".to_owned()));
        assert_eq!(parse_value("30s"), Value::from("30s".to_owned()));
        let array = parse_value("[a.pub, b.pub]");
        assert!(matches!(array, Value::Array(_, ref items) if items.len() == 2), "{array:?}");
    }

    #[test]
    fn debug_names_variables_only() {
        let env = EnvOverrides::from_vars([("HUSH_BACKENDS__X__TOKEN", "hunter2")], &Dict::new());
        let shown = format!("{env:?}");
        assert!(shown.contains("HUSH_BACKENDS__X__TOKEN") && !shown.contains("hunter2"), "{shown}");
    }
}
