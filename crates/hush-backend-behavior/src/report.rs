//! What a run of the suite found: passed, skipped and failed trials.

use std::fmt;

/// A trial that did not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The trial's name (`put_then_get`), or `cleanup`.
    pub trial: &'static str,
    /// What differed. Never holds a value's content.
    pub message: String,
}

/// A trial that did not run, and why (the backend lacks a capability it needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The trial's name.
    pub trial: &'static str,
    /// Why it did not run.
    pub reason: String,
}

/// The result of one run of the suite against one backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteReport {
    /// The configured name of the backend run against.
    pub backend: String,
    /// The random root namespace the run used.
    pub root: String,
    /// Trials that held.
    pub passed: Vec<&'static str>,
    /// Trials that did not apply to this backend.
    pub skipped: Vec<Skipped>,
    /// Trials that did not hold.
    pub failures: Vec<Failure>,
}

impl SuiteReport {
    pub(crate) fn new(backend: String, root: String) -> Self {
        Self { backend, root, passed: Vec::new(), skipped: Vec::new(), failures: Vec::new() }
    }

    /// Whether every trial that ran held (and at least one ran).
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty() && !self.passed.is_empty()
    }

    /// Panics with the report when [`is_ok`](Self::is_ok) is false; prints the summary
    /// to stderr either way.
    #[track_caller]
    pub fn assert_ok(&self) {
        eprintln!("{self}");
        assert!(self.is_ok(), "behaviour suite failed against backend {:?}:\n{self}", self.backend);
    }
}

impl fmt::Display for SuiteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "behaviour suite on {:?} (root {}): {} passed, {} failed, {} skipped",
            self.backend,
            self.root,
            self.passed.len(),
            self.failures.len(),
            self.skipped.len()
        )?;
        for failure in &self.failures {
            writeln!(f, "  FAILED  {}: {}", failure.trial, failure.message)?;
        }
        for skipped in &self.skipped {
            writeln!(f, "  skipped {}: {}", skipped.trial, skipped.reason)?;
        }
        Ok(())
    }
}
