//! Seeded reads: for backends the suite cannot write to, the secrets the caller placed
//! beforehand (`SuiteOptions::seeded`) read back exactly and are listed.

use std::sync::Arc;

use hush_core::ListFilter;

use crate::context::Ctx;
use crate::trial::{Cap::*, Outcome, Trial, ensure, ok, same_value, trial};

pub(crate) fn trials() -> Vec<Trial> {
    vec![
        trial!(seeded_secrets_read_back).requires(&[Read]).needs_seeds(),
        trial!(seeded_secrets_are_listed).requires(&[List]).needs_seeds(),
    ]
}

async fn seeded_secrets_read_back(ctx: Arc<Ctx>) -> Outcome {
    for seed in &ctx.options.seeded {
        let what = format!("get seeded {} in {}", seed.name, seed.scope);
        let secret = ok(&what, ctx.backend.get(&seed.scope, &seed.name, None).await)?;
        same_value(&what, &seed.value, &secret.value)?;
    }
    Ok(())
}

async fn seeded_secrets_are_listed(ctx: Arc<Ctx>) -> Outcome {
    for seed in &ctx.options.seeded {
        let listed = ok(format!("list {}", seed.scope), ctx.backend.list(&seed.scope, &ListFilter::default()).await)?;
        ensure!(
            listed.iter().any(|m| m.name == seed.name),
            "list of {} does not show seeded {}",
            seed.scope,
            seed.name
        );
    }
    Ok(())
}
