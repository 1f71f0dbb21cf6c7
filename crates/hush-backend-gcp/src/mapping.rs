//! The key mapping: (prefix, tenant, namespace, name) to a Secret Manager secret id and labels.
//!
//! Secret ids allow `[A-Za-z0-9_-]`, at most 255 characters; hush's parts are `[A-Za-z0-9_-]`
//! too, but the `.` between namespace segments is not allowed, and `_` and `-` occur in
//! names. So every part is escaped and the parts are joined by a separator:
//!
//! ```text
//! <prefix><tenant>--<segment>--...--<segment>--<NAME>      each part with '-' written as '-_'
//! ```
//!
//! `secret("DB_PASSWORD")` of tenant `acme`, namespace `company.team`, prefix `hush_`:
//! `hush_acme--company--team--DB_PASSWORD`; tenant `data-eng`, namespace `etl`, name `API-KEY`:
//! `data-_eng--etl--API-_KEY`.
//!
//! **Why it is injective.** Inside an encoded part every `-` is followed by `_`; `--` occurs
//! only as the separator. Reading left to right, `-_` is a `-` of a part, `--` ends a part,
//! and any other character is itself, so an encoded string splits back into exactly one list
//! of parts: the first is the tenant, the last the name, those between the namespace's
//! segments (a namespace has at least one). [`parse_direct`] is this inverse; property tests
//! check it and that different keys give different ids.
//!
//! **Long keys.** A tenant (≤ 63), namespace (≤ 255) and name (≤ 128) can together be longer
//! than a secret id may be. When `<prefix><encoded>` exceeds 255 characters the secret id is
//! `<prefix>-h<SHA-256 of the encoded key, 64 hex digits>`, and the encoded key is stored in
//! the labels `hush_key_00`, `hush_key_01`, ... (63 characters each, lowercased by
//! [`lower_escape`]), from which `list` reads it back and checks it against the hash. A
//! direct id never starts with `-h` after the prefix (a tenant's first `-` is written `-_`),
//! so the two forms never meet; two hashed ids are equal only if SHA-256 collides.
//!
//! **Labels.** Every secret hush writes carries `hush_tenant` (first 32 hex digits of
//! SHA-256 of the tenant) and `hush_namespace` (the same of `<tenant>/<namespace>`): label
//! values allow only lowercase `[a-z0-9_-]` and 63 characters, which tenants and
//! namespaces do not fit, so they are digests. `list` asks the server for exactly these
//! labels (`filter`), and then checks every secret's id itself, so a server that ignores
//! the filter, or a digest collision, never shows a wrong secret.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use hush_core::{Namespace, Scope, SecretName, Tags, TenantId};
use sha2::{Digest, Sha256};

/// The longest secret id Secret Manager accepts.
pub const MAX_SECRET_ID_LEN: usize = 255;
/// The longest `prefix` this backend accepts (so a hashed id always fits).
pub const MAX_PREFIX_LEN: usize = 64;
/// The most labels one secret may carry.
pub const MAX_LABELS: usize = 64;
/// The longest label key or value.
pub const MAX_LABEL_LEN: usize = 63;
/// The label holding the digest of the tenant.
pub const TENANT_LABEL: &str = "hush_tenant";
/// The label holding the digest of `<tenant>/<namespace>`.
pub const NAMESPACE_LABEL: &str = "hush_namespace";
/// Label keys starting with this are hush's own; tags may not use them.
pub const RESERVED_LABEL_PREFIX: &str = "hush_";
/// What follows the prefix in a hashed secret id.
const HASHED_MARK: &str = "-h";
/// Labels of a hashed id's key: `hush_key_00`, `hush_key_01`, ...
const KEY_LABEL_STEM: &str = "hush_key_";

/// Where a secret lives in Secret Manager: its id and the labels that locate it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretKey {
    /// The secret id (the last part of `projects/<project>/secrets/<id>`).
    pub id: String,
    /// `hush_tenant`, `hush_namespace`, and for a hashed id the `hush_key_NN` labels.
    pub labels: BTreeMap<String, String>,
}

/// The secret id and hush labels of a secret: the one documented key mapping.
pub fn secret_key(prefix: &str, scope: &Scope, name: &SecretName) -> SecretKey {
    let direct = encode_direct(scope, name);
    let mut labels = scope_labels(scope);
    let id = if prefix.len() + direct.len() <= MAX_SECRET_ID_LEN {
        format!("{prefix}{direct}")
    } else {
        let lowered = lower_escape(&direct);
        let chunks = lowered.as_bytes().chunks(MAX_LABEL_LEN);
        for (i, chunk) in chunks.enumerate() {
            // Chunks of an ASCII string are ASCII.
            labels.insert(format!("{KEY_LABEL_STEM}{i:02}"), String::from_utf8_lossy(chunk).into_owned());
        }
        format!("{prefix}{HASHED_MARK}{}", sha256_hex(&direct))
    };
    SecretKey { id, labels }
}

/// The resource name of a secret in `project`: `projects/<project>/secrets/<id>`, the name
/// every call on it uses.
pub fn secret_resource(project: &str, key: &SecretKey) -> String {
    format!("projects/{project}/secrets/{}", key.id)
}

/// Whether `key` is a hashed id, its key held in `hush_key_NN` labels.
pub fn is_hashed(key: &SecretKey) -> bool {
    key.labels.keys().any(|label| label.starts_with(KEY_LABEL_STEM))
}

/// `hush_tenant` and `hush_namespace` of a scope.
pub fn scope_labels(scope: &Scope) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    labels.insert(TENANT_LABEL.to_owned(), tenant_digest(&scope.tenant));
    labels.insert(NAMESPACE_LABEL.to_owned(), namespace_digest(scope));
    labels
}

/// The value of `hush_tenant` for `tenant`.
pub fn tenant_digest(tenant: &TenantId) -> String {
    sha256_hex(tenant.as_str())[..32].to_owned()
}

/// The value of `hush_namespace` for a scope.
pub fn namespace_digest(scope: &Scope) -> String {
    sha256_hex(&format!("{}/{}", scope.tenant, scope.namespace))[..32].to_owned()
}

/// The (scope, name) a secret id (with its labels) stands for under `prefix`, or `None`
/// when the secret was not written by hush under this prefix.
pub fn parse_secret_id(
    prefix: &str,
    id: &str,
    labels: &std::collections::HashMap<String, String>,
) -> Option<(Scope, SecretName)> {
    let rest = id.strip_prefix(prefix)?;
    match rest.strip_prefix(HASHED_MARK) {
        Some(hash) => {
            let mut lowered = String::new();
            for i in 0.. {
                match labels.get(&format!("{KEY_LABEL_STEM}{i:02}")) {
                    Some(chunk) => lowered.push_str(chunk),
                    None => break,
                }
            }
            let direct = lower_unescape(&lowered)?;
            (sha256_hex(&direct) == hash).then_some(())?;
            parse_direct(&direct)
        }
        None => parse_direct(rest),
    }
}

/// Writes `part` with every `-` as `-_`.
fn push_part(out: &mut String, part: &str) {
    for c in part.chars() {
        out.push(c);
        if c == '-' {
            out.push('_');
        }
    }
}

/// The encoded key without the prefix: `<tenant>--<segment>--...--<name>`, parts escaped.
pub fn encode_direct(scope: &Scope, name: &SecretName) -> String {
    let mut out = String::with_capacity(scope.tenant.as_str().len() + scope.namespace.as_str().len() + 64);
    push_part(&mut out, scope.tenant.as_str());
    for segment in scope.namespace.segments() {
        out.push_str("--");
        push_part(&mut out, segment);
    }
    out.push_str("--");
    push_part(&mut out, name.as_str());
    out
}

/// The inverse of [`encode_direct`]: `None` for anything it cannot have written.
pub fn parse_direct(encoded: &str) -> Option<(Scope, SecretName)> {
    let mut parts = vec![String::new()];
    let mut chars = encoded.chars();
    while let Some(c) = chars.next() {
        if c == '-' {
            match chars.next() {
                Some('_') => parts.last_mut()?.push('-'),
                Some('-') => parts.push(String::new()),
                _ => return None,
            }
        } else {
            parts.last_mut()?.push(c);
        }
    }
    if parts.len() < 3 || parts.iter().any(|p| p.contains('.')) {
        return None;
    }
    let name = SecretName::new(parts.pop()?).ok()?;
    let tenant = TenantId::new(parts.remove(0)).ok()?;
    let namespace = Namespace::from_segments(&parts).ok()?;
    Some((Scope::new(tenant, namespace), name))
}

/// `text` (`[A-Za-z0-9_-]`) in lowercase label characters: `_` as `__`, an uppercase letter
/// as `_` and the letter in lowercase; the rest as it is.
pub fn lower_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c == '_' {
            out.push_str("__");
        } else if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The inverse of [`lower_escape`].
pub fn lower_unescape(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '_' {
            match chars.next()? {
                '_' => out.push('_'),
                l if l.is_ascii_lowercase() => out.push(l.to_ascii_uppercase()),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Why a tag cannot be a GCP label: the rule, for an `InvalidInput` message.
pub const TAG_RULE: &str = "GCP labels need lowercase tags: keys [a-z][a-z0-9_-]{0,62}, values [a-z0-9_-]{0,63}, \
                            keys not starting with \"hush_\", at most 64 labels per secret with hush's own";

/// The labels of a secret: the key's labels plus one per tag, tags unchanged (no mapping).
///
/// A tag that is not a valid label, uses a `hush_` key, or makes more than 64 labels is
/// refused with [`TAG_RULE`] and the key of the offending tag.
pub fn labels_for(key: &SecretKey, tags: &Tags) -> Result<BTreeMap<String, String>, String> {
    let mut labels = key.labels.clone();
    for (k, v) in tags.iter() {
        let key_ok = k.len() <= MAX_LABEL_LEN
            && k.starts_with(|c: char| c.is_ascii_lowercase())
            && k.chars().all(is_label_char)
            && !k.starts_with(RESERVED_LABEL_PREFIX);
        let value_ok = v.len() <= MAX_LABEL_LEN && v.chars().all(is_label_char);
        if !key_ok || !value_ok {
            let shown: String = k.chars().take(64).collect();
            return Err(format!("tag {shown:?} cannot be stored: {TAG_RULE}"));
        }
        labels.insert(k.to_owned(), v.to_owned());
    }
    if labels.len() > MAX_LABELS {
        return Err(format!("{} tags are too many: {TAG_RULE}", tags.len()));
    }
    Ok(labels)
}

fn is_label_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
}

/// The tags among a secret's labels: every label but hush's own.
pub fn tags_of(labels: &std::collections::HashMap<String, String>) -> Tags {
    labels.iter().filter(|(k, _)| !k.starts_with(RESERVED_LABEL_PREFIX)).collect()
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::keys::{self, name, scope};
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    fn parse(prefix: &str, key: &SecretKey) -> Option<(Scope, SecretName)> {
        let labels: HashMap<String, String> = key.labels.clone().into_iter().collect();
        parse_secret_id(prefix, &key.id, &labels)
    }

    #[test]
    fn the_documented_examples() {
        let key = secret_key("hush_", &scope("acme", "company.team"), &name("DB_PASSWORD"));
        assert_eq!(key.id, "hush_acme--company--team--DB_PASSWORD");
        assert_eq!(key.labels.len(), 2);
        assert_eq!(key.labels[TENANT_LABEL].len(), 32);
        let key = secret_key("", &scope("data-eng", "etl"), &name("API-KEY"));
        assert_eq!(key.id, "data-_eng--etl--API-_KEY");
        assert_eq!(parse("", &key), Some((scope("data-eng", "etl"), name("API-KEY"))));
    }

    #[test]
    fn dashes_and_underscores_do_not_collide() {
        let a = secret_key("", &scope("a-", "b"), &name("c")).id;
        let b = secret_key("", &scope("a", "-b"), &name("c")).id;
        let c = secret_key("", &scope("a", "b.c"), &name("X")).id;
        let d = secret_key("", &scope("a", "b"), &name("c--X")).id;
        assert_eq!(a, "a-_--b--c");
        assert_eq!(b, "a---_b--c");
        assert_ne!(c, d);
    }

    #[test]
    fn long_keys_are_hashed_and_read_back_from_labels() {
        let segment = "S-".repeat(31);
        let namespace = [segment.as_str(); 4].join(".");
        let long = scope(&"T".repeat(63), &namespace);
        let n = name(&"N_".repeat(64));
        let key = secret_key("hush_", &long, &n);
        assert!(key.id.starts_with("hush_-h"));
        assert_eq!(key.id.len(), "hush_-h".len() + 64);
        assert!(key.labels.len() > 3 && key.labels.len() <= 40, "{}", key.labels.len());
        assert!(key.labels.iter().all(|(k, v)| k.len() <= 63 && v.len() <= 63 && v.chars().all(is_label_char)));
        assert_eq!(parse("hush_", &key), Some((long.clone(), n.clone())));
        // A label changed by someone else no longer matches the hash.
        let mut labels: HashMap<String, String> = key.labels.clone().into_iter().collect();
        labels.insert("hush_key_00".into(), "x".into());
        assert_eq!(parse_secret_id("hush_", &key.id, &labels), None);
    }

    #[test]
    fn foreign_ids_do_not_parse() {
        let none = HashMap::new();
        assert_eq!(parse_secret_id("hush_", "other--a--N", &none), None);
        assert_eq!(parse_secret_id("", "acme--N", &none), None);
        assert_eq!(parse_secret_id("", "acme-x--a--N", &none), None);
        assert_eq!(parse_secret_id("", "acme----N", &none), None);
        assert_eq!(parse_secret_id("", "acme--a--", &none), None);
        assert_eq!(parse_secret_id("", "-habc", &none), None);
        assert_eq!(parse_secret_id("", "plain-secret", &none), None);
    }

    #[test]
    fn tags_must_be_labels() {
        let key = secret_key("", &scope("t", "n"), &name("N"));
        let ok: Tags = [("team", "payments"), ("owner", "data-platform"), ("empty", "")].into_iter().collect();
        let labels = labels_for(&key, &ok).unwrap();
        assert_eq!(labels.len(), 5);
        assert_eq!(tags_of(&labels.into_iter().collect()), ok);
        for (k, v) in [("Team", "x"), ("team", "Payments"), ("1team", "x"), ("hush_tenant", "x"), ("t", "a b")] {
            let tags: Tags = [(k, v)].into_iter().collect();
            let err = labels_for(&key, &tags).unwrap_err();
            assert!(err.contains("[a-z][a-z0-9_-]{0,62}"), "{err}");
        }
        let many: Tags = (0..63).map(|i| (format!("k{i}"), "v")).collect();
        assert!(labels_for(&key, &many).unwrap_err().contains("too many"));
    }

    #[test]
    fn lower_escape_round_trips() {
        assert_eq!(lower_escape("Ab_c-D"), "_ab__c-_d");
        assert_eq!(lower_unescape("_ab__c-_d").as_deref(), Some("Ab_c-D"));
        assert_eq!(lower_unescape("_"), None);
        assert_eq!(lower_unescape("_1"), None);
    }

    fn token() -> impl Strategy<Value = String> + Clone {
        // A tiny alphabet heavy in the characters the escaping is about.
        "[aB_-]{1,4}"
    }

    fn secret() -> impl Strategy<Value = (Scope, SecretName)> {
        keys::secrets(token())
    }

    fn long_secret() -> impl Strategy<Value = (Scope, SecretName)> {
        // Segments of up to 63 characters: many of these keys are hashed.
        let segment = "[aB_-]{40,63}";
        (segment, prop::collection::vec(segment, 1..5), "[aB_-]{60,128}").prop_map(|(t, ns, n)| {
            (Scope::new(TenantId::new(t).unwrap(), Namespace::from_segments(ns).unwrap()), SecretName::new(n).unwrap())
        })
    }

    fn prefix() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), Just("hush_".to_owned()), Just("a-".to_owned()), Just("x--".to_owned())]
    }

    proptest! {
        #[test]
        fn the_mapping_is_injective_and_inverted_by_parse(prefix in prefix(), a in secret(), b in secret()) {
            let key = secret_key(&prefix, &a.0, &a.1);
            prop_assert!(key.id.len() <= MAX_SECRET_ID_LEN);
            prop_assert!(key.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
            let id = |scope: &Scope, name: &SecretName| secret_key(&prefix, scope, name).id;
            keys::check_key_mapping(&a, &b, id, |scope, name| parse(&prefix, &secret_key(&prefix, scope, name)))?;
        }

        #[test]
        fn long_keys_fit_and_round_trip(prefix in prefix(), (scope, name) in long_secret(), other in long_secret()) {
            let key = secret_key(&prefix, &scope, &name);
            prop_assert!(key.id.len() <= MAX_SECRET_ID_LEN);
            prop_assert!(key.labels.len() <= 40);
            prop_assert!(key.labels.values().all(|v| v.len() <= MAX_LABEL_LEN && v.chars().all(is_label_char)));
            prop_assert_eq!(parse(&prefix, &key), Some((scope.clone(), name.clone())));
            let other_key = secret_key(&prefix, &other.0, &other.1);
            prop_assert_eq!((scope, name) == other, key.id == other_key.id);
        }
    }
}
