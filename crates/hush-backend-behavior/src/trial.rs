//! What a trial is, when it applies, and the checks trials are written with.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use hush_core::{Capabilities, ErrorKind, Result, SecretValue};

use crate::SuiteOptions;
use crate::context::Ctx;

/// A trial's verdict: `Err` says what differed.
pub(crate) type Outcome = std::result::Result<(), String>;

/// A running trial.
pub(crate) type TrialFuture = Pin<Box<dyn Future<Output = Outcome> + Send + 'static>>;

/// A capability a trial needs, or needs to be absent.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Cap {
    Read,
    Write,
    List,
    Tags,
    Versions,
}

impl Cap {
    fn is_in(self, caps: &Capabilities) -> bool {
        match self {
            Cap::Read => caps.read,
            Cap::Write => caps.write,
            Cap::List => caps.list,
            Cap::Tags => caps.tags,
            Cap::Versions => caps.versions,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Cap::Read => "read",
            Cap::Write => "write",
            Cap::List => "list",
            Cap::Tags => "tags",
            Cap::Versions => "versions",
        }
    }
}

/// One named check of the backend contract.
pub(crate) struct Trial {
    pub(crate) name: &'static str,
    requires: &'static [Cap],
    lacks: &'static [Cap],
    needs_seeds: bool,
    pub(crate) run: fn(Arc<Ctx>) -> TrialFuture,
}

impl Trial {
    pub(crate) const fn new(name: &'static str, run: fn(Arc<Ctx>) -> TrialFuture) -> Self {
        Self { name, requires: &[], lacks: &[], needs_seeds: false, run }
    }

    /// Runs only on backends with every one of `caps`.
    pub(crate) const fn requires(mut self, caps: &'static [Cap]) -> Self {
        self.requires = caps;
        self
    }

    /// Runs only on backends with none of `caps` (trials that check `Unsupported`).
    pub(crate) const fn lacks(mut self, caps: &'static [Cap]) -> Self {
        self.lacks = caps;
        self
    }

    /// Runs only when the caller listed seeded secrets.
    pub(crate) const fn needs_seeds(mut self) -> Self {
        self.needs_seeds = true;
        self
    }

    /// Why the trial does not apply to a backend with `caps`, or `None` when it does.
    pub(crate) fn skip_reason(&self, caps: &Capabilities, options: &SuiteOptions) -> Option<String> {
        let missing: Vec<&str> = self.requires.iter().filter(|c| !c.is_in(caps)).map(|c| c.name()).collect();
        if !missing.is_empty() {
            return Some(format!("backend lacks {}", missing.join(", ")));
        }
        let present: Vec<&str> = self.lacks.iter().filter(|c| c.is_in(caps)).map(|c| c.name()).collect();
        if !present.is_empty() {
            return Some(format!("backend has {}", present.join(", ")));
        }
        if self.needs_seeds && options.seeded.is_empty() {
            return Some("no seeded secrets given".to_owned());
        }
        None
    }
}

/// Declares a trial named after its async function: `trial!(put_then_get)`.
macro_rules! trial {
    ($f:ident) => {
        $crate::trial::Trial::new(stringify!($f), |ctx| Box::pin($f(ctx)))
    };
}
pub(crate) use trial;

/// Fails the trial with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err(format!($($fmt)+));
        }
    };
}
pub(crate) use ensure;

/// The success value of `result`, or a failure naming `what`.
pub(crate) fn ok<T>(what: impl Display, result: Result<T>) -> std::result::Result<T, String> {
    result.map_err(|e| format!("{what}: unexpected error: {e}"))
}

/// Checks that `result` is an error of one of `kinds`.
pub(crate) fn expect_err<T>(what: impl Display, result: Result<T>, kinds: &[ErrorKind]) -> Outcome {
    let wanted: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    match result {
        Ok(_) => Err(format!("{what}: expected a {} error, got success", wanted.join(" or "))),
        Err(e) if kinds.contains(&e.kind()) => Ok(()),
        Err(e) => Err(format!("{what}: expected a {} error, got {}: {e}", wanted.join(" or "), e.kind().as_str())),
    }
}

/// Checks that `got` is `expected`, byte for byte; the message gives lengths and the
/// first differing offset, never content.
pub(crate) fn same_value(what: impl Display, expected: &SecretValue, got: &SecretValue) -> Outcome {
    let (e, g) = (expected.expose(), got.expose());
    if e == g {
        return Ok(());
    }
    let at = e.iter().zip(g).position(|(a, b)| a != b).unwrap_or(e.len().min(g.len()));
    Err(format!(
        "{what}: value differs: expected {} bytes, got {} bytes, first difference at byte {at}",
        e.len(),
        g.len()
    ))
}
