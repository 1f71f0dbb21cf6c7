//! The mappings between hush and 1Password: keys ↔ item titles, tags ↔ item tags, values ↔
//! the value field, and how an item's fields read as one hush value.
//!
//! - **Titles.** Secret `NAME` of tenant `t` in namespace `a.b` is the item titled
//!   `<prefix>t/a.b/NAME`. Tenants, namespaces and names are `[A-Za-z0-9_-]` (namespaces add
//!   `.`), so none holds the `/` that separates them: the title is injective and
//!   [`parse_item_title`] inverts it.
//! - **Tags.** Tag `key=value` is the item tag `<key>=<value>`, with `%` and `=` in the key
//!   written `%25` and `%3D`, so the first `=` of an item tag ends the key: injective, inverted
//!   by [`parse_item_tag`]. Item tags that do not parse (a person's `production`) are not hush
//!   tags; hush keeps them when it replaces an item.
//! - **Values.** The value field holds the value's UTF-8 text; other bytes, and text that
//!   itself starts with `hush-base64:`, are `hush-base64:` + standard base64.
//! - **Reading an item.** An item whose only field with a value is the value field (what hush
//!   writes) reads as that field's value; any other item (a Login item with `username` and
//!   `password`) reads as the JSON object of its fields' labels and values, which a path
//!   (`secret("DB", "password")`) selects from.

use hush_core::{Namespace, Scope, SecretName, SecretValue, Tags, TenantId};
use serde_json::{Map, Value};

/// What separates tenant, namespace and name in a title.
const SEPARATOR: char = '/';

/// The title of the item holding secret `name` in `scope` (see the module documentation).
pub fn item_title(prefix: &str, scope: &Scope, name: &SecretName) -> String {
    format!("{prefix}{}{SEPARATOR}{}{SEPARATOR}{name}", scope.tenant, scope.namespace)
}

/// The scope and name an item title maps back to, or `None` when it is not one hush writes
/// with `prefix` (such items are left out of lists).
pub fn parse_item_title(prefix: &str, title: &str) -> Option<(Scope, SecretName)> {
    let mut parts = title.strip_prefix(prefix)?.split(SEPARATOR);
    let (tenant, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let scope = Scope::new(TenantId::new(tenant).ok()?, Namespace::new(namespace).ok()?);
    Some((scope, SecretName::new(name).ok()?))
}

/// `key` with `%` and `=` escaped, so it holds no `=`.
fn escape_key(key: &str) -> String {
    key.replace('%', "%25").replace('=', "%3D")
}

/// The item tag of hush tag `key=value`.
pub fn item_tag(key: &str, value: &str) -> String {
    format!("{}={value}", escape_key(key))
}

/// The item tags of `tags`, in key order.
pub fn item_tags(tags: &Tags) -> Vec<String> {
    tags.iter().map(|(k, v)| item_tag(k, v)).collect()
}

/// The hush tag an item tag stands for, or `None` when it is not one [`item_tag`] writes.
pub fn parse_item_tag(tag: &str) -> Option<(String, String)> {
    let (escaped, value) = tag.split_once('=')?;
    let key = escaped.replace("%3D", "=").replace("%25", "%");
    // Only the one spelling item_tag writes parses (not `%41`, not a bare `%`).
    if escape_key(&key) != escaped {
        return None;
    }
    let mut check = Tags::new();
    check.insert(key.as_str(), value).ok()?;
    Some((key, value.to_owned()))
}

/// The hush tags among an item's tags; the others are left out.
pub fn hush_tags<'a>(item_tags: impl IntoIterator<Item = &'a str>) -> Tags {
    item_tags.into_iter().filter_map(parse_item_tag).collect()
}

/// A field's label (else its id) and value (empty when it has none).
fn label_and_value(field: &Value) -> (&str, &str) {
    let text = |key: &str| field.get(key).and_then(Value::as_str).unwrap_or_default();
    let label = if text("label").is_empty() { text("id") } else { text("label") };
    (label, text("value"))
}

/// The hush value of an item with `fields` (Connect's `fields` array), the value field being
/// labelled `value_label`: that field's value when no other field has one, else the JSON
/// object of every field with a value, label → value (the first of fields sharing a label;
/// fields without a label go by their id).
pub fn item_value(fields: &[Value], value_label: &str) -> SecretValue {
    let fields: Vec<(&str, &str)> = fields.iter().map(label_and_value).collect();
    let value_field = fields.iter().find(|(label, _)| *label == value_label);
    let others = fields.iter().any(|(label, value)| *label != value_label && !value.is_empty());
    if let (Some((_, value)), false) = (value_field, others) {
        return SecretValue::from_stored_text(value);
    }
    let mut object = Map::new();
    for (label, value) in fields {
        if !value.is_empty() && !object.contains_key(label) {
            object.insert(label.to_owned(), Value::String(value.to_owned()));
        }
    }
    SecretValue::from(Value::Object(object).to_string().as_str())
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::keys::{self, name, scope};
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    #[test]
    fn the_documented_example() {
        let title = item_title("hush/", &scope("acme", "company.team"), &name("DB_PASSWORD"));
        assert_eq!(title, "hush/acme/company.team/DB_PASSWORD");
        assert_eq!(parse_item_title("hush/", &title), Some((scope("acme", "company.team"), name("DB_PASSWORD"))));
        assert_eq!(item_title("", &scope("t", "n"), &name("A")), "t/n/A");
        assert_eq!(parse_item_title("", "t/n/A"), Some((scope("t", "n"), name("A"))));
    }

    #[test]
    fn foreign_titles_do_not_parse() {
        for foreign in [
            "Production database",
            "hush/acme/x",
            "hush/acme/x/N/M",
            "other/acme/x/N",
            "hush/acme/x/",
            "hush/acme//N",
            "hush/acme/x y/N",
            "hush/acme/x/N.M",
            "hush//x/N",
        ] {
            assert_eq!(parse_item_title("hush/", foreign), None, "{foreign}");
        }
    }

    #[test]
    fn tags_are_escaped_pairs() {
        let tags: Tags =
            [("team", "payments"), ("a=b", "c"), ("a", "b=c"), ("100%", ""), ("env/tier", "x y")].into_iter().collect();
        let written = item_tags(&tags);
        assert_eq!(written, ["100%25=", "a=b=c", "a%3Db=c", "env/tier=x y", "team=payments"]);
        assert_eq!(hush_tags(written.iter().map(String::as_str)), tags);
        for foreign in ["production", "=x", "%41=b", "a%=b", "a%3d=b"] {
            assert_eq!(parse_item_tag(foreign), None, "{foreign}");
        }
        assert_eq!(hush_tags(["production", "team=x"]), [("team", "x")].into_iter().collect());
    }

    #[test]
    fn items_read_as_their_value_or_as_an_object_of_fields() {
        let concealed =
            |label: &str, value: &str| json!({"id": label, "type": "CONCEALED", "label": label, "value": value});
        // What hush writes: the value field alone.
        assert_eq!(item_value(&[concealed("value", "hunter2")], "value").expose(), b"hunter2");
        assert_eq!(item_value(&[concealed("value", "hush-base64:/w==")], "value").expose(), [0xff]);
        // An empty field 1Password adds (notes) does not make it an object; nor does an empty value.
        let notes = json!({"id": "notesPlain", "type": "STRING", "purpose": "NOTES", "label": "notesPlain"});
        assert_eq!(item_value(&[concealed("value", "v"), notes.clone()], "value").expose(), b"v");
        assert_eq!(item_value(&[json!({"id": "value", "type": "CONCEALED", "label": "value"})], "value").expose(), b"");
        assert_eq!(item_value(&[concealed("secret", "s")], "secret").expose(), b"s");
        // A Login item a person wrote.
        let login = [
            json!({"id": "username", "type": "STRING", "purpose": "USERNAME", "label": "username", "value": "admin"}),
            json!({"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password", "value": "pw"}),
            notes,
            json!({"id": "x1", "type": "STRING", "label": "password", "value": "second"}),
            json!({"id": "nolabel", "type": "STRING", "value": "n"}),
        ];
        let read: Value = serde_json::from_slice(item_value(&login, "value").expose()).unwrap();
        assert_eq!(read, json!({"username": "admin", "password": "pw", "nolabel": "n"}));
        // The value field next to other fields with values: an object holding it too.
        let read: Value =
            serde_json::from_slice(item_value(&[concealed("value", "v"), concealed("extra", "e")], "value").expose())
                .unwrap();
        assert_eq!(read, json!({"value": "v", "extra": "e"}));
        assert_eq!(item_value(&[], "value").expose(), b"{}");
    }

    fn token() -> impl Strategy<Value = String> + Clone {
        "[aA0_-]{1,3}"
    }

    fn prefix() -> impl Strategy<Value = String> {
        prop_oneof![Just("hush/".to_owned()), Just(String::new()), Just("a/".to_owned()), Just("x".to_owned())]
    }

    fn tag_text() -> impl Strategy<Value = String> {
        "[a=%/ 3D]{0,5}"
    }

    proptest! {
        #[test]
        fn titles_are_injective_and_parse_back(prefix in prefix(), a in keys::secrets(token()), b in keys::secrets(token())) {
            let title = |scope: &Scope, name: &SecretName| item_title(&prefix, scope, name);
            keys::check_key_mapping(&a, &b, title, |scope, name| parse_item_title(&prefix, &title(scope, name)))?;
        }

        #[test]
        fn tags_are_injective_and_parse_back(a in (tag_text(), tag_text()), b in (tag_text(), tag_text())) {
            prop_assume!(!a.0.is_empty() && !b.0.is_empty());
            let (tag_a, tag_b) = (item_tag(&a.0, &a.1), item_tag(&b.0, &b.1));
            prop_assert_eq!(parse_item_tag(&tag_a), Some(a.clone()));
            prop_assert_eq!(a == b, tag_a == tag_b, "{:?} {:?}", tag_a, tag_b);
        }
    }
}
