//! Paths into JSON secret values, in the Pulumi ESC property path syntax.
//!
//! ```text
//! path     := root { accessor }
//! root     := name | index
//! accessor := '.' name | index
//! index    := '[' ( digits | '*' | '"' { char | '\"' | '\\' } '"' ) ']'
//! name     := one or more characters other than '.', '[', ']', '"'
//! ```
//!
//! `credentials.password`, `servers[0]["host name"]`, `["root key"].x`, `servers[*].host`.
//! `[*]` is a wildcard over an array's elements or an object's values; `["*"]` is the literal
//! key `*`. A path with a wildcard yields the JSON array of what every match holds at the rest
//! of the path (matches without it are skipped). A path that does not parse is
//! [`PathError::Syntax`] with the byte offset; a path that does not match the value is
//! [`PathError::Missing`] naming the prefix that matched.

use std::fmt;

use crate::value::SecretValue;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
    /// `[*]`: every element of an array, or every value of an object.
    Wildcard,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretPath(Vec<PathSegment>);

/// Why a path failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path text does not parse.
    #[error("bad path at byte {at}: {message}")]
    Syntax {
        /// Byte offset of the problem.
        at: usize,
        /// What was expected.
        message: &'static str,
    },
    /// The secret value is not JSON, so a path cannot address it.
    #[error("the secret's value is not JSON, so path {path} cannot be applied")]
    NotJson {
        /// The path.
        path: String,
    },
    /// The value has nothing at the path.
    #[error("path {path} not found in the secret's value (matched up to {matched:?})")]
    Missing {
        /// The path.
        path: String,
        /// The longest prefix that matched, in path syntax.
        matched: String,
    },
}

/// Longest path accepted, in bytes.
const MAX_PATH_LEN: usize = 1024;

fn is_name_char(c: char) -> bool {
    !matches!(c, '.' | '[' | ']' | '"')
}

impl SecretPath {
    /// Parses path text.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        if text.is_empty() {
            return Err(PathError::Syntax { at: 0, message: "path is empty" });
        }
        if text.len() > MAX_PATH_LEN {
            return Err(PathError::Syntax { at: MAX_PATH_LEN, message: "path is longer than 1024 bytes" });
        }
        let bytes = text.as_bytes();
        let mut segments = Vec::new();
        let mut i = 0;
        let mut first = true;
        while i < bytes.len() {
            match bytes[i] {
                b'[' => {
                    let (segment, next) = parse_index(text, i)?;
                    segments.push(segment);
                    i = next;
                }
                b'.' if !first => {
                    let (name, next) = parse_name(text, i + 1)?;
                    segments.push(PathSegment::Key(name));
                    i = next;
                }
                _ if first => {
                    let (name, next) = parse_name(text, i)?;
                    segments.push(PathSegment::Key(name));
                    i = next;
                }
                _ => return Err(PathError::Syntax { at: i, message: "expected '.' or '['" }),
            }
            first = false;
        }
        Ok(SecretPath(segments))
    }

    /// The steps, outermost first.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// Builds a path from steps.
    pub fn from_segments(segments: Vec<PathSegment>) -> Self {
        SecretPath(segments)
    }

    /// Extracts the addressed part of a JSON value: a string as its text, anything else as
    /// compact JSON. With a wildcard, the JSON array of the matches.
    pub fn extract(&self, value: &SecretValue) -> Result<SecretValue, PathError> {
        let json: serde_json::Value =
            serde_json::from_slice(value.expose()).map_err(|_| PathError::NotJson { path: self.to_string() })?;
        Ok(match self.select(&json)? {
            serde_json::Value::String(s) => SecretValue::from(s.as_str()),
            other => SecretValue::new(other.to_string().into_bytes()),
        })
    }

    /// The addressed part of a JSON document, as JSON (for callers that answer in JSON and
    /// must keep a string apart from a nested object). With a wildcard, the array of the
    /// matches.
    pub fn select(&self, json: &serde_json::Value) -> Result<serde_json::Value, PathError> {
        let wildcard = self.0.iter().position(|segment| *segment == PathSegment::Wildcard);
        // Up to the first wildcard, every step must match.
        let mut current = json;
        for (n, segment) in self.0[..wildcard.unwrap_or(self.0.len())].iter().enumerate() {
            current = step(current, segment).ok_or_else(|| PathError::Missing {
                path: self.to_string(),
                matched: SecretPath(self.0[..n].to_vec()).to_string(),
            })?;
        }
        Ok(match wildcard {
            None => current.clone(),
            Some(at) => {
                let mut matches = vec![current];
                for segment in &self.0[at..] {
                    matches = match segment {
                        PathSegment::Wildcard => matches.into_iter().flat_map(children).collect(),
                        other => matches.into_iter().filter_map(|node| step(node, other)).collect(),
                    };
                }
                serde_json::Value::Array(matches.into_iter().cloned().collect())
            }
        })
    }
}

/// The child of `node` that a key or index names.
fn step<'a>(node: &'a serde_json::Value, segment: &PathSegment) -> Option<&'a serde_json::Value> {
    match (segment, node) {
        (PathSegment::Key(k), serde_json::Value::Object(map)) => map.get(k),
        (PathSegment::Index(i), serde_json::Value::Array(items)) => items.get(*i),
        _ => None,
    }
}

/// Every element of an array or value of an object (in key order); nothing for a scalar.
fn children(node: &serde_json::Value) -> Vec<&serde_json::Value> {
    match node {
        serde_json::Value::Array(items) => items.iter().collect(),
        serde_json::Value::Object(map) => map.values().collect(),
        _ => Vec::new(),
    }
}

fn parse_name(text: &str, start: usize) -> Result<(String, usize), PathError> {
    let end = text[start..].find(|c: char| !is_name_char(c)).map_or(text.len(), |n| start + n);
    if end == start {
        return Err(PathError::Syntax { at: start, message: "expected a property name" });
    }
    Ok((text[start..end].to_owned(), end))
}

fn parse_index(text: &str, open: usize) -> Result<(PathSegment, usize), PathError> {
    let bytes = text.as_bytes();
    let mut i = open + 1;
    match bytes.get(i) {
        Some(b'"') => {
            i += 1;
            let mut key = String::new();
            loop {
                let c =
                    text[i..].chars().next().ok_or(PathError::Syntax { at: i, message: "unterminated quoted key" })?;
                match c {
                    '"' => {
                        i += 1;
                        break;
                    }
                    '\\' => {
                        match bytes.get(i + 1) {
                            Some(b'"') => key.push('"'),
                            Some(b'\\') => key.push('\\'),
                            _ => {
                                return Err(PathError::Syntax {
                                    at: i,
                                    message: "only \\\" and \\\\ escapes are allowed",
                                });
                            }
                        }
                        i += 2;
                    }
                    c => {
                        key.push(c);
                        i += c.len_utf8();
                    }
                }
            }
            if bytes.get(i) != Some(&b']') {
                return Err(PathError::Syntax { at: i, message: "expected ']' after quoted key" });
            }
            Ok((PathSegment::Key(key), i + 1))
        }
        Some(b'*') => {
            if bytes.get(i + 1) != Some(&b']') {
                return Err(PathError::Syntax { at: i + 1, message: "expected ']' after '*'" });
            }
            Ok((PathSegment::Wildcard, i + 2))
        }
        Some(b) if b.is_ascii_digit() => {
            let end = text[i..].find(|c: char| !c.is_ascii_digit()).map_or(text.len(), |n| i + n);
            let index = text[i..end].parse().map_err(|_| PathError::Syntax { at: i, message: "index too large" })?;
            if bytes.get(end) != Some(&b']') {
                return Err(PathError::Syntax { at: end, message: "expected ']' after index" });
            }
            Ok((PathSegment::Index(index), end + 1))
        }
        _ => Err(PathError::Syntax { at: i, message: "expected a number, '*' or a quoted key after '['" }),
    }
}

impl fmt::Display for SecretPath {
    /// The canonical text: names in dotted form where they can be, else quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Key(k) if !k.is_empty() && k.chars().all(is_name_char) => {
                    if n > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                PathSegment::Key(k) => {
                    f.write_str("[\"")?;
                    for c in k.chars() {
                        if c == '"' || c == '\\' {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                    f.write_str("\"]")?;
                }
                PathSegment::Index(i) => write!(f, "[{i}]")?,
                PathSegment::Wildcard => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

impl std::str::FromStr for SecretPath {
    type Err = PathError;
    fn from_str(s: &str) -> Result<Self, PathError> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PathSegment::{Index, Key};
    use proptest::prelude::*;

    fn key(s: &str) -> PathSegment {
        Key(s.to_owned())
    }

    #[test]
    fn parses_the_esc_examples() {
        assert_eq!(SecretPath::parse("a.b").unwrap().segments(), [key("a"), key("b")]);
        assert_eq!(
            SecretPath::parse(r#"a.b[0]["key with \"quotes\""]"#).unwrap().segments(),
            [key("a"), key("b"), Index(0), key(r#"key with "quotes""#)]
        );
        assert_eq!(SecretPath::parse(r#"["root key"].x"#).unwrap().segments(), [key("root key"), key("x")]);
        assert_eq!(SecretPath::parse("[3]").unwrap().segments(), [Index(3)]);
        assert_eq!(SecretPath::parse(r#"["a\\b"]"#).unwrap().segments(), [key(r"a\b")]);
    }

    /// Every example of Pulumi's property path documentation (which the External Secrets
    /// Operator's Pulumi provider points to) parses, and prints back as written.
    #[test]
    fn every_pulumi_documentation_example_parses() {
        let examples = [
            "root",
            "root.nested",
            r#"root["nested"]"#,
            "root.double.nest",
            r#"root["double"].nest"#,
            r#"root["double"]["nest"]"#,
            "root.array[0]",
            "root.array[100]",
            "root.array[0].nested",
            "root.array[0][1].nested",
            "root.nested.array[0].double[1]",
            r#"root["key with \"escaped\" quotes"]"#,
            r#"root["key with a ."]"#,
            r#"["root key with \"escaped\" quotes"].nested"#,
            r#"["root key with a ."][100]"#,
            "root.array[*].field",
            r#"root.array["*"].field"#,
        ];
        for example in examples {
            let path = SecretPath::parse(example).unwrap_or_else(|e| panic!("{example}: {e}"));
            let again = SecretPath::parse(&path.to_string()).unwrap();
            assert_eq!(again, path, "{example} prints as {path}");
        }
        assert_eq!(SecretPath::parse("root.array[*].field").unwrap().segments()[2], PathSegment::Wildcard);
        assert_eq!(SecretPath::parse(r#"root.array["*"].field"#).unwrap().segments()[2], key("*"));
    }

    #[test]
    fn a_wildcard_yields_the_array_of_matches() {
        let value = SecretValue::from(
            r#"{"root":{"array":[{"field":"a"},{"other":1},{"field":{"x":2}}],"map":{"k1":{"field":"m1"},"k2":{"field":"m2"}},"literal":{"*":{"field":"star"}}}}"#,
        );
        let get = |p: &str| SecretPath::parse(p).unwrap().extract(&value);
        assert_eq!(get("root.array[*].field").unwrap().expose(), br#"["a",{"x":2}]"#);
        assert_eq!(get("root.map[*].field").unwrap().expose(), br#"["m1","m2"]"#);
        assert_eq!(get(r#"root.literal["*"].field"#).unwrap().expose(), b"star");
        assert_eq!(get("root.array[*]").unwrap().expose(), br#"[{"field":"a"},{"other":1},{"field":{"x":2}}]"#);
        assert_eq!(get("root.array[*][*]").unwrap().expose(), br#"["a",1,{"x":2}]"#);
        assert_eq!(get("root.array[*].nothing").unwrap().expose(), b"[]");
        assert_eq!(
            get("root.missing[*].field"),
            Err(PathError::Missing { path: "root.missing[*].field".into(), matched: "root".into() })
        );
    }

    #[test]
    fn syntax_errors_say_where() {
        for (bad, at) in [
            ("", 0),
            ("a.", 2),
            (".a", 0),
            ("a..b", 2),
            ("a[", 2),
            ("a[x]", 2),
            ("a[1", 3),
            (r#"a["x"#, 4),
            (r#"a["x"y]"#, 5),
            ("a]", 1),
            (r#"a["\n"]"#, 3),
            ("a[*", 3),
            ("a[**]", 3),
        ] {
            match SecretPath::parse(bad) {
                Err(PathError::Syntax { at: got, .. }) => assert_eq!(got, at, "for {bad:?}"),
                other => panic!("{bad:?} parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn extracts_strings_raw_and_the_rest_as_json() {
        let value =
            SecretValue::from(r#"{"credentials":{"password":"p4ss","port":5432},"servers":[{"host name":"db1"}]}"#);
        let get = |p: &str| SecretPath::parse(p).unwrap().extract(&value);
        assert_eq!(get("credentials.password").unwrap().expose(), b"p4ss");
        assert_eq!(get("credentials.port").unwrap().expose(), b"5432");
        assert_eq!(get(r#"servers[0]["host name"]"#).unwrap().expose(), b"db1");
        assert_eq!(get("servers[0]").unwrap().expose(), br#"{"host name":"db1"}"#);
        assert_eq!(
            get("servers[1].x"),
            Err(PathError::Missing { path: "servers[1].x".into(), matched: "servers".into() })
        );
        assert!(matches!(get("credentials[0]"), Err(PathError::Missing { .. })));
        let plain = SecretValue::from("not json");
        assert!(matches!(SecretPath::parse("a").unwrap().extract(&plain), Err(PathError::NotJson { .. })));
    }

    fn segment() -> impl Strategy<Value = PathSegment> {
        prop_oneof![
            any::<String>().prop_map(PathSegment::Key),
            (0usize..10_000).prop_map(PathSegment::Index),
            Just(PathSegment::Wildcard),
        ]
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(segments in proptest::collection::vec(segment(), 1..6)) {
            let path = SecretPath::from_segments(segments);
            let text = path.to_string();
            prop_assume!(text.len() <= MAX_PATH_LEN);
            prop_assert_eq!(SecretPath::parse(&text).unwrap(), path);
        }

        #[test]
        fn parse_never_panics(text in ".{0,64}") {
            let _ = SecretPath::parse(&text);
        }

        #[test]
        fn extract_never_panics(text in r#"[a-z.\[\]"0-9\\*]{1,16}"#) {
            if let Ok(path) = SecretPath::parse(&text) {
                let _ = path.extract(&SecretValue::from(r#"{"a":[{"b":1}],"c":"d"}"#));
            }
        }
    }
}
