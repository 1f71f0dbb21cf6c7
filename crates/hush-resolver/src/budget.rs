//! A budget of backend reads per grant: one grant cannot make the resolver read its backends
//! without bound (64 fresh names × 16 namespace levels per request, repeated).
//!
//! Only reads that reach a backend are charged (cache hits and negative entries are free), to
//! the grant of the request that made them (by its [`GrantId`], not its token), in fixed windows that start at a grant's first
//! charged read. When a grant's budget is spent, its reads that would reach a backend are
//! `rate_limited` until the window ends; cached values are still served.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use hush_core::{Error, ErrorKind};

use crate::authz::GrantId;

/// How many backend reads one grant may cause per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadBudget {
    /// Backend reads per grant per window.
    pub max_backend_reads: u64,
    /// The window.
    pub window: Duration,
}

impl Default for ReadBudget {
    /// 10,000 backend reads per grant per minute: ten requests of 64 names missed at 16
    /// namespace levels each, far more than a task needs.
    fn default() -> Self {
        Self { max_backend_reads: 10_000, window: Duration::from_secs(60) }
    }
}

/// The backend reads each grant has made in its current window.
pub(crate) struct GrantBudgets {
    budget: ReadBudget,
    spent: moka::sync::Cache<GrantId, Arc<AtomicU64>>,
}

impl GrantBudgets {
    pub(crate) fn new(budget: ReadBudget) -> Self {
        let spent = moka::sync::Cache::builder().max_capacity(100_000).time_to_live(budget.window).build();
        Self { budget, spent }
    }

    /// Charges one backend read to `grant`; `rate_limited` when its budget is spent.
    pub(crate) fn charge(&self, grant: &GrantId) -> Result<(), Error> {
        let spent = self.spent.get_with_by_ref(grant, || Arc::new(AtomicU64::new(0)));
        if spent.fetch_add(1, Ordering::Relaxed) < self.budget.max_backend_reads {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::RateLimited,
            format!(
                "this grant has spent its budget of {} backend reads per {}s (resolver.max_backend_reads_per_grant)",
                self.budget.max_backend_reads,
                self.budget.window.as_secs()
            ),
        ))
    }
}

impl std::fmt::Debug for GrantBudgets {
    /// The budget and how many grants are counted.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrantBudgets").field("budget", &self.budget).field("grants", &self.spent.entry_count()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_refused_once_its_budget_is_spent_and_others_are_not() {
        let budgets = GrantBudgets::new(ReadBudget { max_backend_reads: 3, window: Duration::from_secs(60) });
        let (spent, other) = (GrantId::of("hush1.a.b"), GrantId::of("hush1.c.d"));
        for _ in 0..3 {
            budgets.charge(&spent).unwrap();
        }
        let err = budgets.charge(&spent).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        assert!(err.message().contains("budget of 3 backend reads per 60s"), "{err}");
        budgets.charge(&other).unwrap();
    }

    #[test]
    fn the_budget_comes_back_after_the_window() {
        let budgets = GrantBudgets::new(ReadBudget { max_backend_reads: 1, window: Duration::from_millis(50) });
        let grant = GrantId::of("g");
        budgets.charge(&grant).unwrap();
        assert!(budgets.charge(&grant).is_err());
        std::thread::sleep(Duration::from_millis(80));
        budgets.charge(&grant).unwrap();
    }
}
