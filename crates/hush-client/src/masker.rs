//! Masking: replace every resolved value in task output with `******`.
//!
//! Task output often carries a secret inside a URL or a JSON body, so each value is masked
//! in its raw form and in its URL-encoded, base64 and JSON-escaped forms. The mask has a fixed
//! length, so it does not reveal the value's length.

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, RwLock};

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hush_core::SecretValue;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use zeroize::Zeroizing;

/// What a masked value is replaced with.
pub const MASK: &str = "******";

/// Values shorter than this are not masked: masking every `a` would destroy the output and
/// tell the reader the value anyway.
const MIN_MASKED_LEN: usize = 3;

/// RFC 3986 unreserved characters stay as they are; everything else is encoded.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Replaces known secret values in text. Cheap to clone; clones share what they learned.
///
/// Learning a value costs its encodings and a few hash lookups; the matcher over every form is
/// rebuilt by the first [`Masker::mask`] after new values were learned, so a session that
/// reads thousands of distinct secrets does not rebuild it once per secret.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    inner: Arc<RwLock<State>>,
}

#[derive(Default)]
struct State {
    /// Every form learned, each once. Looked up for every value a read returns, so hashed with
    /// foldhash (seeded per process) rather than SipHash, which cost ~50 ns per 100-byte value.
    patterns: HashSet<Pattern, foldhash::fast::RandomState>,
    /// The matcher over `patterns`; `None` when it must be rebuilt (or nothing is learned).
    matcher: Option<AhoCorasick>,
}

/// One learned form. Its bytes are wiped when it is dropped; a set resizing moves the
/// `String` header, never its heap buffer, so no copy of the bytes is left behind.
struct Pattern(Zeroizing<String>);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Pattern {}

impl Hash for Pattern {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_str().hash(state);
    }
}

impl Borrow<str> for Pattern {
    fn borrow(&self) -> &str {
        self.0.as_str()
    }
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").field("patterns", &self.patterns.len()).finish()
    }
}

impl State {
    /// Builds the matcher if values were learned since it was last built.
    fn matcher(&mut self) -> Option<&AhoCorasick> {
        if self.matcher.is_none() && !self.patterns.is_empty() {
            // Leftmost-longest: the URL-encoded form wins over a raw prefix of it. Patterns
            // are unique, so their order cannot change which one wins.
            self.matcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(self.patterns.iter().map(|p| p.0.as_bytes()))
                .ok();
        }
        self.matcher.as_ref()
    }
}

/// Every form of `value` worth masking, the raw form first. Each is wiped when dropped, and
/// so is every intermediate text an encoding goes through.
fn forms(value: &str) -> Vec<Zeroizing<String>> {
    let bytes = value.as_bytes();
    let json = Zeroizing::new(serde_json::to_string(value).unwrap_or_default());
    let component = Zeroizing::new(utf8_percent_encode(value, COMPONENT).to_string());
    let mut forms = vec![
        Zeroizing::new(value.to_owned()),
        Zeroizing::new(utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()),
        Zeroizing::new(component.replace("%20", "+")),
        Zeroizing::new(STANDARD.encode(bytes)),
        Zeroizing::new(STANDARD_NO_PAD.encode(bytes)),
        Zeroizing::new(URL_SAFE.encode(bytes)),
        Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes)),
    ];
    if json.len() >= 2 {
        forms.push(Zeroizing::new(json[1..json.len() - 1].to_owned()));
    }
    forms.push(component);
    forms
}

/// `text` with every match of `matcher` replaced by [`MASK`].
fn replace(matcher: &AhoCorasick, text: &str) -> String {
    let mut masked = String::with_capacity(text.len());
    matcher.replace_all_with(text, &mut masked, |_, _, masked| {
        masked.push_str(MASK);
        true
    });
    masked
}

impl Masker {
    /// A masker that knows no value yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Learns a value (and its encoded forms). Non-UTF-8 values are learned by their base64 forms.
    pub fn add(&self, value: &SecretValue) {
        // A task reads the same secrets again and again: skip values already learned, under
        // the read lock, before copying or encoding anything.
        let raw = value.expose_str();
        if let Some(raw) = raw
            && (raw.len() < MIN_MASKED_LEN || self.read().patterns.contains(raw))
        {
            return;
        }
        let text = match raw {
            Some(text) => Zeroizing::new(text.to_owned()),
            None => Zeroizing::new(STANDARD.encode(value.expose())),
        };
        if text.len() < MIN_MASKED_LEN || (raw.is_none() && self.read().patterns.contains(text.as_str())) {
            return;
        }
        let mut state = self.write();
        for form in forms(&text) {
            if form.len() >= MIN_MASKED_LEN && !state.patterns.contains(form.as_str()) {
                state.patterns.insert(Pattern(form));
                state.matcher = None;
            }
        }
    }

    /// `text` with every known value replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        {
            let state = self.read();
            match &state.matcher {
                Some(matcher) => return replace(matcher, text),
                None if state.patterns.is_empty() => return text.to_owned(),
                None => {}
            }
        }
        // Values were learned since the matcher was built.
        let mut state = self.write();
        match state.matcher() {
            Some(matcher) => replace(matcher, text),
            None => text.to_owned(),
        }
    }

    /// How many forms are masked (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.read().patterns.len()
    }

    /// Whether no value was learned yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.inner.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_raw_url_base64_and_json_forms() {
        let masker = Masker::new();
        masker.add(&SecretValue::from("p@ss w/rd\"x"));
        let url = "postgres://app:p%40ss%20w%2Frd%22x@db/app";
        assert_eq!(masker.mask(url), "postgres://app:******@db/app");
        assert_eq!(masker.mask("pw=p@ss w/rd\"x;"), "pw=******;");
        let b64 = STANDARD.encode("p@ss w/rd\"x");
        assert_eq!(masker.mask(&format!("Authorization: Basic {b64}")), "Authorization: Basic ******");
        assert_eq!(masker.mask(r#"{"password":"p@ss w/rd\"x"}"#), r#"{"password":"******"}"#);
        assert_eq!(masker.mask("q=p%40ss+w%2Frd%22x"), "q=******");
    }

    #[test]
    fn the_mask_does_not_reveal_length() {
        let masker = Masker::new();
        masker.add(&SecretValue::from("short1"));
        masker.add(&SecretValue::from("a-much-longer-secret-value"));
        assert_eq!(masker.mask("short1 a-much-longer-secret-value"), "****** ******");
    }

    #[test]
    fn tiny_values_and_unknown_text_are_left_alone() {
        let masker = Masker::new();
        assert_eq!(masker.mask("nothing learned"), "nothing learned");
        masker.add(&SecretValue::from("ab"));
        assert!(masker.is_empty());
        assert_eq!(masker.mask("abab"), "abab");
        // Three bytes is the shortest value masked.
        masker.add(&SecretValue::from("x7z"));
        assert_eq!(masker.mask("pin=x7z;"), format!("pin={MASK};"));
    }

    #[test]
    fn clones_share_what_they_learned() {
        let masker = Masker::new();
        let clone = masker.clone();
        masker.add(&SecretValue::from("hunter2"));
        assert_eq!(clone.mask("pw hunter2"), "pw ******");
    }

    #[test]
    fn values_learned_after_a_mask_are_masked_by_the_next_one() {
        let masker = Masker::new();
        masker.add(&SecretValue::from("first-secret"));
        assert_eq!(masker.mask("first-secret second-secret"), "****** second-secret");
        for i in 0..2_000 {
            masker.add(&SecretValue::from(format!("value-{i:05}").as_str()));
        }
        masker.add(&SecretValue::from("second-secret"));
        let learned = masker.len();
        masker.add(&SecretValue::from("second-secret"));
        assert_eq!(masker.len(), learned, "a value learned again adds no form");
        assert_eq!(masker.mask("first-secret second-secret value-01999"), "****** ****** ******");
        assert_eq!(masker.clone().mask("value-00000"), MASK);
    }
}
