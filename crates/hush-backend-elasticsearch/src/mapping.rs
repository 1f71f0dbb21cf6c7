//! The key mapping (prefix, tenant, namespace, name) ↔ document ids, the documents themselves,
//! tag terms, and the index's mappings.
//!
//! Every secret has a latest document, id `<prefix>:<tenant>:<namespace>:<name>`, and one
//! document per version, id `<prefix>:<tenant>:<namespace>:<name>:v<N>`. Prefix, tenant,
//! namespace and name never hold `:` (hush's identifiers are `[A-Za-z0-9_-]`, namespaces add
//! `.`), so ids are injective and [`parse_latest_id`] inverts [`latest_id`]. Example: prefix
//! `hush`, tenant `acme`, namespace `company.team`, name `DB_PASSWORD`, version 3 →
//! `hush:acme:company.team:DB_PASSWORD` and `hush:acme:company.team:DB_PASSWORD:v3`.

use std::collections::BTreeMap;

use base64::Engine as _;
use hush_core::{AtRestFormat, Namespace, Scope, SealedRecord, SecretName, Tags, TenantId};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Elasticsearch's and OpenSearch's bound on a document id, in bytes. hush's longest id (a
/// 32-character prefix, the longest tenant, namespace and name, version 2⁶⁴−1) is 503 bytes.
pub const MAX_DOCUMENT_ID_LEN: usize = 512;

/// What separates the parts of a document id.
const SEPARATOR: char = ':';

/// `record` of a secret's latest document.
pub(crate) const LATEST: &str = "latest";
/// `record` of a version document.
pub(crate) const VERSION: &str = "version";

/// The id of the latest document of secret `name` in `scope` (see the module documentation).
/// Injective; also the routing of every document of the secret.
pub fn latest_id(prefix: &str, scope: &Scope, name: &SecretName) -> String {
    format!("{prefix}{SEPARATOR}{}{SEPARATOR}{}{SEPARATOR}{name}", scope.tenant, scope.namespace)
}

/// The id of version `version` of secret `name` in `scope`.
pub fn version_id(prefix: &str, scope: &Scope, name: &SecretName, version: u64) -> String {
    format!("{}{SEPARATOR}v{version}", latest_id(prefix, scope, name))
}

/// The scope and name a latest document's id maps back to, or `None` when it is not one hush
/// wrote with `prefix`.
pub fn parse_latest_id(prefix: &str, id: &str) -> Option<(Scope, SecretName)> {
    let rest = id.strip_prefix(prefix)?.strip_prefix(SEPARATOR)?;
    let mut parts = rest.split(SEPARATOR);
    let (tenant, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let scope = Scope::new(TenantId::new(tenant).ok()?, Namespace::new(namespace).ok()?);
    Some((scope, SecretName::new(name).ok()?))
}

/// `namespace` and each of its ancestors (`a.b.c` → `a`, `a.b`, `a.b.c`): the keyword values a
/// recursive list matches with one `term` on `namespace_path`.
pub fn namespace_path(namespace: &Namespace) -> Vec<String> {
    let text = namespace.as_str();
    let mut path: Vec<String> = text.match_indices('.').map(|(at, _)| text[..at].to_owned()).collect();
    path.push(text.to_owned());
    path
}

/// The keyword term of tag `key` = `value`: `key=value`, with `\` and `=` of the key escaped
/// as `\\` and `\=`, so two different pairs never share a term. A list by tag is a `term` on
/// `tag_pairs` per pair.
pub fn tag_term(key: &str, value: &str) -> String {
    let mut term = String::with_capacity(key.len() + value.len() + 1);
    for c in key.chars() {
        if matches!(c, '\\' | '=') {
            term.push('\\');
        }
        term.push(c);
    }
    term.push('=');
    term.push_str(value);
    term
}

/// One document of hush's index, as stored (`_source`). Values appear only sealed:
/// `nonce` and `ciphertext` are base64 (standard, padded) of the [`SealedRecord`]'s bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StoredDocument {
    /// `latest` (one per secret) or `version` (one per version).
    pub record: String,
    /// The configured prefix.
    pub prefix: String,
    /// The id of the secret's latest document (also the routing of all its documents).
    pub secret: String,
    /// The tenant.
    pub tenant: String,
    /// The namespace.
    pub namespace: String,
    /// The namespace and its ancestors, for recursive lists.
    pub namespace_path: Vec<String>,
    /// The secret's name.
    pub name: String,
    /// The version: of this version document, or the latest one.
    pub version: u64,
    /// A latest document left by a delete (a tombstone), or a version number taken by one.
    pub deleted: bool,
    /// The tags, exactly (not indexed).
    pub tags: BTreeMap<String, String>,
    /// One [`tag_term`] per tag, indexed as keywords.
    pub tag_pairs: Vec<String>,
    /// The at-rest key that sealed the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<u32>,
    /// The AAD format the value was sealed with (1 or 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad_format: Option<i64>,
    /// The AEAD nonce, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// Ciphertext and tag, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext: Option<String>,
    /// When it was written, unix seconds.
    pub updated_at: i64,
}

impl StoredDocument {
    /// The version document of `version` of secret `name` in `scope`, holding `sealed`.
    pub fn sealed_version(
        prefix: &str,
        scope: &Scope,
        name: &SecretName,
        version: u64,
        tags: &Tags,
        sealed: &SealedRecord,
        updated_at: i64,
    ) -> Self {
        let b64 = base64::engine::general_purpose::STANDARD;
        Self {
            key_id: Some(sealed.key_id),
            aad_format: Some(sealed.format.number()),
            nonce: Some(b64.encode(&sealed.nonce)),
            ciphertext: Some(b64.encode(&sealed.ciphertext)),
            tags: tags.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            tag_pairs: tags.iter().map(|(k, v)| tag_term(k, v)).collect(),
            deleted: false,
            ..Self::deleted_version(prefix, scope, name, version, updated_at)
        }
    }

    /// The version document a delete takes `version` with: no value, no tags.
    pub fn deleted_version(prefix: &str, scope: &Scope, name: &SecretName, version: u64, updated_at: i64) -> Self {
        Self {
            record: VERSION.to_owned(),
            prefix: prefix.to_owned(),
            secret: latest_id(prefix, scope, name),
            tenant: scope.tenant.to_string(),
            namespace: scope.namespace.to_string(),
            namespace_path: namespace_path(&scope.namespace),
            name: name.to_string(),
            version,
            deleted: true,
            tags: BTreeMap::new(),
            tag_pairs: Vec::new(),
            key_id: None,
            aad_format: None,
            nonce: None,
            ciphertext: None,
            updated_at,
        }
    }

    /// This version as the secret's latest document (a tombstone when it is a delete's).
    pub fn as_latest(&self) -> Self {
        Self { record: LATEST.to_owned(), ..self.clone() }
    }

    /// The tags stored, as hush's tags; `None` when they are not valid tags.
    pub fn tags(&self) -> Option<Tags> {
        Tags::try_from(self.tags.clone()).ok()
    }

    /// The sealed value, or `None` when the document holds none or it is malformed.
    pub fn sealed(&self) -> Option<SealedRecord> {
        let b64 = base64::engine::general_purpose::STANDARD;
        Some(SealedRecord {
            key_id: self.key_id?,
            format: AtRestFormat::from_number(self.aad_format?)?,
            nonce: b64.decode(self.nonce.as_deref()?).ok()?,
            ciphertext: b64.decode(self.ciphertext.as_deref()?).ok()?,
        })
    }
}

/// The mappings hush creates its index with: `dynamic: strict` (a document with another field
/// is refused), routing required, ids and tags as `keyword`, the tag map not indexed, the
/// sealed bytes as `binary` (stored in `_source`, not searchable).
pub fn index_mappings() -> Value {
    let keyword = json!({"type": "keyword"});
    json!({
        "dynamic": "strict",
        "_routing": {"required": true},
        "properties": {
            "record": keyword, "prefix": keyword, "secret": keyword, "tenant": keyword,
            "namespace": keyword, "namespace_path": keyword, "name": keyword,
            "version": {"type": "long"},
            "deleted": {"type": "boolean"},
            "tags": {"type": "object", "enabled": false},
            "tag_pairs": keyword,
            "key_id": {"type": "long"},
            "aad_format": {"type": "integer"},
            "nonce": {"type": "binary"},
            "ciphertext": {"type": "binary"},
            "updated_at": {"type": "date", "format": "epoch_second"},
        }
    })
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::keys::{self, name, scope};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_documented_example() {
        let (s, n) = (scope("acme", "company.team"), name("DB_PASSWORD"));
        assert_eq!(latest_id("hush", &s, &n), "hush:acme:company.team:DB_PASSWORD");
        assert_eq!(version_id("hush", &s, &n, 3), "hush:acme:company.team:DB_PASSWORD:v3");
        assert_eq!(parse_latest_id("hush", "hush:acme:company.team:DB_PASSWORD"), Some((s, n)));
        assert_eq!(namespace_path(&Namespace::new("a.b.c").unwrap()), ["a", "a.b", "a.b.c"]);
        assert_eq!(tag_term("team", "a=b"), "team=a=b");
        assert_eq!(tag_term("a=b", "c"), "a\\=b=c");
        assert_eq!(tag_term("a\\", "=c"), "a\\\\==c");
    }

    #[test]
    fn foreign_ids_do_not_parse() {
        for foreign in
            ["other:acme:ns:N", "hush:acme:ns", "hush:acme:ns:N:v1", "hush:acme:n s:N", "hushx:acme:ns:N", ""]
        {
            assert_eq!(parse_latest_id("hush", foreign), None, "{foreign}");
        }
    }

    #[test]
    fn the_longest_ids_fit() {
        let ns = ["a", "b", "c"].map(|c| c.repeat(63)).join(".") + "." + &"d".repeat(63);
        let s = scope(&"t".repeat(63), &ns);
        let id = version_id(&"p".repeat(32), &s, &name(&"n".repeat(128)), u64::MAX);
        assert!(id.len() <= MAX_DOCUMENT_ID_LEN, "{}", id.len());
    }

    #[test]
    fn documents_round_trip_their_sealed_bytes() {
        let sealed =
            SealedRecord { key_id: 7, format: AtRestFormat::V2, nonce: vec![1; 12], ciphertext: vec![0xff, 0, 3] };
        let tags: Tags = [("team", "payments")].into_iter().collect();
        let doc = StoredDocument::sealed_version("hush", &scope("t", "a.b"), &name("N"), 4, &tags, &sealed, 10);
        assert!(!doc.deleted);
        let text = serde_json::to_value(&doc).unwrap();
        assert_eq!(text["ciphertext"], "/wAD");
        assert_eq!(text["tag_pairs"], json!(["team=payments"]));
        assert_eq!(text["namespace_path"], json!(["a", "a.b"]));
        let back: StoredDocument = serde_json::from_value(text).unwrap();
        assert_eq!(back.sealed(), Some(sealed));
        assert_eq!(back.tags(), Some(tags));
        assert_eq!(back.as_latest().record, LATEST);
        let tombstone = StoredDocument::deleted_version("hush", &scope("t", "a"), &name("N"), 5, 10);
        assert!(tombstone.deleted && tombstone.sealed().is_none());
        let fields: Vec<String> = index_mappings()["properties"].as_object().unwrap().keys().cloned().collect();
        let stored: Vec<String> = serde_json::to_value(&doc).unwrap().as_object().unwrap().keys().cloned().collect();
        assert!(stored.iter().all(|f| fields.contains(f)), "{stored:?} not all in {fields:?}");
    }

    fn token() -> impl Strategy<Value = String> + Clone {
        "[aA0_-]{1,3}"
    }

    fn prefix() -> impl Strategy<Value = String> {
        prop_oneof![Just("hush".to_owned()), Just("a".to_owned()), Just("a-".to_owned())]
    }

    proptest! {
        #[test]
        fn ids_are_injective_and_inverted_by_parse(prefix in prefix(), a in keys::secrets(token()), b in keys::secrets(token())) {
            let id = |scope: &Scope, name: &SecretName| latest_id(&prefix, scope, name);
            keys::check_key_mapping(&a, &b, id, |scope, name| parse_latest_id(&prefix, &id(scope, name)))?;
            let versioned = |scope: &Scope, name: &SecretName| version_id(&prefix, scope, name, 1);
            keys::check_key_mapping(&a, &b, versioned, |scope, name| parse_latest_id(&prefix, &id(scope, name)))?;
            // A version id is never a latest id.
            prop_assert_eq!(parse_latest_id(&prefix, &version_id(&prefix, &a.0, &a.1, 1)), None);
        }

        #[test]
        fn tag_terms_are_injective(a in ("[a=\\\\]{0,3}", "[a=\\\\]{0,3}"), b in ("[a=\\\\]{0,3}", "[a=\\\\]{0,3}")) {
            prop_assert_eq!(a == b, tag_term(&a.0, &a.1) == tag_term(&b.0, &b.1));
        }
    }
}
