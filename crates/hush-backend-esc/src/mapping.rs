//! The key mapping (secret `NAME` ↔ top-level property `<prefix>NAME` of the opened
//! environment) and the value mapping (ESC's `{value, secret, ...}` wrappers → plain JSON →
//! bytes).

use hush_core::{SecretName, SecretValue};
use serde_json::Value;

/// The top-level property that holds secret `name`: `<prefix>NAME`. Tenant and namespace are
/// not part of it. Injective: one prefix, and names differ.
pub fn property_name(prefix: &str, name: &SecretName) -> String {
    format!("{prefix}{name}")
}

/// The secret a top-level property is, or `None` when it is not `<prefix>` followed by a
/// valid secret name (`[A-Za-z0-9_-]`, 1 to 128 bytes): such properties are left out.
pub fn secret_name(prefix: &str, property: &str) -> Option<SecretName> {
    SecretName::new(property.strip_prefix(prefix)?).ok()
}

/// A property's value as plain JSON, as the official SDKs' `convertPropertyToValue` makes it:
/// an object with a `value` key is an ESC `Value` wrapper and becomes its (unwrapped)
/// `value`; arrays and other objects are unwrapped element by element.
pub fn plain_json(value: Value) -> Value {
    match value {
        Value::Object(mut object) => match object.remove("value") {
            Some(inner) => plain_json(inner),
            None => Value::Object(object.into_iter().map(|(k, v)| (k, plain_json(v))).collect()),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(plain_json).collect()),
        other => other,
    }
}

/// The secret value of a property's plain JSON: a string is its UTF-8 bytes, anything else
/// (number, boolean, null, array, object) its compact JSON text.
pub fn value_bytes(plain: &Value) -> SecretValue {
    match plain {
        Value::String(text) => SecretValue::from(text.as_str()),
        other => SecretValue::new(other.to_string().into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn name(text: &str) -> SecretName {
        SecretName::new(text).unwrap()
    }

    #[test]
    fn names_map_both_ways() {
        for n in ["DB", "a-b_c", "X".repeat(128).as_str()] {
            assert_eq!(secret_name("", &property_name("", &name(n))), Some(name(n)));
            assert_eq!(secret_name("HUSH_", &property_name("HUSH_", &name(n))), Some(name(n)));
        }
        assert_eq!(property_name("HUSH_", &name("DB")), "HUSH_DB");
        assert_eq!(secret_name("HUSH_", "OTHER"), None);
        assert_eq!(secret_name("", "has.dot"), None);
        assert_eq!(secret_name("", "has space"), None);
        assert_eq!(secret_name("HUSH_", "HUSH_"), None);
    }

    #[test]
    fn wrappers_unwrap_like_the_sdk() {
        // An opened property as ESC returns it: every level wrapped.
        let property = json!({
            "value": {
                "host": {"value": "db.internal", "secret": false, "trace": {}},
                "ports": {"value": [{"value": 5432, "trace": {}}, {"value": 5433, "trace": {}}], "trace": {}},
                "password": {"value": "hunter2", "secret": true, "trace": {}},
                "tls": {"value": true, "trace": {}},
                "none": {"value": null, "trace": {}}
            },
            "trace": {"def": {"environment": "prod"}}
        });
        let plain = plain_json(property);
        assert_eq!(
            plain,
            json!({"host": "db.internal", "ports": [5432, 5433], "password": "hunter2", "tls": true, "none": null})
        );
        // Compact JSON (key order is serde_json's: sorted, or as received with preserve_order).
        let text = value_bytes(&plain);
        assert!(!text.expose().contains(&b' '), "{:?}", String::from_utf8_lossy(text.expose()));
        assert_eq!(serde_json::from_slice::<Value>(text.expose()).unwrap(), plain);
        assert_eq!(value_bytes(&plain_json(json!({"value": "s3cr3t", "secret": true}))).expose(), b"s3cr3t");
        assert_eq!(value_bytes(&plain_json(json!({"value": 42}))).expose(), b"42");
        assert_eq!(value_bytes(&plain_json(json!({"value": "é\"x"}))).expose(), "é\"x".as_bytes());
    }
}
