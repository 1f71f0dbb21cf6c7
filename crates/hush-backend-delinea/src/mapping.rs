//! The key mapping: (tenant, namespace, name) ↔ one Secret Server secret name, injective and
//! inverted by [`parse_secret_name`]; and the value mapping (bytes ↔ a field's text, a
//! secret's fields ↔ a JSON object of slugs).
//!
//! Secret `DB_PASSWORD` of tenant `acme`, namespace `company.team` is the secret named
//! `acme.company.team.DB_PASSWORD` in the configured folder:
//!
//! ```text
//! <tenant>.<namespace segments joined by '.'>.<NAME>
//! ```
//!
//! **Why it is injective without escaping.** Tenants, namespace segments and names are
//! `[A-Za-z0-9_-]` (validated in `hush-core`), so none holds a `.`, and a namespace has at
//! least one segment. Cut a name at every `.`: the first part is the tenant, the last the
//! name, and the parts between are the namespace's segments, in order. [`parse_secret_name`]
//! is the inverse; a property test checks both. hush compares names exactly (case-sensitive);
//! Secret Server's search does not, so hush exact-matches what the search finds.

use hush_core::{Scope, SecretName};
use serde_json::{Map, Value};

/// `<tenant>.<segment>. ... .<segment>.`: what the name of every secret of `scope` starts
/// with; the names of its descendants' secrets start with it too.
pub fn namespace_prefix(scope: &Scope) -> String {
    scope.joined_folder('.')
}

/// The Secret Server name of secret `name` in `scope` (see the module documentation).
/// Injective.
pub fn secret_name(scope: &Scope, name: &SecretName) -> String {
    scope.joined_key(name, '.')
}

/// The scope and name a Secret Server name maps back to, or `None` when it is not one hush
/// uses (such secrets are left out of lists).
pub fn parse_secret_name(text: &str) -> Option<(Scope, SecretName)> {
    Scope::split_joined_key(text, '.')
}

/// The JSON object `{"<slug>": "<itemValue>", ...}` of a secret's `items` (Secret Server's
/// `[{slug, itemValue, isFile, ...}]`): every field but file attachments, sorted by slug, an
/// empty field as `""`. What a secret of another template than hush's reads as.
pub fn fields_object(items: &[Value]) -> Value {
    let mut fields = Map::new();
    for item in items {
        if item.get("isFile").and_then(Value::as_bool).unwrap_or(false) {
            continue;
        }
        let Some(slug) = item.get("slug").and_then(Value::as_str) else { continue };
        let value = item.get("itemValue").and_then(Value::as_str).unwrap_or_default();
        fields.insert(slug.to_owned(), Value::String(value.to_owned()));
    }
    Value::Object(fields)
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::keys::{self, name, scope};
    use hush_core::{SecretPath, SecretValue};
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_documented_example() {
        let text = secret_name(&scope("acme", "company.team"), &name("DB_PASSWORD"));
        assert_eq!(text, "acme.company.team.DB_PASSWORD");
        assert_eq!(parse_secret_name(&text), Some((scope("acme", "company.team"), name("DB_PASSWORD"))));
        assert_eq!(namespace_prefix(&scope("acme", "a")), "acme.a.");
    }

    #[test]
    fn foreign_names_do_not_parse() {
        for foreign in ["Domain Admin", "prod-db", "acme.N", "acme..N", "acme.a.", ".a.N", "ac me.a.N", "a.b.c d"] {
            assert_eq!(parse_secret_name(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn fields_are_an_object_of_slugs_that_paths_address() {
        let items = [
            json!({"fieldId": 1, "slug": "username", "itemValue": "admin", "isFile": false}),
            json!({"fieldId": 2, "slug": "password", "itemValue": "hunter2", "isFile": false, "isPassword": true}),
            json!({"fieldId": 3, "slug": "notes", "itemValue": null, "isFile": false}),
            json!({"fieldId": 4, "slug": "cert", "itemValue": "*** Not Valid For Display ***", "isFile": true}),
        ];
        let object = fields_object(&items);
        assert_eq!(object, json!({"username": "admin", "password": "hunter2", "notes": ""}));
        assert_eq!(object.to_string(), r#"{"notes":"","password":"hunter2","username":"admin"}"#);
        let value = SecretValue::from(object.to_string().as_str());
        let password = SecretPath::parse("password").unwrap().extract(&value).unwrap();
        assert_eq!(password.expose(), b"hunter2");
    }

    fn token() -> impl Strategy<Value = String> + Clone {
        "[aA0_-]{1,3}"
    }

    proptest! {
        #[test]
        fn the_mapping_is_injective_and_inverted_by_parse(a in keys::secrets(token()), b in keys::secrets(token())) {
            keys::check_key_mapping(&a, &b, secret_name, |scope, name| parse_secret_name(&secret_name(scope, name)))?;
        }

        #[test]
        fn a_namespace_prefix_holds_its_secrets_and_descendants(
            (scope, name) in keys::secrets(token()),
            other in keys::namespaces(token()),
        ) {
            let prefix = namespace_prefix(&Scope::new(scope.tenant.clone(), other.clone()));
            let inside = secret_name(&scope, &name).starts_with(&prefix);
            prop_assert_eq!(inside, other.is_self_or_ancestor_of(&scope.namespace));
        }
    }
}
