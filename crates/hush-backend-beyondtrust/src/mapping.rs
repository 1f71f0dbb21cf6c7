//! The key mapping: (tenant, namespace, name) ↔ the title of one secret in hush's Secrets
//! Safe folder, injective also where Password Safe compares titles without regard to case and
//! inverted by [`parse_title`]; and the value mapping (bytes ↔ a text secret's text, a
//! credential secret as JSON).
//!
//! A title is the tenant, the namespace's segments and the name, escaped, joined by `.`:
//!
//! ```text
//! <tenant>.<segment>. ... .<segment>.<NAME>
//! ```
//!
//! Secret `DB_PASSWORD` of tenant `acme`, namespace `company.team` is the title
//! `acme.company.team.DB_PASSWORD`. Escaping only concerns letter case, since Password Safe
//! may compare titles case-insensitively while hush's keys are case-sensitive: in the tenant
//! and the segments lowercase is plain and an uppercase letter is written `^` + the letter; in
//! the name uppercase is plain and a lowercase letter is written `^` + the letter (tenant
//! `Acme` → `^Acme`, name `dbPass` → `^d^bP^a^s^s`). Digits, `_` and `-` are themselves.
//!
//! **Why it is injective, also ignoring case.** Tenants, segments and names are
//! `[A-Za-z0-9_-]`, so no part holds a `.` and a namespace has at least one segment: the first
//! part is the tenant, the last the name, those between the segments. Within a part, a letter
//! after `^` has the part's escaped case and any other letter its plain case, whatever case
//! the letter is written in; so even a title folded to lowercase reads back as one key.
//!
//! **Long keys.** Password Safe titles are at most [`MAX_TITLE_LEN`] characters; hush's keys
//! can be longer (a 255-byte namespace). A title that would be longer is replaced by
//! [`HASHED_TITLE_PREFIX`] + the SHA-256 (lowercase hex) of the escaped title. It holds a
//! single `.`, escaped titles hold at least two, so the two kinds never meet. Such a title
//! cannot be read back, so hush writes every secret's key into its `Notes`
//! (`hush key: <tenant>/<namespace>/<NAME>`, [`key_notes`]), and [`parse_listed`] accepts a
//! hashed title only when the key in its notes maps to that very title.

use hush_core::{BASE64_TEXT_MARKER, Namespace, Scope, SecretName, SecretValue, TenantId};
use sha2::{Digest, Sha256};

/// Longest title Password Safe accepts (`Title`: 1 to 256 characters).
pub const MAX_TITLE_LEN: usize = 256;

/// What a hashed title starts with; the rest is 64 lowercase hex digits.
pub const HASHED_TITLE_PREFIX: &str = "hush-sha256.";

/// What the `Notes` of a secret hush writes start with; the key follows.
pub const NOTES_PREFIX: &str = "hush key: ";

/// Longest text of a text secret (`Text`: at most 4096 characters).
pub const MAX_TEXT_LEN: usize = 4096;

/// Which part is escaped: it decides which letter case is plain.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// Tenant or namespace segment: lowercase plain.
    Scope,
    /// Secret name: uppercase plain.
    Name,
}

fn escape(part: Part, text: &str, out: &mut String) {
    for c in text.chars() {
        let escaped = match part {
            Part::Scope => c.is_ascii_uppercase(),
            Part::Name => c.is_ascii_lowercase(),
        };
        if escaped {
            out.push('^');
        }
        out.push(c);
    }
}

fn unescape(part: Part, text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let (letter, escaped) = if c == '^' { (chars.next()?, true) } else { (c, false) };
        if escaped && !letter.is_ascii_alphabetic() {
            return None;
        }
        let upper = match part {
            Part::Scope => escaped,
            Part::Name => !escaped,
        };
        out.push(if upper { letter.to_ascii_uppercase() } else { letter.to_ascii_lowercase() });
    }
    Some(out)
}

/// The escaped title of `name` in `scope`, however long (see the module documentation).
pub fn escaped_title(scope: &Scope, name: &SecretName) -> String {
    let mut out = String::with_capacity(scope.tenant.as_str().len() + scope.namespace.as_str().len() + 64);
    escape(Part::Scope, scope.tenant.as_str(), &mut out);
    for segment in scope.namespace.segments() {
        out.push('.');
        escape(Part::Scope, segment, &mut out);
    }
    out.push('.');
    escape(Part::Name, name.as_str(), &mut out);
    out
}

/// The title of secret `name` in `scope`: the escaped title, or its hashed form when that is
/// longer than [`MAX_TITLE_LEN`]. Injective (up to SHA-256 collisions for hashed titles),
/// also when titles are compared without regard to case.
pub fn secret_title(scope: &Scope, name: &SecretName) -> String {
    let escaped = escaped_title(scope, name);
    if escaped.len() <= MAX_TITLE_LEN {
        return escaped;
    }
    let digest = Sha256::digest(escaped.as_bytes());
    let mut title = String::with_capacity(HASHED_TITLE_PREFIX.len() + 64);
    title.push_str(HASHED_TITLE_PREFIX);
    for byte in digest {
        title.push_str(&format!("{byte:02x}"));
    }
    title
}

/// The scope and name an escaped title maps back to, or `None` when it is not one hush writes
/// (a hashed title, or a secret someone else put in the folder).
pub fn parse_title(title: &str) -> Option<(Scope, SecretName)> {
    let parts: Vec<&str> = title.split('.').collect();
    if parts.len() < 3 {
        return None;
    }
    let tenant = TenantId::new(unescape(Part::Scope, parts[0])?).ok()?;
    let segments =
        parts[1..parts.len() - 1].iter().map(|s| unescape(Part::Scope, s)).collect::<Option<Vec<String>>>()?;
    let namespace = Namespace::from_segments(&segments).ok()?;
    let name = SecretName::new(unescape(Part::Name, parts[parts.len() - 1])?).ok()?;
    let parsed = (Scope::new(tenant, namespace), name);
    // Only a title hush writes for that key parses (not a hashed one's long form, not
    // another spelling).
    secret_title(&parsed.0, &parsed.1).eq_ignore_ascii_case(title).then_some(parsed)
}

/// The `Notes` hush writes with every secret: `hush key: <tenant>/<namespace>/<NAME>`.
pub fn key_notes(scope: &Scope, name: &SecretName) -> String {
    format!("{NOTES_PREFIX}{}/{}/{}", scope.tenant, scope.namespace, name)
}

/// The key a listed secret stands for: its title read back, or, for a hashed title, the key
/// in its `notes` when that key maps to the title. `None` for secrets hush did not write.
pub fn parse_listed(title: &str, notes: Option<&str>) -> Option<(Scope, SecretName)> {
    if !title.to_ascii_lowercase().starts_with(HASHED_TITLE_PREFIX) {
        return parse_title(title);
    }
    let key = notes?.trim().strip_prefix(NOTES_PREFIX)?;
    let mut parts = key.splitn(3, '/');
    let (tenant, namespace, name) = (parts.next()?, parts.next()?, parts.next()?);
    let parsed =
        (Scope::new(TenantId::new(tenant).ok()?, Namespace::new(namespace).ok()?), SecretName::new(name).ok()?);
    secret_title(&parsed.0, &parsed.1).eq_ignore_ascii_case(title).then_some(parsed)
}

/// The text stored for `value`: [`SecretValue::to_stored_text`], except that an empty value
/// is the bare marker (Password Safe refuses an empty text), which
/// [`SecretValue::from_stored_text`] reads back as empty.
pub fn value_text(value: &SecretValue) -> String {
    if value.is_empty() { BASE64_TEXT_MARKER.to_owned() } else { value.to_stored_text() }
}

/// A credential secret as the value hush hands out: the JSON object
/// `{"username": <Username>, "password": <Password>}` (a missing field is `""`), so
/// `secret("X", "password")` selects the password.
pub fn credential_value(username: &str, password: &str) -> SecretValue {
    SecretValue::new(serde_json::json!({"username": username, "password": password}).to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use hush_backend_behavior::keys::{self, name, scope};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_documented_examples() {
        let title = secret_title(&scope("acme", "company.team"), &name("DB_PASSWORD"));
        assert_eq!(title, "acme.company.team.DB_PASSWORD");
        assert_eq!(parse_title(&title), Some((scope("acme", "company.team"), name("DB_PASSWORD"))));
        assert_eq!(secret_title(&scope("Acme", "a-B_1"), &name("dbPass")), "^Acme.a-^B_1.^d^bP^a^s^s");
        // Folded to lowercase (a case-insensitive store), it still reads back.
        assert_eq!(parse_title("^acme.a-^b_1.^d^bp^a^s^s"), Some((scope("Acme", "a-B_1"), name("dbPass"))));
        assert_eq!(key_notes(&scope("acme", "company.team"), &name("DB")), "hush key: acme/company.team/DB");
    }

    #[test]
    fn foreign_titles_do_not_parse() {
        for foreign in [
            "Production DB",
            "acme.N",
            "acme..N",
            "acme.a.",
            ".a.N",
            "acme.a.N^",
            "acme.a.^1",
            "acme.a b.N",
            "acme/a.b.N",
            "hush-sha256.00",
        ] {
            assert_eq!(parse_title(foreign), None, "{foreign}");
            assert_eq!(parse_listed(foreign, None), None, "{foreign}");
        }
    }

    #[test]
    fn long_keys_get_hashed_titles_read_back_from_their_notes() {
        let deep = [&"a".repeat(60), &"b".repeat(60), &"c".repeat(60), &"d".repeat(60)].map(|s| s.as_str()).join(".");
        let (s, n) = (scope("acme", &deep), name(&"X".repeat(100)));
        let title = secret_title(&s, &n);
        assert!(title.starts_with(HASHED_TITLE_PREFIX) && title.len() == HASHED_TITLE_PREFIX.len() + 64, "{title}");
        assert_eq!(parse_title(&title), None);
        let notes = key_notes(&s, &n);
        assert_eq!(parse_listed(&title, Some(&notes)), Some((s.clone(), n.clone())));
        assert_eq!(parse_listed(&title.to_uppercase(), Some(&notes)), Some((s.clone(), n)));
        // Notes naming another key, or none, do not make it hush's.
        assert_eq!(parse_listed(&title, Some(&key_notes(&s, &name("Y")))), None);
        assert_eq!(parse_listed(&title, None), None);
        // A short key's title is at most MAX_TITLE_LEN and never hashed.
        let short = secret_title(&scope("t", "n"), &name(&"Z".repeat(128)));
        assert!(short.len() <= MAX_TITLE_LEN && !short.starts_with(HASHED_TITLE_PREFIX));
    }

    #[test]
    fn values_round_trip() {
        for bytes in [b"plain".to_vec(), vec![0xff, 0, 1], b"hush-base64:AAAA".to_vec(), Vec::new()] {
            let value = SecretValue::new(bytes.clone());
            assert_eq!(SecretValue::from_stored_text(&value_text(&value)).expose(), bytes.as_slice());
        }
        assert_eq!(value_text(&SecretValue::from("plain")), "plain");
        assert_eq!(value_text(&SecretValue::from("")), "hush-base64:");
        assert_eq!(value_text(&SecretValue::new(vec![0xff])), "hush-base64:/w==");
        let credential = credential_value("admin", "p\"w");
        let json: serde_json::Value = serde_json::from_slice(credential.expose()).unwrap();
        assert_eq!(json, serde_json::json!({"username": "admin", "password": "p\"w"}));
    }

    fn token() -> impl Strategy<Value = String> + Clone {
        "[aAbB0_-]{1,3}"
    }

    proptest! {
        #[test]
        fn the_mapping_is_injective_ignoring_case_and_inverted_by_parse(
            a in keys::secrets(token()),
            b in keys::secrets(token()),
        ) {
            // Compared as a case-insensitive store compares titles.
            let title = |scope: &Scope, name: &SecretName| secret_title(scope, name).to_lowercase();
            keys::check_key_mapping(&a, &b, title, |scope, name| parse_title(&secret_title(scope, name)))?;
            let folded = secret_title(&a.0, &a.1).to_lowercase();
            prop_assert_eq!(parse_title(&folded), Some(a.clone()));
            let notes = key_notes(&a.0, &a.1);
            prop_assert_eq!(parse_listed(&secret_title(&a.0, &a.1), Some(&notes)), Some(a));
        }

        #[test]
        fn long_keys_hash_injectively_and_read_back_from_notes(
            a in keys::secrets("[aA0_-]{40,63}"),
            b in keys::secrets("[aA0_-]{40,63}"),
        ) {
            let title = |scope: &Scope, name: &SecretName| secret_title(scope, name).to_lowercase();
            keys::check_key_mapping(&a, &b, title, |scope, name| {
                parse_listed(&secret_title(scope, name), Some(&key_notes(scope, name)))
            })?;
            prop_assert!(secret_title(&a.0, &a.1).len() <= MAX_TITLE_LEN);
        }
    }
}
