//! How a value is held in a KV entry, and how any entry reads back as a value.
//!
//! hush writes one field: `value` holding the value as text when it is UTF-8, else
//! `value_base64` holding it in standard base64 (padded). A read turns an entry back into a
//! value:
//!
//! - exactly one field, `value`, holding a string: that string's bytes;
//! - exactly one field, `value_base64`, holding a string: its base64 decoding;
//! - anything else (an entry written by someone else with several fields, one field of
//!   another name, or non-string data): the whole entry as compact JSON, so a path such as
//!   `secret("DB", "password")` picks one field out of it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hush_core::{Error, ErrorKind, Result, SecretValue};
use serde_json::{Map, Value};

/// The field holding a UTF-8 value.
pub const VALUE_FIELD: &str = "value";
/// The field holding a value that is not UTF-8, in standard base64.
pub const VALUE_BASE64_FIELD: &str = "value_base64";

/// The KV entry hush writes for `value`.
pub(crate) fn entry_for(value: &SecretValue) -> Map<String, Value> {
    let mut entry = Map::with_capacity(1);
    match value.expose_str() {
        Some(text) => entry.insert(VALUE_FIELD.to_owned(), Value::String(text.to_owned())),
        None => entry.insert(VALUE_BASE64_FIELD.to_owned(), Value::String(STANDARD.encode(value.expose()))),
    };
    entry
}

/// The value an entry's `data` reads as (see the module doc). `None` for no data (a
/// deleted version).
pub(crate) fn value_of(data: Value) -> Result<Option<SecretValue>> {
    let map = match data {
        Value::Null => return Ok(None),
        Value::Object(map) => map,
        other => return Ok(Some(json_value(&other)?)),
    };
    if map.len() == 1 {
        match map.iter().next() {
            Some((field, Value::String(text))) if field == VALUE_FIELD => {
                return Ok(Some(SecretValue::new(text.as_bytes().to_vec())));
            }
            Some((field, Value::String(text))) if field == VALUE_BASE64_FIELD => {
                let decoded = STANDARD.decode(text.as_bytes()).map_err(|_| {
                    Error::new(ErrorKind::Internal, format!("the entry's {VALUE_BASE64_FIELD} field is not base64"))
                })?;
                return Ok(Some(SecretValue::new(decoded)));
            }
            _ => {}
        }
    }
    Ok(Some(json_value(&Value::Object(map))?))
}

fn json_value(data: &Value) -> Result<SecretValue> {
    serde_json::to_vec(data)
        .map(SecretValue::new)
        .map_err(|_| Error::new(ErrorKind::Internal, "the entry does not serialise as JSON"))
}

#[cfg(test)]
mod tests {
    use hush_core::SecretPath;
    use serde_json::json;

    use super::*;

    fn read(data: Value) -> Vec<u8> {
        value_of(data).unwrap().unwrap().expose().to_vec()
    }

    #[test]
    fn utf8_values_are_text_and_others_base64() {
        let entry = entry_for(&SecretValue::from("pässwörd"));
        assert_eq!(Value::Object(entry.clone()), json!({"value": "pässwörd"}));
        assert_eq!(read(Value::Object(entry)), "pässwörd".as_bytes());
        let bytes = vec![0u8, 0xff, 0xfe, 0x80];
        let entry = entry_for(&SecretValue::new(bytes.clone()));
        assert_eq!(Value::Object(entry.clone()), json!({"value_base64": "AP/+gA=="}));
        assert_eq!(read(Value::Object(entry)), bytes);
        assert_eq!(read(json!({"value": ""})), b"");
    }

    #[test]
    fn other_entries_read_as_their_json() {
        let data = json!({"username": "app", "password": "hunter2"});
        let value = value_of(data).unwrap().unwrap();
        let path = SecretPath::parse("password").unwrap();
        assert_eq!(path.extract(&value).unwrap().expose(), b"hunter2");
        assert_eq!(read(json!({"password": "x"})), br#"{"password":"x"}"#);
        assert_eq!(read(json!({"value": 42})), br#"{"value":42}"#);
        assert_eq!(read(json!({"value": "a", "other": "b"})), br#"{"other":"b","value":"a"}"#);
        assert!(value_of(Value::Null).unwrap().is_none());
    }

    #[test]
    fn bad_base64_is_an_error_without_the_content() {
        let err = value_of(json!({"value_base64": "not base64 at all!"})).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert!(!err.to_string().contains("not base64 at all"));
    }
}
