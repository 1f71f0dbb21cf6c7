//! Secret values, tags and the metadata a list returns.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::ids::{Namespace, SecretName, VersionId};

/// A secret's value: bytes, usually UTF-8, wiped from memory when dropped.
///
/// `Debug` and `Display` print `***`, so a value never reaches a log by accident.
/// Reading the bytes is explicit: [`SecretValue::expose`].
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretValue(Zeroizing<Vec<u8>>);

impl SecretValue {
    /// Wraps bytes; they are wiped when the value is dropped.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(Zeroizing::new(bytes.into()))
    }

    /// The plaintext bytes. Every call site is a place plaintext is handled: keep them few.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The value as UTF-8 text, if it is.
    pub fn expose_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Put in front of the base64 text of a value written where only text fits
/// ([`SecretValue::to_stored_text`]).
pub const BASE64_TEXT_MARKER: &str = "hush-base64:";

impl SecretValue {
    /// The value as text for a store that holds only text (Doppler, 1Password fields, ...): its
    /// UTF-8 text, or [`BASE64_TEXT_MARKER`] and standard base64 when it is not UTF-8 or itself
    /// starts with the marker, so [`from_stored_text`](Self::from_stored_text) reads back
    /// exactly what was written.
    pub fn to_stored_text(&self) -> String {
        use base64::Engine as _;
        match self.expose_str() {
            Some(text) if !text.starts_with(BASE64_TEXT_MARKER) => text.to_owned(),
            _ => format!("{BASE64_TEXT_MARKER}{}", base64::engine::general_purpose::STANDARD.encode(self.expose())),
        }
    }

    /// The value a stored text holds: the inverse of [`to_stored_text`](Self::to_stored_text).
    /// Text that starts with the marker but is not base64 after it reads as itself.
    pub fn from_stored_text(text: &str) -> Self {
        use base64::Engine as _;
        if let Some(encoded) = text.strip_prefix(BASE64_TEXT_MARKER)
            && let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded)
        {
            return Self::new(bytes);
        }
        Self::from(text)
    }
}

impl From<&str> for SecretValue {
    fn from(s: &str) -> Self {
        Self::new(s.as_bytes().to_vec())
    }
}

impl From<Vec<u8>> for SecretValue {
    fn from(v: Vec<u8>) -> Self {
        Self::new(v)
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why a tag was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TagError {
    /// The key is empty or longer than 128 bytes.
    #[error("tag key {0:?} must be 1 to 128 bytes")]
    KeyLength(String),
    /// The value is longer than 256 bytes.
    #[error("tag {0:?} has a value longer than 256 bytes")]
    ValueLength(String),
    /// A key or value holds a control character.
    #[error("tag {0:?} holds a control character")]
    Control(String),
    /// `k=v` text without `=`.
    #[error("tag {0:?} is not of the form key=value")]
    NoEquals(String),
}

/// Tags of a secret (`team=payments`): sorted, unique keys.
///
/// Tags are metadata, stored in plaintext by backends and shown by `list`: never put a
/// secret in a tag.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "BTreeMap<String, String>", into = "BTreeMap<String, String>")]
pub struct Tags(BTreeMap<String, String>);

impl Tags {
    /// No tags.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates and adds one tag, replacing an earlier value of the same key.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Result<(), TagError> {
        let (key, value) = (key.into(), value.into());
        if key.is_empty() || key.len() > 128 {
            return Err(TagError::KeyLength(key));
        }
        if value.len() > 256 {
            return Err(TagError::ValueLength(key));
        }
        if key.chars().chain(value.chars()).any(char::is_control) {
            return Err(TagError::Control(key));
        }
        self.0.insert(key, value);
        Ok(())
    }

    /// Parses `key=value`, as the CLI's `--tag` takes it.
    pub fn parse_pair(text: &str) -> Result<(String, String), TagError> {
        let (k, v) = text.split_once('=').ok_or_else(|| TagError::NoEquals(text.to_owned()))?;
        Ok((k.to_owned(), v.to_owned()))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// Whether every pair of `filter` is in `self`.
    pub fn contains_all(&self, filter: &Tags) -> bool {
        filter.0.iter().all(|(k, v)| self.0.get(k) == Some(v))
    }

    /// Adds every pair of `defaults` whose key `self` does not have.
    pub fn with_defaults(mut self, defaults: &Tags) -> Tags {
        for (k, v) in &defaults.0 {
            self.0.entry(k.clone()).or_insert_with(|| v.clone());
        }
        self
    }

    /// Pairs in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of tags.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<BTreeMap<String, String>> for Tags {
    type Error = TagError;
    fn try_from(map: BTreeMap<String, String>) -> Result<Self, TagError> {
        let mut tags = Tags::new();
        for (k, v) in map {
            tags.insert(k, v)?;
        }
        Ok(tags)
    }
}

impl From<Tags> for BTreeMap<String, String> {
    fn from(t: Tags) -> Self {
        t.0
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Tags {
    /// Collects pairs without validation errors surfacing: invalid pairs are dropped.
    /// Use [`Tags::insert`] where input comes from a user.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut tags = Tags::new();
        for (k, v) in iter {
            let _ = tags.insert(k, v);
        }
        tags
    }
}

/// A secret read from a backend: its value, version and tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// The value.
    pub value: SecretValue,
    /// The version read, where the backend has versions.
    pub version: Option<VersionId>,
    /// Its tags.
    pub tags: Tags,
}

/// What a list shows of a secret: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretMeta {
    /// The namespace it is stored in.
    pub namespace: Namespace,
    /// Its name.
    pub name: SecretName,
    /// Its latest version, where the backend has versions.
    pub version: Option<VersionId>,
    /// Its tags.
    pub tags: Tags,
    /// When it was last written, unix seconds, where the backend knows.
    pub updated_at: Option<i64>,
}

impl SecretMeta {
    /// `name` in `namespace`, with no version, no tags and no write time known: what backends
    /// without versions or tags list.
    pub fn new(namespace: Namespace, name: SecretName) -> Self {
        Self { namespace, name, version: None, tags: Tags::new(), updated_at: None }
    }

    /// The same, with `tags`.
    pub fn with_tags(mut self, tags: Tags) -> Self {
        self.tags = tags;
        self
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn stored_text_round_trips_every_value() {
        for bytes in [b"plain".to_vec(), vec![0xff, 0, 1], b"hush-base64:AAAA".to_vec(), Vec::new()] {
            let value = SecretValue::new(bytes.clone());
            assert_eq!(SecretValue::from_stored_text(&value.to_stored_text()).expose(), bytes.as_slice());
        }
        assert_eq!(SecretValue::from("plain").to_stored_text(), "plain");
        assert_eq!(SecretValue::new(vec![0xff]).to_stored_text(), "hush-base64:/w==");
        assert_eq!(SecretValue::from_stored_text("hush-base64:not base64!").expose(), b"hush-base64:not base64!");
    }
    use super::*;

    #[test]
    fn values_never_print() {
        let v = SecretValue::from("hunter2");
        assert_eq!(format!("{v:?} {v}"), "*** ***");
        let s = Secret { value: v, version: None, tags: Tags::new() };
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn tag_filters_need_every_pair() {
        let tags: Tags = [("team", "payments"), ("env", "prod")].into_iter().collect();
        let filter: Tags = [("team", "payments")].into_iter().collect();
        assert!(tags.contains_all(&filter));
        assert!(tags.contains_all(&Tags::new()));
        let other: Tags = [("team", "search")].into_iter().collect();
        assert!(!tags.contains_all(&other));
    }

    #[test]
    fn defaults_do_not_override() {
        let tags: Tags = [("team", "a")].into_iter().collect();
        let defaults: Tags = [("team", "b"), ("managed-by", "hush")].into_iter().collect();
        let merged = tags.with_defaults(&defaults);
        assert_eq!(merged.get("team"), Some("a"));
        assert_eq!(merged.get("managed-by"), Some("hush"));
    }

    #[test]
    fn tag_validation() {
        let mut t = Tags::new();
        assert_eq!(t.insert("", "x"), Err(TagError::KeyLength(String::new())));
        assert!(matches!(t.insert("k", "a\nb"), Err(TagError::Control(_))));
        assert_eq!(Tags::parse_pair("team=pay=ments").unwrap(), ("team".into(), "pay=ments".into()));
        assert!(Tags::parse_pair("team").is_err());
    }
}
