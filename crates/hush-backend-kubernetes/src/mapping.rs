//! The key mapping: (tenant, namespace, name) ↔ one Kubernetes Secret name (a DNS-1123
//! subdomain: `[a-z0-9.-]`, labels starting and ending with a letter or digit, at most 253
//! characters), injective and inverted by [`parse_secret_name`]; and tags ↔ labels.
//!
//! A Secret name is `<tenant>.<segment>...<segment>.<name>`: the tenant, each namespace
//! segment and the name become one DNS label each, escaped with `0`:
//!
//! - `a`–`z` and `1`–`9` are themselves; `0` is `00`;
//! - an uppercase letter is `0` + the lowercase letter (`A` → `0a`);
//! - `_` is `01`; `-` is itself inside a label and `02` as its first or last character.
//!
//! So the usual lowercase keys stay readable: tenant `acme`, namespace `payments.prod`, name
//! `db-creds` → `acme.payments.prod.db-creds`; `DB_PASSWORD` → `0d0b010p0a0s0s0w0o0r0d`. A
//! readable name has at least three labels. A key whose readable name would be longer than
//! 253 characters is stored as `hush-<sha256 hex of "tenant/namespace/name">` (one label, so
//! never a readable name) with the key in the annotations [`TENANT_ANNOTATION`],
//! [`NAMESPACE_ANNOTATION`] and [`NAME_ANNOTATION`]; see [`parse_stored`].

use std::collections::BTreeMap;

use hush_core::{Error, Namespace, Result, Scope, SecretName, Tags, TenantId};
use sha2::{Digest, Sha256};

/// Longest Kubernetes object name (DNS-1123 subdomain).
pub const MAX_SECRET_NAME_LEN: usize = 253;

/// The label every Secret hush writes carries, with value [`MANAGED_BY_VALUE`].
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "hush";
/// What a hush tag's key is prefixed with as a label key: tag `team=payments` is label
/// `hush.tag/team=payments`.
pub const TAG_LABEL_PREFIX: &str = "hush.tag/";
/// Annotation holding the tenant of a Secret hush wrote.
pub const TENANT_ANNOTATION: &str = "hush/tenant";
/// Annotation holding the namespace of a Secret hush wrote.
pub const NAMESPACE_ANNOTATION: &str = "hush/namespace";
/// Annotation holding the secret name of a Secret hush wrote.
pub const NAME_ANNOTATION: &str = "hush/name";

/// What a digest name starts with.
const DIGEST_PREFIX: &str = "hush-";

fn escape_label(text: &str, out: &mut String) {
    let last = text.len().saturating_sub(1);
    for (i, c) in text.chars().enumerate() {
        match c {
            'a'..='z' | '1'..='9' => out.push(c),
            '0' => out.push_str("00"),
            'A'..='Z' => {
                out.push('0');
                out.push(c.to_ascii_lowercase());
            }
            '_' => out.push_str("01"),
            '-' if i != 0 && i != last => out.push('-'),
            '-' => out.push_str("02"),
            // Tenants, segments and names hold nothing else; keep the mapping total anyway.
            _ => out.push_str("09"),
        }
    }
}

fn unescape_label(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            'a'..='z' | '1'..='9' | '-' => out.push(c),
            '0' => match chars.next()? {
                '0' => out.push('0'),
                '1' => out.push('_'),
                '2' => out.push('-'),
                l @ 'a'..='z' => out.push(l.to_ascii_uppercase()),
                _ => return None,
            },
            _ => return None,
        }
    }
    Some(out)
}

/// The readable Secret name of `name` in `scope` (see the module documentation), whatever
/// its length.
pub fn readable_secret_name(scope: &Scope, name: &SecretName) -> String {
    let mut out = String::with_capacity(64);
    escape_label(scope.tenant.as_str(), &mut out);
    for segment in scope.namespace.segments() {
        out.push('.');
        escape_label(segment, &mut out);
    }
    out.push('.');
    escape_label(name.as_str(), &mut out);
    out
}

/// `hush-<sha256 hex>` of the key: the name of a Secret whose readable name is too long.
pub fn digest_secret_name(scope: &Scope, name: &SecretName) -> String {
    let digest = Sha256::digest(format!("{}/{}/{}", scope.tenant, scope.namespace, name).as_bytes());
    let mut out = String::with_capacity(DIGEST_PREFIX.len() + 64);
    out.push_str(DIGEST_PREFIX);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// The Secret name of `name` in `scope`: the readable one when it has at most
/// [`MAX_SECRET_NAME_LEN`] characters, else the digest one. Injective.
pub fn secret_name(scope: &Scope, name: &SecretName) -> String {
    let readable = readable_secret_name(scope, name);
    if readable.len() <= MAX_SECRET_NAME_LEN { readable } else { digest_secret_name(scope, name) }
}

/// The scope and name a readable Secret name maps back to, or `None` when it is not one
/// (such Secrets are left out of lists unless hush's annotations name them: [`parse_stored`]).
pub fn parse_secret_name(secret: &str) -> Option<(Scope, SecretName)> {
    let labels: Vec<&str> = secret.split('.').collect();
    if labels.len() < 3 {
        return None;
    }
    let tenant = TenantId::new(unescape_label(labels[0])?).ok()?;
    let segments: Option<Vec<String>> = labels[1..labels.len() - 1].iter().map(|l| unescape_label(l)).collect();
    let namespace = Namespace::from_segments(segments?).ok()?;
    let name = SecretName::new(unescape_label(labels[labels.len() - 1])?).ok()?;
    let parsed = (Scope::new(tenant, namespace), name);
    // Only the one spelling hush writes parses, and only when hush would use it.
    (secret_name(&parsed.0, &parsed.1) == secret).then_some(parsed)
}

/// The key a stored Secret stands for: its readable name parsed, else (a digest name) the key
/// in its annotations, when the digest of that key is the Secret's name.
pub fn parse_stored(secret: &str, annotations: &BTreeMap<String, String>) -> Option<(Scope, SecretName)> {
    if let Some(parsed) = parse_secret_name(secret) {
        return Some(parsed);
    }
    if !secret.starts_with(DIGEST_PREFIX) {
        return None;
    }
    let tenant = TenantId::new(annotations.get(TENANT_ANNOTATION)?.clone()).ok()?;
    let namespace = Namespace::new(annotations.get(NAMESPACE_ANNOTATION)?.clone()).ok()?;
    let name = SecretName::new(annotations.get(NAME_ANNOTATION)?.clone()).ok()?;
    let parsed = (Scope::new(tenant, namespace), name);
    (secret_name(&parsed.0, &parsed.1) == secret).then_some(parsed)
}

/// Whether `text` is a label value: at most 63 characters of `[A-Za-z0-9._-]`, starting and
/// ending with a letter or digit; or empty.
pub fn is_label_value(text: &str) -> bool {
    text.is_empty()
        || (text.len() <= 63
            && text.starts_with(|c: char| c.is_ascii_alphanumeric())
            && text.ends_with(|c: char| c.is_ascii_alphanumeric())
            && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
}

/// The labels for `tags` (`hush.tag/<key>` = value), or `InvalidInput` naming the first tag
/// that cannot be a label (keys and values: at most 63 of `[A-Za-z0-9._-]`, starting and
/// ending with a letter or digit).
pub fn tag_labels(tags: &Tags) -> Result<BTreeMap<String, String>> {
    let mut labels = BTreeMap::new();
    for (key, value) in tags.iter() {
        if key.is_empty() || !is_label_value(key) {
            return Err(Error::invalid_input(format!(
                "tag key {key:?} cannot be a Kubernetes label name (at most 63 of [A-Za-z0-9._-], starting and ending alphanumeric)"
            )));
        }
        if !is_label_value(value) {
            return Err(Error::invalid_input(format!(
                "the value of tag {key:?} cannot be a Kubernetes label value (at most 63 of [A-Za-z0-9._-], starting and ending alphanumeric)"
            )));
        }
        labels.insert(format!("{TAG_LABEL_PREFIX}{key}"), value.to_owned());
    }
    Ok(labels)
}

/// The tags among `labels` (those under `hush.tag/`).
pub fn labels_to_tags(labels: &BTreeMap<String, String>) -> Tags {
    let mut tags = Tags::new();
    for (key, value) in labels {
        if let Some(tag) = key.strip_prefix(TAG_LABEL_PREFIX) {
            // Labels are at most 63 characters: always valid tags.
            let _ = tags.insert(tag, value.as_str());
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::keys::{self, name, scope};
    use proptest::prelude::*;

    use super::*;

    fn is_dns_subdomain(text: &str) -> bool {
        text.len() <= MAX_SECRET_NAME_LEN
            && text.split('.').all(|l| {
                !l.is_empty()
                    && l.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && l.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            })
    }

    #[test]
    fn the_documented_examples() {
        let readable = secret_name(&scope("acme", "payments.prod"), &name("db-creds"));
        assert_eq!(readable, "acme.payments.prod.db-creds");
        assert_eq!(parse_secret_name(&readable), Some((scope("acme", "payments.prod"), name("db-creds"))));
        assert_eq!(secret_name(&scope("acme", "a"), &name("DB_PASSWORD")), "acme.a.0d0b010p0a0s0s0w0o0r0d");
        assert_eq!(secret_name(&scope("t-", "-x-"), &name("v10")), "t02.02x02.v100");
    }

    #[test]
    fn foreign_names_do_not_parse() {
        for foreign in ["db-creds", "acme.db", "acme..x", "acme.n.0", "acme.n.0z0", "a.-b.c", "hush-00", "A.b.c"] {
            assert_eq!(parse_secret_name(foreign), None, "{foreign}");
        }
        assert_eq!(parse_stored("hush-00", &BTreeMap::new()), None);
    }

    #[test]
    fn long_keys_get_a_digest_name_with_annotations() {
        let ns = ["b".repeat(60), "c".repeat(60), "d".repeat(60), "e".repeat(60), "f".repeat(10)].join(".");
        let (s, n) = (scope("t", &ns), name("N"));
        let digest = secret_name(&s, &n);
        assert!(digest.starts_with("hush-") && digest.len() == 69 && is_dns_subdomain(&digest), "{digest}");
        assert_eq!(parse_secret_name(&digest), None);
        let mut annotations = BTreeMap::new();
        annotations.insert(TENANT_ANNOTATION.to_owned(), "t".to_owned());
        annotations.insert(NAMESPACE_ANNOTATION.to_owned(), ns.clone());
        annotations.insert(NAME_ANNOTATION.to_owned(), "N".to_owned());
        assert_eq!(parse_stored(&digest, &annotations), Some((s, n)));
        // Annotations naming another key than the digest's do not count.
        annotations.insert(NAME_ANNOTATION.to_owned(), "M".to_owned());
        assert_eq!(parse_stored(&digest, &annotations), None);
        // A short key's annotations never replace its readable name.
        let short = scope("t", "n");
        annotations.insert(NAMESPACE_ANNOTATION.to_owned(), "n".to_owned());
        assert_eq!(parse_stored(&digest_secret_name(&short, &name("M")), &annotations), None);
    }

    #[test]
    fn tags_and_labels() {
        let tags: Tags = [("team", "payments"), ("env", "prod-1")].into_iter().collect();
        let labels = tag_labels(&tags).unwrap();
        assert_eq!(labels.get("hush.tag/team").map(String::as_str), Some("payments"));
        assert_eq!(labels_to_tags(&labels), tags);
        for bad in [[("a b", "x")], [("k", "with space")], [("k", "-x")]] {
            let tags: Tags = bad.into_iter().collect();
            assert_eq!(tag_labels(&tags).unwrap_err().kind(), hush_core::ErrorKind::InvalidInput);
        }
        let long: Tags = [("k", "v".repeat(64).as_str())].into_iter().collect();
        assert!(tag_labels(&long).is_err());
    }

    fn token() -> impl Strategy<Value = String> + Clone {
        "[aAzZ09_-]{1,4}"
    }

    proptest! {
        #[test]
        fn the_mapping_is_injective_and_inverted_by_parse(a in keys::secrets(token()), b in keys::secrets(token())) {
            keys::check_key_mapping(&a, &b, secret_name, |scope, name| parse_secret_name(&secret_name(scope, name)))?;
            let text = secret_name(&a.0, &a.1);
            prop_assert!(is_dns_subdomain(&text), "{}", text);
        }
    }
}
