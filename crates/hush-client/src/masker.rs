//! Masking: replace every resolved value in task output with `******`.
//!
//! Task output often carries a secret inside a URL or a JSON body, so each value is masked
//! in its raw form and in its URL-encoded, base64 and JSON-escaped forms. The mask has a fixed
//! length, so it does not reveal the value's length.

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
#[derive(Debug, Clone, Default)]
pub struct Masker {
    inner: Arc<RwLock<State>>,
}

#[derive(Default)]
struct State {
    patterns: Vec<Zeroizing<String>>,
    matcher: Option<AhoCorasick>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").field("patterns", &self.patterns.len()).finish()
    }
}

/// Every form of `value` worth masking, the raw form first.
fn forms(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    let json = serde_json::to_string(value).unwrap_or_default();
    let mut forms = vec![
        value.to_owned(),
        utf8_percent_encode(value, COMPONENT).to_string(),
        utf8_percent_encode(value, NON_ALPHANUMERIC).to_string(),
        utf8_percent_encode(value, COMPONENT).to_string().replace("%20", "+"),
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
    ];
    if json.len() >= 2 {
        forms.push(json[1..json.len() - 1].to_owned());
    }
    forms
}

impl Masker {
    /// A masker that knows no value yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Learns a value (and its encoded forms). Non-UTF-8 values are learned by their base64 forms.
    pub fn add(&self, value: &SecretValue) {
        let text = match value.expose_str() {
            Some(text) => Zeroizing::new(text.to_owned()),
            None => Zeroizing::new(STANDARD.encode(value.expose())),
        };
        if text.len() < MIN_MASKED_LEN {
            return;
        }
        // A task reads the same secrets again and again: skip values already learned, under
        // the read lock, before computing any encoding.
        let known = |state: &State| state.patterns.iter().any(|p| p.as_str() == text.as_str());
        if known(&self.inner.read().unwrap_or_else(|poisoned| poisoned.into_inner())) {
            return;
        }
        let mut state = self.inner.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let before = state.patterns.len();
        for form in forms(&text) {
            if form.len() >= MIN_MASKED_LEN && !state.patterns.iter().any(|p| **p == form) {
                state.patterns.push(Zeroizing::new(form));
            }
        }
        if state.patterns.len() != before {
            // Leftmost-longest: the URL-encoded form wins over a raw prefix of it.
            state.matcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(state.patterns.iter().map(|p| p.as_bytes()))
                .ok();
        }
    }

    /// `text` with every known value replaced by [`MASK`].
    pub fn mask(&self, text: &str) -> String {
        let state = self.inner.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        match &state.matcher {
            Some(matcher) => matcher.replace_all(text, &vec![MASK; state.patterns.len()]),
            None => text.to_owned(),
        }
    }

    /// How many forms are masked (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.inner.read().map(|s| s.patterns.len()).unwrap_or(0)
    }

    /// Whether no value was learned yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
}
