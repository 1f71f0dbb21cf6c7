//! The key mapping: (prefix, tenant, namespace, name) to an AWS Secrets Manager secret name.
//!
//! `secret("DB_PASSWORD")` of tenant `acme`, namespace `company.team`, prefix `hush/` is the
//! AWS secret named `hush/acme/company.team/DB_PASSWORD`:
//!
//! ```text
//! <prefix><tenant>/<namespace, dotted as is>/<NAME>
//! ```
//!
//! AWS names allow `[A-Za-z0-9/_+=.@-]`, so the dotted namespace needs no escaping.
//!
//! **Why it is injective.** Tenants, namespace segments and names are `[A-Za-z0-9_-]`
//! (validated in `hush-core`) and a namespace joins its segments with `.`: none of the three
//! parts holds a `/`. Cut the part after the (constant) prefix at every `/`: there are exactly
//! three parts, the tenant, the namespace and the name. Two different (tenant, namespace,
//! name) therefore give two different names; [`parse_secret_name`] is the inverse, and a
//! property test checks it.
//!
//! A namespace's secrets share the name prefix [`namespace_folder`]
//! (`<prefix><tenant>/<namespace>/`); its descendants' secrets share
//! `<prefix><tenant>/<namespace>.`, so listing a subtree asks AWS for names starting with
//! `<prefix><tenant>/<namespace>` and keeps only those whose namespace is in the subtree.

use hush_core::{Namespace, Scope, SecretName, TenantId};

/// The AWS secret name of a secret: `<prefix><tenant>/<namespace>/<name>`.
pub fn secret_name(prefix: &str, scope: &Scope, name: &SecretName) -> String {
    let mut path = namespace_folder(prefix, scope);
    path.push_str(name.as_str());
    path
}

/// The name prefix every secret of a namespace (and no other secret) has:
/// `<prefix><tenant>/<namespace>/`.
pub fn namespace_folder(prefix: &str, scope: &Scope) -> String {
    let mut path =
        String::with_capacity(prefix.len() + scope.tenant.as_str().len() + scope.namespace.as_str().len() + 2);
    path.push_str(prefix);
    path.push_str(scope.tenant.as_str());
    path.push('/');
    path.push_str(scope.namespace.as_str());
    path.push('/');
    path
}

/// The (scope, name) whose [`secret_name`] is `aws_name`, or `None` when it is not one.
pub fn parse_secret_name(prefix: &str, aws_name: &str) -> Option<(Scope, SecretName)> {
    let rest = aws_name.strip_prefix(prefix)?;
    let mut parts = rest.split('/');
    let (tenant, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let scope = Scope::new(TenantId::new(tenant).ok()?, Namespace::new(namespace).ok()?);
    Some((scope, SecretName::new(name).ok()?))
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::keys::{self, name, scope};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_documented_example() {
        let aws = secret_name("hush/", &scope("acme", "company.team"), &name("DB_PASSWORD"));
        assert_eq!(aws, "hush/acme/company.team/DB_PASSWORD");
        assert_eq!(namespace_folder("", &scope("acme", "company")), "acme/company/");
        assert_eq!(parse_secret_name("hush/", &aws), Some((scope("acme", "company.team"), name("DB_PASSWORD"))));
    }

    #[test]
    fn foreign_names_do_not_parse() {
        assert_eq!(parse_secret_name("hush/", "other/acme/a/N"), None);
        assert_eq!(parse_secret_name("", "acme/N"), None);
        assert_eq!(parse_secret_name("", "acme/a/b/N"), None);
        assert_eq!(parse_secret_name("", "acme/a..b/N"), None);
        assert_eq!(parse_secret_name("", "acme//N"), None);
        assert_eq!(parse_secret_name("", "acme/a/"), None);
        assert_eq!(parse_secret_name("", "acme/a/N+1"), None);
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
        prop_oneof![Just(String::new()), Just("hush/".to_owned()), Just("a-".to_owned()), Just("x/y.z/".to_owned())]
    }

    proptest! {
        #[test]
        fn the_mapping_is_injective_and_inverted_by_parse(prefix in prefix(), a in secret(), b in secret()) {
            let aws = |scope: &Scope, name: &SecretName| secret_name(&prefix, scope, name);
            keys::check_key_mapping(&a, &b, aws, |scope, name| parse_secret_name(&prefix, &aws(scope, name)))?;
        }

        #[test]
        fn a_namespace_folder_holds_exactly_its_secrets(
            prefix in prefix(),
            (scope, name) in secret(),
            other in namespace(),
        ) {
            let folder = namespace_folder(&prefix, &Scope::new(scope.tenant.clone(), other.clone()));
            let inside = secret_name(&prefix, &scope, &name).starts_with(&folder);
            prop_assert_eq!(inside, other == scope.namespace);
        }
    }
}
