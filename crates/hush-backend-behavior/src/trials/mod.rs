//! The trials, one module per group. Each module's `trials()` lists its trials with the
//! capabilities they need; [`all`] is the order a run takes them in.

mod capabilities;
mod concurrency;
mod isolation;
mod limits;
mod list;
mod read_write;
mod seeded;

use crate::trial::Trial;

/// Every trial, in run order.
pub(crate) fn all() -> Vec<Trial> {
    let mut trials = Vec::new();
    trials.extend(capabilities::trials());
    trials.extend(seeded::trials());
    trials.extend(read_write::trials());
    trials.extend(list::trials());
    trials.extend(isolation::trials());
    trials.extend(limits::trials());
    trials.extend(concurrency::trials());
    trials
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::all;

    #[test]
    fn trial_names_are_unique() {
        let trials = all();
        let names: BTreeSet<&str> = trials.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), trials.len());
        assert!(trials.len() >= 25, "only {} trials", trials.len());
    }
}
