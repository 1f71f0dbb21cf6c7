//! Config problems from deserialisation errors: [`ConfigProblem`] itself is hush-core's,
//! shared with the backend kinds.
//!
//! Messages never repeat a configured value: a type error says "found a string", not which
//! string, because the string may be a token.

use figment::error::{Actual, Kind};
pub use hush_core::{ConfigProblem, key_path};

/// A problem from a deserialisation error at `parts` (the error's own path appended).
pub(crate) fn from_figment(parts: &[String], error: &figment::Error) -> ConfigProblem {
    ConfigProblem::new(parts, describe_kind(&error.kind))
}

/// A deserialisation error kind as a message that does not repeat the value.
pub(crate) fn describe_kind(kind: &Kind) -> String {
    match kind {
        Kind::Message(message) => message.clone(),
        Kind::InvalidType(actual, expected) | Kind::InvalidValue(actual, expected) => {
            let mut message = match kind {
                Kind::InvalidType(..) => format!("expected {expected}, found {}", describe_actual(actual)),
                _ => format!("invalid value ({}), expected {expected}", describe_actual(actual)),
            };
            if expected.contains("duration") {
                message.push_str("; durations are strings such as \"60s\", \"15m\" or \"24h\"");
            }
            message
        }
        Kind::InvalidLength(len, expected) => format!("expected {expected}, found {len} elements"),
        Kind::UnknownVariant(found, expected) => {
            format!("unknown variant {found:?}; expected one of: {}", expected.join(", "))
        }
        Kind::UnknownField(found, expected) => match suggest(found, expected) {
            Some(near) => format!("unknown key (did you mean {near:?}?)"),
            None => "unknown key".to_owned(),
        },
        Kind::MissingField(field) => format!("missing key {field:?}"),
        Kind::DuplicateField(field) => format!("key {field:?} appears twice"),
        Kind::ISizeOutOfRange(_) | Kind::USizeOutOfRange(_) => "number out of range".to_owned(),
        Kind::Unsupported(actual) => format!("unsupported value: {}", describe_actual(actual)),
        Kind::UnsupportedKey(actual, expected) => {
            format!("unsupported key: {}, expected {expected}", describe_actual(actual))
        }
    }
}

/// What kind of value was found, without the value itself.
fn describe_actual(actual: &Actual) -> String {
    match actual {
        Actual::Bool(_) => "a boolean".to_owned(),
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer".to_owned(),
        Actual::Float(_) => "a float".to_owned(),
        Actual::Char(_) | Actual::Str(_) => "a string".to_owned(),
        Actual::Bytes(_) => "bytes".to_owned(),
        Actual::Seq => "an array".to_owned(),
        Actual::Map => "a table".to_owned(),
        Actual::Other(_) => "another value".to_owned(),
        other => other.to_string(),
    }
}

/// The expected key nearest to `found` (edit distance at most 2), if any.
fn suggest<'a>(found: &str, expected: &[&'a str]) -> Option<&'a str> {
    expected
        .iter()
        .map(|candidate| (edit_distance(found, candidate), *candidate))
        .filter(|(distance, _)| *distance <= 2)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// A parse error of the input as text that names the line and the problem but leaves out
/// the source excerpt the TOML parser quotes (that line may hold a credential).
pub(crate) fn describe_parse_error(error: &figment::Error) -> String {
    let text = describe_kind(&error.kind);
    let kept: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with('|')
                && !line.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start().starts_with('|')
        })
        .collect();
    kept.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_errors_do_not_repeat_the_value() {
        let kind = Kind::InvalidType(Actual::Str("hunter2".into()), "u32".into());
        let message = describe_kind(&kind);
        assert_eq!(message, "expected u32, found a string");
    }

    #[test]
    fn unknown_keys_suggest_the_nearest() {
        assert_eq!(
            describe_kind(&Kind::UnknownField("ttl_".into(), &["enabled", "ttl", "negative_ttl"])),
            "unknown key (did you mean \"ttl\"?)"
        );
        assert_eq!(describe_kind(&Kind::UnknownField("zzzzzz".into(), &["ttl"])), "unknown key");
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
