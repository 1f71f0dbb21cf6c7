//! The key mapping: (prefix, tenant, namespace, name) ↔ one Conjur variable id, injective and
//! inverted by [`parse_variable_id`]; and how an id is written into a URL path.
//!
//! Secret `DB_PASSWORD` of tenant `acme`, namespace `company.team`, prefix `hush` is the
//! variable `hush/acme/company/team/DB_PASSWORD`:
//!
//! ```text
//! <prefix>/<tenant>/<namespace segments joined by '/'>/<NAME>
//! ```
//!
//! **Why it is injective without escaping.** Tenants, namespace segments and names are
//! `[A-Za-z0-9_-]` (validated in `hush-core`), so none holds a `/`, and a namespace has at
//! least one segment. Cut the part after the (constant) prefix and its `/` at every `/`: the
//! first part is the tenant, the last is the name, and the parts between are the namespace's
//! segments, in order. [`parse_variable_id`] is the inverse; a property test checks both.
//! Conjur ids are case-sensitive, as hush's keys are.

use hush_core::{Scope, SecretName};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What is percent-encoded in a URL path segment: everything but `[A-Za-z0-9_.~-]`, as the
/// official Python client's `urllib.parse.quote(value, safe='')` does (so `/` is `%2F`).
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'_').remove(b'.').remove(b'~').remove(b'-');

/// `<prefix>/<tenant>/<segment>/.../<segment>/`: what the id of every variable of `scope` (and
/// of no other namespace) starts with; descendants' ids start with it too.
pub fn namespace_folder(prefix: &str, scope: &Scope) -> String {
    format!("{prefix}/{}", scope.joined_folder('/'))
}

/// The Conjur variable id of secret `name` in `scope` (see the module documentation).
/// Injective.
pub fn variable_id(prefix: &str, scope: &Scope, name: &SecretName) -> String {
    format!("{prefix}/{}", scope.joined_key(name, '/'))
}

/// The scope and name variable `id` maps back to, or `None` when it is not one hush uses under
/// `prefix` (such variables are left out of lists).
pub fn parse_variable_id(prefix: &str, id: &str) -> Option<(Scope, SecretName)> {
    Scope::split_joined_key(id.strip_prefix(prefix)?.strip_prefix('/')?, '/')
}

/// `text` as one URL path segment (`host/app` → `host%2Fapp`), as the official clients send
/// accounts, logins and variable ids.
pub fn path_segment(text: &str) -> String {
    utf8_percent_encode(text, PATH_SEGMENT).to_string()
}

/// The fully qualified id `<account>:variable:<id>` the batch call names variables by.
pub fn qualified_variable_id(account: &str, id: &str) -> String {
    format!("{account}:variable:{id}")
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::keys::{self, name, scope};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_documented_example() {
        let id = variable_id("hush", &scope("acme", "company.team"), &name("DB_PASSWORD"));
        assert_eq!(id, "hush/acme/company/team/DB_PASSWORD");
        assert_eq!(parse_variable_id("hush", &id), Some((scope("acme", "company.team"), name("DB_PASSWORD"))));
        assert_eq!(namespace_folder("data/hush", &scope("acme", "a")), "data/hush/acme/a/");
        assert_eq!(path_segment(&id), "hush%2Facme%2Fcompany%2Fteam%2FDB_PASSWORD");
        assert_eq!(path_segment("host/app-1.x~y z"), "host%2Fapp-1.x~y%20z");
        assert_eq!(qualified_variable_id("myorg", "hush/a/b/C"), "myorg:variable:hush/a/b/C");
    }

    #[test]
    fn foreign_ids_do_not_parse() {
        for foreign in [
            "prod/db/password",
            "hush/acme/N",
            "hush/acme//N",
            "hush/acme/a/",
            "hushx/acme/a/N",
            "other/hush/acme/a/N",
            "hush/acme/a.b/N",
            "hush/ac me/a/N",
            "hush",
        ] {
            assert_eq!(parse_variable_id("hush", foreign), None, "{foreign}");
        }
    }

    fn token() -> impl Strategy<Value = String> + Clone {
        "[aA0_-]{1,3}"
    }

    fn prefix() -> impl Strategy<Value = String> {
        prop_oneof![Just("hush".to_owned()), Just("data/hush".to_owned()), Just("a".to_owned())]
    }

    proptest! {
        #[test]
        fn the_mapping_is_injective_and_inverted_by_parse(
            prefix in prefix(),
            a in keys::secrets(token()),
            b in keys::secrets(token()),
        ) {
            let id = |scope: &Scope, name: &SecretName| variable_id(&prefix, scope, name);
            keys::check_key_mapping(&a, &b, id, |scope, name| parse_variable_id(&prefix, &id(scope, name)))?;
        }

        #[test]
        fn a_namespace_folder_holds_its_secrets_and_descendants(
            (scope, name) in keys::secrets(token()),
            other in keys::namespaces(token()),
        ) {
            let folder = namespace_folder("hush", &Scope::new(scope.tenant.clone(), other.clone()));
            let inside = variable_id("hush", &scope, &name).starts_with(&folder);
            prop_assert_eq!(inside, other.is_self_or_ancestor_of(&scope.namespace));
        }
    }
}
