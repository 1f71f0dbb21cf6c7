//! Building blocks for the key-mapping tests of every backend: literal ids, and proptest
//! strategies of scopes and names over an alphabet the backend chooses (a small one, so that
//! distinct inputs often share parts; mixed case where the store is case-insensitive).

use hush_core::{Namespace, Scope, SecretName, TenantId};
use proptest::prelude::*;

/// `tenant`/`namespace` as a scope; panics on an invalid literal.
pub fn scope(tenant: &str, namespace: &str) -> Scope {
    Scope::new(TenantId::new(tenant).expect("a valid tenant"), Namespace::new(namespace).expect("a valid namespace"))
}

/// `text` as a secret name; panics on an invalid literal.
pub fn name(text: &str) -> SecretName {
    SecretName::new(text).expect("a valid name")
}

/// Namespaces of 1 to 4 segments drawn from `token`.
pub fn namespaces<S>(token: S) -> impl Strategy<Value = Namespace>
where
    S: Strategy<Value = String> + Clone,
{
    prop::collection::vec(token, 1..5).prop_map(|segments| Namespace::from_segments(segments).expect("valid segments"))
}

/// (scope, name) pairs whose tenant, segments and name are drawn from `token`.
pub fn secrets<S>(token: S) -> impl Strategy<Value = (Scope, SecretName)>
where
    S: Strategy<Value = String> + Clone,
{
    (token.clone(), namespaces(token.clone()), token).prop_map(|(tenant, namespace, name)| {
        (
            Scope::new(TenantId::new(tenant).expect("a valid tenant"), namespace),
            SecretName::new(name).expect("a valid name"),
        )
    })
}

/// The two properties every key mapping has, checked for one proptest case: `a`'s key reads
/// back as `a` (`round_trip` maps and parses), and two secrets share a key only when they are
/// the same secret (`key` is the stored key, compared as the store compares it).
pub fn check_key_mapping<K: PartialEq + std::fmt::Debug>(
    a: &(Scope, SecretName),
    b: &(Scope, SecretName),
    key: impl Fn(&Scope, &SecretName) -> K,
    round_trip: impl Fn(&Scope, &SecretName) -> Option<(Scope, SecretName)>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(round_trip(&a.0, &a.1), Some(a.clone()), "the key of {:?} does not read back", a);
    let (key_a, key_b) = (key(&a.0, &a.1), key(&b.0, &b.1));
    prop_assert_eq!(a == b, key_a == key_b, "{:?} and {:?} map to {:?} and {:?}", a, b, key_a, key_b);
    Ok(())
}
