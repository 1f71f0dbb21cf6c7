//! Which reply subjects hushd answers to (ARCHITECTURE.md "Replies").
//!
//! A request names its reply subject, and hushd publishes its answer there. Left open, a
//! worker could make hushd publish onto `hush.v1.audit.<other tenant>` or the change-event
//! subjects. So hushd answers only to subjects under the client inbox prefixes it serves:
//! `_INBOX` (async-nats' and every NATS client's default) and those configured.

/// The inbox prefixes hushd answers to. A prefix matches subjects that start with it followed
/// by `.` (`_INBOX_acme` matches `_INBOX_acme.abc`, not `_INBOX_acmeX.abc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyPrefixes {
    /// Each prefix with its trailing `.`.
    prefixes: Vec<String>,
}

/// The prefix every NATS client uses unless told otherwise.
pub const DEFAULT_INBOX_PREFIX: &str = "_INBOX";

impl Default for ReplyPrefixes {
    fn default() -> Self {
        Self::new(std::iter::empty::<&str>())
    }
}

impl ReplyPrefixes {
    /// `_INBOX` and `extra` (written with or without a trailing `.`).
    pub fn new<I, S>(extra: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut prefixes = vec![format!("{DEFAULT_INBOX_PREFIX}.")];
        for prefix in extra {
            let prefix = format!("{}.", prefix.as_ref().trim_end_matches('.'));
            if !prefixes.contains(&prefix) {
                prefixes.push(prefix);
            }
        }
        Self { prefixes }
    }

    /// Whether hushd may answer to `reply`.
    pub fn allows(&self, reply: &str) -> bool {
        self.prefixes.iter().any(|prefix| reply.len() > prefix.len() && reply.starts_with(prefix.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inbox_subjects_are_answered() {
        let prefixes = ReplyPrefixes::new(["_INBOX_acme", "_INBOX_globex."]);
        for ok in ["_INBOX.abc", "_INBOX.abc.def", "_INBOX_acme.x", "_INBOX_globex.y"] {
            assert!(prefixes.allows(ok), "{ok}");
        }
        for refused in [
            "hush.v1.audit.globex",
            "hush.v1.events.changed.acme.company",
            "_INBOX",
            "_INBOX.",
            "_INBOXX.abc",
            "_INBOX_acmeX.abc",
            "$JS.API.STREAM.DELETE.x",
            "",
        ] {
            assert!(!prefixes.allows(refused), "{refused}");
        }
        assert!(!ReplyPrefixes::default().allows("_INBOX_acme.x"), "only configured prefixes");
    }
}
