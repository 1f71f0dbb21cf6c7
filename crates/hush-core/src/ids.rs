//! Validated identifiers: tenants, namespaces, secret names and versions.
//!
//! Every identifier is checked once, when it is built, so a backend never sees a name it
//! would have to escape. The allowed alphabet, `[A-Za-z0-9_-]`, maps onto NATS subject
//! tokens, SQL columns, Vault paths and cloud secret names without quoting.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest tenant id, in bytes.
pub const MAX_TENANT_LEN: usize = 63;
/// Longest namespace segment, in bytes.
pub const MAX_SEGMENT_LEN: usize = 63;
/// Most segments in a namespace.
pub const MAX_NAMESPACE_DEPTH: usize = 16;
/// Longest namespace, dots included, in bytes.
pub const MAX_NAMESPACE_LEN: usize = 255;
/// Longest secret name, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Longest version id, in bytes.
const MAX_VERSION_LEN: usize = 64;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The identifier is empty.
    #[error("{what} is empty")]
    Empty {
        /// What was being parsed ("tenant id", "secret name", ...).
        what: &'static str,
    },
    /// The identifier is longer than its limit.
    #[error("{what} is {len} bytes long, the limit is {max}")]
    TooLong {
        /// What was being parsed.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The identifier holds a character outside its alphabet.
    #[error("{what} {shown:?} holds {found:?} at byte {at}; allowed are letters, digits, '_' and '-'{extra}")]
    BadChar {
        /// What was being parsed.
        what: &'static str,
        /// The identifier, cut to a printable length.
        shown: String,
        /// The refused character.
        found: char,
        /// Its byte offset.
        at: usize,
        /// Extra allowed characters, as text for the message.
        extra: &'static str,
    },
    /// The namespace has too many segments.
    #[error("namespace has {depth} segments, the limit is {max}")]
    TooDeep {
        /// Its depth.
        depth: usize,
        /// The limit.
        max: usize,
    },
}

fn shown(s: &str) -> String {
    s.chars().take(80).collect()
}

fn check_token(what: &'static str, s: &str, max: usize, extra: &str, extra_msg: &'static str) -> Result<(), IdError> {
    if s.is_empty() {
        return Err(IdError::Empty { what });
    }
    if s.len() > max {
        return Err(IdError::TooLong { what, len: s.len(), max });
    }
    if let Some((at, found)) =
        s.char_indices().find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-' || extra.contains(*c)))
    {
        return Err(IdError::BadChar { what, shown: shown(s), found, at, extra: extra_msg });
    }
    Ok(())
}

macro_rules! token_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr, $extra:literal, $extra_msg:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps `s`.
            pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
                let s = s.into();
                Self::check(&s)?;
                Ok(Self(s))
            }

            /// Why `s` is not a valid identifier of this kind, if it is not, without taking it:
            /// check first, then [`new`](Self::new) takes the string itself (no copy) and a
            /// refused one stays with its owner.
            pub fn check(s: &str) -> Result<(), IdError> {
                check_token($what, s, $max, $extra, $extra_msg)
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

token_type!(
    /// A tenant: an isolated customer of the engine (`acme`). `[A-Za-z0-9_-]`, 1 to 63 bytes.
    TenantId, "tenant id", MAX_TENANT_LEN, "", ""
);
token_type!(
    /// A secret's name (`DB_PASSWORD`). `[A-Za-z0-9_-]`, 1 to 128 bytes.
    SecretName, "secret name", MAX_NAME_LEN, "", ""
);
token_type!(
    /// A backend's version id: a number for the SQL store and Vault, an id for AWS.
    /// `[A-Za-z0-9_.-]`, 1 to 64 bytes.
    VersionId, "version id", MAX_VERSION_LEN, ".", " and '.'"
);

impl VersionId {
    /// The version as a number, for backends that number versions (the SQL store, Vault KV v2,
    /// Google): a canonical decimal of at least 1, so `"01"`, `"0"` and `"1.0"` are no number
    /// and cannot alias version 1.
    pub fn number(&self) -> Option<u64> {
        let number: u64 = self.0.parse().ok()?;
        (number > 0 && number.to_string() == self.0).then_some(number)
    }
}

/// A dotted namespace inside a tenant (`company.team.etl`): 1 to 16 segments, each
/// `[A-Za-z0-9_-]` and 1 to 63 bytes, 255 bytes in all.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Namespace(String);

impl Namespace {
    /// Validates and wraps a dotted namespace.
    pub fn new(s: impl Into<String>) -> Result<Self, IdError> {
        let s = s.into();
        if s.is_empty() {
            return Err(IdError::Empty { what: "namespace" });
        }
        if s.len() > MAX_NAMESPACE_LEN {
            return Err(IdError::TooLong { what: "namespace", len: s.len(), max: MAX_NAMESPACE_LEN });
        }
        let depth = s.split('.').count();
        if depth > MAX_NAMESPACE_DEPTH {
            return Err(IdError::TooDeep { depth, max: MAX_NAMESPACE_DEPTH });
        }
        for segment in s.split('.') {
            check_token("namespace segment", segment, MAX_SEGMENT_LEN, "", "")?;
        }
        Ok(Self(s))
    }

    /// Builds a namespace from its segments (`["company", "team"]` is `company.team`).
    pub fn from_segments<I, S>(segments: I) -> Result<Self, IdError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let joined: Vec<String> = segments.into_iter().map(|s| s.as_ref().to_owned()).collect();
        Self::new(joined.join("."))
    }

    /// The dotted form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> impl DoubleEndedIterator<Item = &str> + '_ {
        self.0.split('.')
    }

    /// How many segments it has.
    pub fn depth(&self) -> usize {
        self.segments().count()
    }

    /// The parent namespace, or `None` for a top-level one.
    pub fn parent(&self) -> Option<Namespace> {
        self.0.rfind('.').map(|i| Namespace(self.0[..i].to_owned()))
    }

    /// This namespace, then each ancestor, nearest first: `a.b.c`, `a.b`, `a`.
    /// This is the order in which a secret is looked up.
    pub fn lineage(&self) -> impl Iterator<Item = Namespace> + '_ {
        std::iter::successors(Some(self.clone()), Namespace::parent)
    }

    /// [`lineage`](Self::lineage) as borrowed text: `a.b.c`, `a.b`, `a`, with no allocation.
    pub fn lineage_str(&self) -> impl Iterator<Item = &str> + '_ {
        std::iter::successors(Some(self.0.as_str()), |level| level.rfind('.').map(|at| &level[..at]))
    }

    /// Whether `self` is `other` or one of its ancestors.
    pub fn is_self_or_ancestor_of(&self, other: &Namespace) -> bool {
        other.0 == self.0 || (other.0.starts_with(&self.0) && other.0.as_bytes().get(self.0.len()) == Some(&b'.'))
    }
}

/// Looks a namespace up by its text (`HashMap<Namespace, _>::get(&str)`): hashes and compares
/// as its `String`.
impl std::borrow::Borrow<str> for Namespace {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Namespace {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        Self::new(s)
    }
}

impl From<Namespace> for String {
    fn from(v: Namespace) -> String {
        v.0
    }
}

impl FromStr for Namespace {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::new(s)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Namespace({:?})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_accept_the_alphabet_and_refuse_the_rest() {
        assert!(SecretName::new("DB_PASSWORD-2").is_ok());
        assert!(matches!(SecretName::new(""), Err(IdError::Empty { .. })));
        assert!(matches!(SecretName::new("a.b"), Err(IdError::BadChar { found: '.', at: 1, .. })));
        assert!(matches!(SecretName::new("a/b"), Err(IdError::BadChar { found: '/', .. })));
        assert!(matches!(SecretName::new("x".repeat(129)), Err(IdError::TooLong { len: 129, .. })));
        assert!(SecretName::new("x".repeat(128)).is_ok());
        assert!(matches!(TenantId::new("acme corp"), Err(IdError::BadChar { found: ' ', .. })));
        assert!(VersionId::new("1.2").is_ok());
    }

    #[test]
    fn version_numbers_are_canonical_positive_decimals() {
        let v = |s: &str| VersionId::new(s).unwrap().number();
        assert_eq!(v("1"), Some(1));
        assert_eq!(v("42"), Some(42));
        for not_a_number in ["0", "01", "-1", "1.0", "latest", "99999999999999999999999"] {
            assert_eq!(v(not_a_number), None, "{not_a_number}");
        }
    }

    #[test]
    fn namespace_lineage_is_nearest_first() {
        let ns = Namespace::new("company.team.etl").unwrap();
        let lineage: Vec<String> = ns.lineage().map(String::from).collect();
        assert_eq!(lineage, ["company.team.etl", "company.team", "company"]);
        assert_eq!(ns.lineage_str().collect::<Vec<_>>(), lineage);
        assert_eq!(ns.depth(), 3);
        assert_eq!(Namespace::new("company").unwrap().parent(), None);
    }

    #[test]
    fn namespace_validation_names_the_problem() {
        assert!(matches!(Namespace::new("a..b"), Err(IdError::Empty { what: "namespace segment" })));
        assert!(matches!(Namespace::new(".a"), Err(IdError::Empty { .. })));
        assert!(matches!(Namespace::new("a.b c"), Err(IdError::BadChar { found: ' ', .. })));
        let deep = vec!["a"; 17].join(".");
        assert!(matches!(Namespace::new(deep), Err(IdError::TooDeep { depth: 17, .. })));
        assert!(Namespace::new(vec!["a"; 16].join(".")).is_ok());
    }

    #[test]
    fn ancestry_is_by_segment_not_by_prefix() {
        let team = Namespace::new("company.team").unwrap();
        assert!(team.is_self_or_ancestor_of(&Namespace::new("company.team.etl").unwrap()));
        assert!(team.is_self_or_ancestor_of(&team));
        assert!(!team.is_self_or_ancestor_of(&Namespace::new("company.teamwork").unwrap()));
        assert!(!team.is_self_or_ancestor_of(&Namespace::new("company").unwrap()));
    }

    #[test]
    fn serde_validates_on_the_way_in() {
        let ok: SecretName = serde_json::from_str("\"A\"").unwrap();
        assert_eq!(ok.as_str(), "A");
        assert!(serde_json::from_str::<SecretName>("\"a b\"").is_err());
        assert!(serde_json::from_str::<Namespace>("\"a..b\"").is_err());
    }
}
