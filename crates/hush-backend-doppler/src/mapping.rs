//! The key mapping: (prefix, tenant, namespace, name) ↔ one Doppler secret name of
//! `[A-Z0-9_]`, injective and inverted by [`parse_secret_name`]; and the value mapping
//! (bytes ↔ Doppler's string values).
//!
//! A Doppler name is `<PREFIX>__<tenant>__<namespace>__<name>`, each part escaped:
//!
//! - in the tenant and namespace, a lowercase letter is written as its uppercase letter and an
//!   uppercase letter as `_` + the letter; in the name it is the other way round (uppercase
//!   plain, lowercase as `_` + the uppercase letter), so the usual lowercase tenants and
//!   namespaces and uppercase names stay readable;
//! - digits are themselves; `_` is `_0`, `-` is `_1`, the namespace's `.` is `_2`.
//!
//! Every `_` of an escaped part is followed by a character other than `_` and no part ends in
//! `_`, so `__` only ever separates parts. Example: prefix `HUSH`, tenant `acme`, namespace
//! `company.team`, name `DB_PASSWORD` → `HUSH__ACME__COMPANY_2TEAM__DB_0PASSWORD`.

use hush_core::{Namespace, Scope, SecretName, TenantId};

/// Longest Doppler name hush writes (its own bound: long enough for hush's longest keys, as no
/// Doppler limit could be verified); longer ones are refused.
pub const MAX_DOPPLER_NAME_LEN: usize = 1024;

/// What separates the parts of a Doppler name.
const SEPARATOR: &str = "__";

/// Which part is escaped: it decides which letter case is written plainly.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Tenant or namespace: lowercase plain.
    Scope,
    /// Secret name: uppercase plain.
    Name,
}

fn escape(part: Part, text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            'a'..='z' if part == Part::Scope => out.push(c.to_ascii_uppercase()),
            'A'..='Z' if part == Part::Name => out.push(c),
            'a'..='z' | 'A'..='Z' => {
                out.push('_');
                out.push(c.to_ascii_uppercase());
            }
            '0'..='9' => out.push(c),
            '_' => out.push_str("_0"),
            '-' => out.push_str("_1"),
            '.' => out.push_str("_2"),
            // Tenants, namespaces and names hold nothing else; keep the mapping total anyway.
            _ => out.push_str("_9"),
        }
    }
}

fn unescape(part: Part, text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            'A'..='Z' if part == Part::Scope => out.push(c.to_ascii_lowercase()),
            'A'..='Z' | '0'..='9' => out.push(c),
            '_' => match chars.next()? {
                '0' => out.push('_'),
                '1' => out.push('-'),
                '2' => out.push('.'),
                l @ 'A'..='Z' if part == Part::Scope => out.push(l),
                l @ 'A'..='Z' => out.push(l.to_ascii_lowercase()),
                _ => return None,
            },
            _ => return None,
        }
    }
    Some(out)
}

/// `<prefix>__<tenant>__<namespace>__`: what every Doppler name of `scope`'s secrets starts with.
pub fn namespace_folder(prefix: &str, scope: &Scope) -> String {
    let mut out = String::with_capacity(prefix.len() + 64);
    out.push_str(prefix);
    out.push_str(SEPARATOR);
    escape(Part::Scope, scope.tenant.as_str(), &mut out);
    out.push_str(SEPARATOR);
    escape(Part::Scope, scope.namespace.as_str(), &mut out);
    out.push_str(SEPARATOR);
    out
}

/// The Doppler name of secret `name` in `scope` (see the module documentation). Injective.
pub fn secret_name(prefix: &str, scope: &Scope, name: &SecretName) -> String {
    let mut out = namespace_folder(prefix, scope);
    escape(Part::Name, name.as_str(), &mut out);
    out
}

/// The Doppler name of `name` in `scope`, or `InvalidInput` when it is longer than
/// [`MAX_DOPPLER_NAME_LEN`].
pub fn checked_secret_name(prefix: &str, scope: &Scope, name: &SecretName) -> hush_core::Result<String> {
    let doppler = secret_name(prefix, scope, name);
    if doppler.len() > MAX_DOPPLER_NAME_LEN {
        return Err(hush_core::Error::invalid_input(format!(
            "secret {name} in {scope} maps to a Doppler name of {} characters, more than {MAX_DOPPLER_NAME_LEN}",
            doppler.len()
        )));
    }
    Ok(doppler)
}

/// The scope and name a Doppler name maps back to, or `None` when it is not one hush wrote with
/// `prefix` (such secrets are left out of lists).
pub fn parse_secret_name(prefix: &str, doppler: &str) -> Option<(Scope, SecretName)> {
    let rest = doppler.strip_prefix(prefix)?.strip_prefix(SEPARATOR)?;
    let mut parts = rest.split(SEPARATOR);
    let (tenant, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let tenant = TenantId::new(unescape(Part::Scope, tenant)?).ok()?;
    let namespace = Namespace::new(unescape(Part::Scope, namespace)?).ok()?;
    let name = SecretName::new(unescape(Part::Name, name)?).ok()?;
    let parsed = (Scope::new(tenant, namespace), name);
    // Only the one spelling hush writes parses (e.g. not a namespace's `_9`).
    (secret_name(prefix, &parsed.0, &parsed.1) == doppler).then_some(parsed)
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::keys::{self, name, scope};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_documented_example() {
        let doppler = secret_name("HUSH", &scope("acme", "company.team"), &name("DB_PASSWORD"));
        assert_eq!(doppler, "HUSH__ACME__COMPANY_2TEAM__DB_0PASSWORD");
        assert_eq!(parse_secret_name("HUSH", &doppler), Some((scope("acme", "company.team"), name("DB_PASSWORD"))));
        assert_eq!(namespace_folder("HUSH", &scope("Acme-1", "a_b")), "HUSH___ACME_11__A_0B__");
        assert_eq!(secret_name("P", &scope("t", "n"), &name("dbPass-2")), "P__T__N___D_BP_A_S_S_12");
        assert!(
            secret_name("HUSH", &scope("a", "b"), &name("C")).chars().all(|c| matches!(c, 'A'..='Z' | '0'..='9' | '_'))
        );
    }

    #[test]
    fn foreign_names_do_not_parse() {
        for foreign in [
            "DATABASE_URL",
            "HUSH__ACME__X",
            "HUSH__ACME__X__N__M",
            "OTHER__ACME__X__N",
            "HUSH__ACME__X__",
            "HUSH__ACME____N",
            "HUSH__ACME__X__N_",
            "HUSH__ACME__X__N_7",
            "HUSH__ACME__X__N_2",
            "HUSH__ACME__X_9Y__N",
        ] {
            assert_eq!(parse_secret_name("HUSH", foreign), None, "{foreign}");
        }
    }

    #[test]
    fn long_keys_are_refused() {
        let deep = format!("{}.x", "a".repeat(60));
        assert!(checked_secret_name("HUSH", &scope("t", &deep), &name("N")).is_ok());
        let huge = name(&"x".repeat(128));
        let ns = ["b".repeat(60), "c".repeat(60), "d".repeat(60), "e".repeat(60)].join(".");
        let err = checked_secret_name(&"P".repeat(700), &scope("t", &ns), &huge).unwrap_err();
        assert_eq!(err.kind(), hush_core::ErrorKind::InvalidInput);
    }

    fn token() -> impl Strategy<Value = String> + Clone {
        "[aAbB0_-]{1,3}"
    }

    fn secret() -> impl Strategy<Value = (Scope, SecretName)> {
        keys::secrets(token())
    }

    fn prefix() -> impl Strategy<Value = String> {
        prop_oneof![Just("HUSH".to_owned()), Just("A_".to_owned()), Just("X1".to_owned())]
    }

    proptest! {
        #[test]
        fn the_mapping_is_injective_and_inverted_by_parse(prefix in prefix(), a in secret(), b in secret()) {
            let doppler = |scope: &Scope, name: &SecretName| secret_name(&prefix, scope, name);
            keys::check_key_mapping(&a, &b, doppler, |scope, name| parse_secret_name(&prefix, &doppler(scope, name)))?;
            let text = doppler(&a.0, &a.1);
            prop_assert!(text.chars().all(|c| matches!(c, 'A'..='Z' | '0'..='9' | '_')), "{}", text);
        }

        #[test]
        fn a_namespace_folder_holds_exactly_its_secrets((scope, name) in secret(), other in keys::namespaces(token())) {
            let folder = namespace_folder("HUSH", &Scope::new(scope.tenant.clone(), other.clone()));
            let inside = secret_name("HUSH", &scope, &name).starts_with(&folder);
            prop_assert_eq!(inside, other == scope.namespace);
        }
    }
}
