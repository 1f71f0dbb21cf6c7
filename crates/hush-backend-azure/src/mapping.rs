//! The key mapping: (prefix, tenant, namespace, name) to a Key Vault secret name.
//!
//! Key Vault secret names are 1 to 127 characters of `[0-9a-zA-Z-]` and **case-insensitive**
//! (`DB` and `db` are one secret), while hush's tenants, namespace segments and names are
//! case-sensitive `[A-Za-z0-9_-]`. Each part is therefore escaped into lowercase letters,
//! digits and `-`, with `-` as the escape character:
//!
//! | in a part | written as |
//! | --- | --- |
//! | `a`-`z`, `0`-`9` | itself |
//! | `A`-`Z` | itself in lowercase, inside an upper-case run opened and closed by `-c` |
//! | `-` | `--` |
//! | `_` | `-u` |
//! | between namespace segments | `-s` |
//! | between tenant, namespace and name | `-x` |
//!
//! ```text
//! <prefix><tenant>-x<segment>-s<segment>...-x<NAME>
//! ```
//!
//! `secret("DB_PASSWORD")` of tenant `acme`, namespace `company.team`, prefix `hush-`:
//! `hush-acme-xcompany-steam-x-cdb-upassword-c`.
//!
//! **Why it is injective.** The encoding is read back left to right by [`parse_secret_name`]:
//! after the (constant) prefix, a letter or digit is itself (upper case while a `-c` run is
//! open), and a `-` is always followed by exactly one of `-`, `u`, `c`, `s`, `x`, which says
//! what it stands for. Decoding the encoding of any (tenant, namespace, name) gives it back
//! (a property test checks this), so two different inputs cannot share an encoding. The
//! encoding holds no upper-case letter, so Key Vault's case-insensitivity cannot merge two
//! encodings either (the prefix is the same for all).
//!
//! **Long names.** hush allows names of 128 bytes and namespaces of 255, which an escaped
//! name cannot fit into Key Vault's 127 characters. When the escaped form is longer than 127,
//! the secret is stored under `<prefix>-h<64 hex digits>`, the SHA-256 of the escaped form
//! (after the prefix). Escaping never writes `-h`, so hashed names never meet escaped ones;
//! two hashed names are equal only if SHA-256 collides. Such a name cannot be read back, so
//! [`parse_listed_name`] takes the parts from the secret's `hush-tenant`, `hush-namespace`
//! and `hush-name` tags and accepts them only when they map to that very name. A prefix so
//! long that even the hashed form exceeds 127 characters is refused with `InvalidInput`.

use hush_core::{Error, Namespace, Scope, SecretName, TenantId};
use sha2::{Digest, Sha256};

/// The longest secret name Key Vault accepts.
pub const MAX_SECRET_NAME: usize = 127;

/// Appends the escaped form of one part (`[A-Za-z0-9_-]`) to `out`.
fn escape_into(part: &str, out: &mut String) {
    let mut upper = false;
    for c in part.chars() {
        if c.is_ascii_alphabetic() && c.is_ascii_uppercase() != upper {
            out.push_str("-c");
            upper = !upper;
        }
        match c {
            '-' => out.push_str("--"),
            '_' => out.push_str("-u"),
            c => out.push(c.to_ascii_lowercase()),
        }
    }
    if upper {
        out.push_str("-c");
    }
}

/// The Key Vault secret name of a hush secret: `<prefix><tenant>-x<segments joined by -s>-x<name>`,
/// each part escaped (see the module docs). `InvalidInput` when longer than 127 characters.
pub fn secret_name(prefix: &str, scope: &Scope, name: &SecretName) -> Result<String, Error> {
    let mut out = String::with_capacity(prefix.len() + 2 * (scope.namespace.as_str().len() + name.as_str().len()));
    out.push_str(prefix);
    escape_into(scope.tenant.as_str(), &mut out);
    out.push_str("-x");
    for (i, segment) in scope.namespace.segments().enumerate() {
        if i > 0 {
            out.push_str("-s");
        }
        escape_into(segment, &mut out);
    }
    out.push_str("-x");
    escape_into(name.as_str(), &mut out);
    if out.len() <= MAX_SECRET_NAME {
        return Ok(out);
    }
    let digest = Sha256::digest(&out.as_bytes()[prefix.len()..]);
    let mut hashed = String::with_capacity(prefix.len() + 66);
    hashed.push_str(prefix);
    hashed.push_str(HASHED_MARK);
    for byte in digest {
        hashed.push_str(&format!("{byte:02x}"));
    }
    if hashed.len() > MAX_SECRET_NAME {
        return Err(Error::invalid_input(format!(
            "secret {name} in {scope} does not fit a Key Vault name of {MAX_SECRET_NAME} characters with a prefix of \
             {} characters",
            prefix.len()
        )));
    }
    Ok(hashed)
}

/// What follows the prefix in a hashed name (never written by escaping).
const HASHED_MARK: &str = "-h";

/// Whether `vault_name` is a hashed name under `prefix` (see "Long names" above).
pub fn is_hashed_name(prefix: &str, vault_name: &str) -> bool {
    let Some(head) = vault_name.get(..prefix.len()) else { return false };
    let rest = &vault_name[prefix.len()..];
    head.eq_ignore_ascii_case(prefix)
        && rest.len() == HASHED_MARK.len() + 64
        && rest[..HASHED_MARK.len()].eq_ignore_ascii_case(HASHED_MARK)
        && rest[HASHED_MARK.len()..].chars().all(|c| c.is_ascii_hexdigit())
}

/// The (scope, name) of a listed secret: read from the name itself, or, for a hashed name,
/// from its `hush-*` tags when they map to exactly that name. `None` for anything else.
pub fn parse_listed_name(
    prefix: &str,
    vault_name: &str,
    tenant_tag: Option<&str>,
    namespace_tag: Option<&str>,
    name_tag: Option<&str>,
) -> Option<(Scope, SecretName)> {
    if !is_hashed_name(prefix, vault_name) {
        return parse_secret_name(prefix, vault_name);
    }
    let scope = Scope::new(TenantId::new(tenant_tag?).ok()?, Namespace::new(namespace_tag?).ok()?);
    let name = SecretName::new(name_tag?).ok()?;
    let mapped = secret_name(prefix, &scope, &name).ok()?;
    mapped.eq_ignore_ascii_case(vault_name).then_some((scope, name))
}

/// The (scope, name) whose [`secret_name`] is `vault_name`, or `None` when it is not one
/// (another application's secret, or another prefix). The prefix is compared
/// case-insensitively, as Key Vault compares names.
pub fn parse_secret_name(prefix: &str, vault_name: &str) -> Option<(Scope, SecretName)> {
    let head = vault_name.get(..prefix.len())?;
    if !head.eq_ignore_ascii_case(prefix) {
        return None;
    }
    let rest = vault_name.get(prefix.len()..)?;
    // Parts: [tenant, segment, segment, ..., name]; `-x` ends the tenant and the namespace.
    let mut parts: Vec<String> = vec![String::new()];
    let mut separators = 0;
    let mut upper = false;
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        let current = parts.last_mut()?;
        match c {
            '-' => match chars.next()?.to_ascii_lowercase() {
                '-' => current.push('-'),
                'u' => current.push('_'),
                'c' => upper = !upper,
                's' if separators == 1 && !upper => parts.push(String::new()),
                'x' if separators < 2 && !upper => {
                    separators += 1;
                    parts.push(String::new());
                }
                _ => return None,
            },
            c if c.is_ascii_digit() => current.push(c),
            c if c.is_ascii_alphabetic() => {
                let c = c.to_ascii_lowercase();
                current.push(if upper { c.to_ascii_uppercase() } else { c });
            }
            _ => return None,
        }
    }
    if upper || separators != 2 || parts.len() < 3 {
        return None;
    }
    let name = SecretName::new(parts.pop()?).ok()?;
    let tenant = TenantId::new(parts.remove(0)).ok()?;
    let namespace = Namespace::from_segments(&parts).ok()?;
    Some((Scope::new(tenant, namespace), name))
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::keys::{self, name, scope};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_documented_example() {
        let mapped = secret_name("hush-", &scope("acme", "company.team"), &name("DB_PASSWORD")).unwrap();
        assert_eq!(mapped, "hush-acme-xcompany-steam-x-cdb-upassword-c");
        assert_eq!(parse_secret_name("hush-", &mapped), Some((scope("acme", "company.team"), name("DB_PASSWORD"))));
        assert_eq!(secret_name("", &scope("t", "a"), &name("x-y")).unwrap(), "t-xa-xx--y");
        assert_eq!(secret_name("", &scope("t", "a"), &name("aBc")).unwrap(), "t-xa-xa-cb-cc");
    }

    #[test]
    fn names_that_differ_only_in_case_map_apart() {
        let lower = secret_name("", &scope("t", "a"), &name("db")).unwrap();
        let upper = secret_name("", &scope("t", "a"), &name("DB")).unwrap();
        assert!(!lower.eq_ignore_ascii_case(&upper));
    }

    #[test]
    fn long_names_are_hashed_and_read_back_from_their_tags() {
        let (s, n) = (scope("t", "a"), name(&"A_".repeat(40)));
        let hashed = secret_name("hush-", &s, &n).unwrap();
        assert_eq!(hashed.len(), "hush-".len() + 2 + 64);
        assert!(hashed.starts_with("hush--h"));
        assert!(is_hashed_name("hush-", &hashed));
        assert_eq!(parse_secret_name("hush-", &hashed), None);
        let listed = parse_listed_name("hush-", &hashed, Some("t"), Some("a"), Some(n.as_str()));
        assert_eq!(listed, Some((s.clone(), n.clone())));
        // Tags that do not map to the name are not believed.
        assert_eq!(parse_listed_name("hush-", &hashed, Some("t"), Some("b"), Some(n.as_str())), None);
        assert_eq!(parse_listed_name("hush-", &hashed, None, Some("a"), Some(n.as_str())), None);
        let err = secret_name(&"p".repeat(70), &s, &n).unwrap_err();
        assert_eq!(err.kind(), hush_core::ErrorKind::InvalidInput);
        assert!(err.message().contains("127"));
    }

    #[test]
    fn foreign_names_do_not_parse() {
        for foreign in ["my-secret", "hush-acme", "t-xa", "t-xa-xn-c", "t-xa-xn-q", "t-xa-xn-", "t-x-xn", "t-xa-s-xn"] {
            assert_eq!(parse_secret_name("", foreign), None, "{foreign}");
        }
        assert_eq!(parse_secret_name("hush-", "other-t-xa-xn"), None);
        // Key Vault may hand back a name in another case: it is the same secret.
        assert_eq!(parse_secret_name("Hush-", "HUSH-T-XA-XN"), Some((scope("t", "a"), name("n"))));
    }

    fn token() -> impl Strategy<Value = String> + Clone {
        // Mostly short, from a small alphabet with both cases, so distinct inputs often look
        // alike; sometimes long, so hashed names are exercised too.
        prop_oneof![4 => "[aAbB0_-]{1,4}", 1 => "[aAbB0_-]{30,60}"]
    }

    fn secret() -> impl Strategy<Value = (Scope, SecretName)> {
        keys::secrets(token())
    }

    fn prefix() -> impl Strategy<Value = String> {
        prop_oneof![Just(String::new()), Just("hush-".to_owned()), Just("a".to_owned()), Just("x-u".to_owned())]
    }

    proptest! {
        #[test]
        fn the_mapping_is_inverted_by_parse(prefix in prefix(), (scope, name) in secret()) {
            let mapped = secret_name(&prefix, &scope, &name).unwrap();
            prop_assert!(mapped.len() <= MAX_SECRET_NAME);
            prop_assert!(mapped[prefix.len()..].chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || c == '-'));
            let namespace = scope.namespace.to_string();
            let tags = (Some(scope.tenant.as_str()), Some(namespace.as_str()), Some(name.as_str()));
            let listed = parse_listed_name(&prefix, &mapped, tags.0, tags.1, tags.2);
            prop_assert_eq!(listed, Some((scope.clone(), name.clone())));
            if !is_hashed_name(&prefix, &mapped) {
                prop_assert_eq!(parse_secret_name(&prefix, &mapped), Some((scope, name)));
            }
        }

        #[test]
        fn different_secrets_have_different_names_even_ignoring_case(prefix in prefix(), a in secret(), b in secret()) {
            // Key Vault compares names ignoring case.
            let lowered =
                |scope: &Scope, name: &SecretName| secret_name(&prefix, scope, name).ok().map(|n| n.to_ascii_lowercase());
            let listed = |scope: &Scope, name: &SecretName| {
                let mapped = secret_name(&prefix, scope, name).ok()?;
                let namespace = scope.namespace.to_string();
                parse_listed_name(&prefix, &mapped, Some(scope.tenant.as_str()), Some(&namespace), Some(name.as_str()))
            };
            keys::check_key_mapping(&a, &b, lowered, listed)?;
        }
    }
}
