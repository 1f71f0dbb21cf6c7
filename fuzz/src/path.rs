//! The `path` target: every name and path syntax hush parses from text.
//!
//! The input (UTF-8) goes through the identifiers (`TenantId`, `Namespace`, `SecretName`,
//! `VersionId`), the JSON path syntax (`SecretPath`), the request and change-event subjects
//! (`hush-proto`'s `subject.rs`), and the `tenant/segments/NAME` keys of the path-keyed
//! backends (`Scope::split_joined_key`). Whatever parses must print back to what parses to
//! the same thing, and a subject or a joined key must print back to the input itself.

use std::sync::LazyLock;

use hush_core::{
    MAX_NAME_LEN, MAX_NAMESPACE_DEPTH, MAX_NAMESPACE_LEN, MAX_TENANT_LEN, Namespace, Scope, SecretName, SecretPath,
    SecretValue, TenantId, VersionId,
};
use hush_proto::subject::{self, RequestSubject};

/// Longest version id, in bytes (hush-core's `ids.rs`, not exported).
const MAX_VERSION_LEN: usize = 64;

/// A JSON secret value for paths to select in: objects, arrays, nesting, odd keys.
const DOCUMENT: &str = r#"{"credentials":{"user":"app","password":"pw"},"servers":[{"host":"a","port":1},{"host name":"b"}],"root key":{"x":[1,[2,3]]},"*":"star","":"empty","a.b":{"c]":"d"}}"#;

static DOCUMENT_JSON: LazyLock<serde_json::Value> =
    LazyLock::new(|| serde_json::from_str(DOCUMENT).expect("the document is JSON"));

/// Runs one input; panics when a property does not hold.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    identifiers(text);
    namespace(text);
    secret_path(text);
    subjects(text);
    joined_keys(text);
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn identifiers(text: &str) {
    if let Ok(tenant) = TenantId::new(text) {
        assert_eq!(tenant.to_string(), text);
        assert!(text.len() <= MAX_TENANT_LEN && text.chars().all(is_id_char), "tenant id {text:?} accepted");
        assert!(SecretName::new(text).is_ok(), "a tenant id is a valid secret name too");
    }
    if let Ok(name) = SecretName::new(text) {
        assert_eq!(name.to_string(), text);
        assert!(text.len() <= MAX_NAME_LEN && text.chars().all(is_id_char), "secret name {text:?} accepted");
        assert!(
            text.len() > MAX_VERSION_LEN || VersionId::new(text).is_ok(),
            "a short secret name is a valid version id"
        );
    }
    if let Ok(version) = VersionId::new(text) {
        assert_eq!(version.to_string(), text);
        if let Some(number) = version.number() {
            assert!(number > 0 && number.to_string() == text, "version {text:?} read as number {number}");
        }
    }
}

fn namespace(text: &str) {
    let Ok(namespace) = Namespace::new(text) else { return };
    assert_eq!(namespace.to_string(), text);
    assert!(text.len() <= MAX_NAMESPACE_LEN, "namespace of {} bytes accepted", text.len());
    let segments: Vec<&str> = namespace.segments().collect();
    assert!((1..=MAX_NAMESPACE_DEPTH).contains(&segments.len()));
    assert_eq!(namespace.depth(), segments.len());
    assert!(segments.iter().all(|s| TenantId::new(*s).is_ok()), "each segment is a valid id");
    assert_eq!(Namespace::from_segments(&segments).as_ref(), Ok(&namespace), "segments join back");
    let lineage: Vec<Namespace> = namespace.lineage().collect();
    let lineage_text: Vec<&str> = namespace.lineage_str().collect();
    assert_eq!(lineage.len(), segments.len(), "one level per segment");
    assert_eq!(lineage.iter().map(Namespace::as_str).collect::<Vec<_>>(), lineage_text);
    for (level, ancestor) in lineage.iter().enumerate() {
        assert!(ancestor.is_self_or_ancestor_of(&namespace));
        assert_eq!(ancestor.depth(), segments.len() - level);
        assert!(Namespace::new(ancestor.as_str()).is_ok(), "an ancestor is a valid namespace");
    }
    if let Some(parent) = namespace.parent() {
        assert!(!namespace.is_self_or_ancestor_of(&parent), "a namespace is not its parent's ancestor");
    }
}

fn secret_path(text: &str) {
    let Ok(path) = SecretPath::parse(text) else { return };
    let shown = path.to_string();
    assert_eq!(SecretPath::parse(&shown).as_ref(), Ok(&path), "{text:?} prints as {shown:?}, which parses otherwise");
    let _ = path.select(&DOCUMENT_JSON);
    let _ = path.extract(&SecretValue::from(DOCUMENT));
}

fn subjects(text: &str) {
    if let Ok(target) = subject::parse_request(text) {
        let printed = match &target {
            RequestSubject::Get { tenant, namespace } => subject::get(tenant, namespace),
            RequestSubject::Admin { op, tenant, namespace } => subject::admin(*op, tenant, namespace),
        };
        assert_eq!(printed, text, "a request subject prints back as itself");
    }
    if let Ok((tenant, namespace)) = subject::parse_changed(text) {
        assert_eq!(subject::changed(&tenant, &namespace), text, "a change-event subject prints back as itself");
    }
}

fn joined_keys(text: &str) {
    for separator in ['/', '.'] {
        if let Some((scope, name)) = Scope::split_joined_key(text, separator) {
            assert_eq!(scope.joined_key(&name, separator), text, "a joined key prints back as itself");
            assert!(text.starts_with(&scope.joined_folder(separator)));
        }
    }
}
