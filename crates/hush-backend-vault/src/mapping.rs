//! The key mapping: (prefix, tenant, namespace, name) to a path inside the KV mount.
//!
//! `secret("DB_PASSWORD")` of tenant `acme`, namespace `company.team`, prefix `hush/`, mount
//! `secret` (KV v2) is the entry `secret/data/hush/acme/company/team/DB_PASSWORD`:
//!
//! ```text
//! <root_engine>/data/<prefix><tenant>/<namespace segments joined by '/'>/<NAME>    (KV v2)
//! <root_engine>/<prefix><tenant>/<namespace segments joined by '/'>/<NAME>         (KV v1)
//! ```
//!
//! **Why it is injective without escaping or a marker folder.** Tenants, namespace segments
//! and names are `[A-Za-z0-9_-]` (validated in `hush-core`), so none holds a `/`, and a
//! namespace has at least one segment. Cut the part after the (constant) prefix at every
//! `/`: the first part is the tenant, the last is the name, and the parts between are the
//! namespace's segments, in order. Two different (tenant, namespace, name) therefore give
//! two different paths; [`parse_secret_path`] is the inverse, and a property test checks it.
//!
//! A path can be a secret and a folder at once: `acme/a/b/NAME` is secret `NAME` of
//! namespace `a.b`, while `acme/a/b/NAME/X` is secret `X` of namespace `a.b.NAME`. Vault
//! keeps them apart (a `LIST` of `acme/a/b/` answers `NAME` for the secret and `NAME/` for
//! the folder), so secrets and child namespaces never collide, and a reserved folder
//! marker is not needed.

use hush_core::{Scope, SecretName};

/// The path of a secret inside the KV mount (without the mount and without KV v2's `data/`):
/// `<prefix><tenant>/<segment>/.../<segment>/<name>`.
pub fn secret_path(prefix: &str, scope: &Scope, name: &SecretName) -> String {
    format!("{prefix}{}", scope.joined_key(name, '/'))
}

/// The folder of a namespace inside the KV mount: `<prefix><tenant>/<segment>/.../<segment>/`.
///
/// Listing it shows the namespace's secrets (keys without `/`) and its child namespaces
/// (keys ending in `/`). The folder of a namespace is a prefix of the path of every secret
/// of that namespace and of its descendants, and of no other secret.
pub fn namespace_folder(prefix: &str, scope: &Scope) -> String {
    format!("{prefix}{}", scope.joined_folder('/'))
}

/// The (scope, name) whose [`secret_path`] is `path`, or `None` when `path` is not one.
pub fn parse_secret_path(prefix: &str, path: &str) -> Option<(Scope, SecretName)> {
    Scope::split_joined_key(path.strip_prefix(prefix)?, '/')
}

/// The HTTP API path (under `/v1/`) of the entry at `path` in mount `mount`:
/// `<mount>/data/<path>` for KV v2, `<mount>/<path>` for KV v1. For messages and docs.
pub fn api_path(mount: &str, engine_version: u8, path: &str) -> String {
    if engine_version == 1 { format!("{mount}/{path}") } else { format!("{mount}/data/{path}") }
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::keys::{self, name, scope};
    use hush_core::Namespace;
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_documented_example() {
        let path = secret_path("hush/", &scope("acme", "company.team"), &name("DB_PASSWORD"));
        assert_eq!(path, "hush/acme/company/team/DB_PASSWORD");
        assert_eq!(api_path("secret", 2, &path), "secret/data/hush/acme/company/team/DB_PASSWORD");
        assert_eq!(api_path("kv1", 1, &path), "kv1/hush/acme/company/team/DB_PASSWORD");
        assert_eq!(namespace_folder("", &scope("acme", "company")), "acme/company/");
    }

    #[test]
    fn a_secret_and_a_child_namespace_of_its_name_differ() {
        let secret = secret_path("", &scope("t", "a.b"), &name("NAME"));
        let child = secret_path("", &scope("t", "a.b.NAME"), &name("X"));
        assert_eq!(secret, "t/a/b/NAME");
        assert_eq!(child, "t/a/b/NAME/X");
        assert_ne!(secret, child);
        assert_eq!(parse_secret_path("", &secret), Some((scope("t", "a.b"), name("NAME"))));
        assert_eq!(parse_secret_path("", &child), Some((scope("t", "a.b.NAME"), name("X"))));
    }

    #[test]
    fn foreign_paths_do_not_parse() {
        assert_eq!(parse_secret_path("hush/", "other/acme/a/N"), None);
        assert_eq!(parse_secret_path("", "acme/N"), None);
        assert_eq!(parse_secret_path("", "acme/a/b.c/N"), None);
        assert_eq!(parse_secret_path("", "acme//N"), None);
        assert_eq!(parse_secret_path("", "acme/a/"), None);
    }

    fn token() -> impl Strategy<Value = String> + Clone {
        // Short, from a tiny alphabet, so distinct inputs often share parts.
        "[ab_-]{1,3}"
    }

    fn namespace() -> impl Strategy<Value = Namespace> {
        keys::namespaces(token())
    }

    fn secret() -> impl Strategy<Value = (Scope, SecretName)> {
        keys::secrets(token())
    }

    fn prefix() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), Just("hush/".to_owned()), Just("a-".to_owned()), Just("x/y/".to_owned())]
    }

    proptest! {
        #[test]
        fn the_mapping_is_injective_and_inverted_by_parse(prefix in prefix(), a in secret(), b in secret()) {
            let path = |scope: &Scope, name: &SecretName| secret_path(&prefix, scope, name);
            keys::check_key_mapping(&a, &b, path, |scope, name| parse_secret_path(&prefix, &path(scope, name)))?;
        }

        #[test]
        fn a_namespace_folder_holds_exactly_its_subtree(
            prefix in prefix(),
            (scope, name) in secret(),
            other in namespace(),
        ) {
            let folder = namespace_folder(&prefix, &Scope::new(scope.tenant.clone(), other.clone()));
            let inside = secret_path(&prefix, &scope, &name).starts_with(&folder);
            prop_assert_eq!(inside, other.is_self_or_ancestor_of(&scope.namespace));
        }
    }
}
