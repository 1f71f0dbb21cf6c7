//! Listing: metadata only, sorted, tag filters, recursion by namespace segment, deletes.

use std::sync::Arc;

use hush_core::{ListFilter, SecretMeta, Tags};

use crate::context::{Ctx, name, tags};
use crate::trial::{Cap::*, Outcome, Trial, ensure, ok, trial};

/// One listing to check: tag pairs of the filter, recursive or not, the names expected.
type FilterCase = (&'static [(&'static str, &'static str)], bool, &'static [&'static str]);

pub(crate) fn trials() -> Vec<Trial> {
    vec![
        trial!(list_of_empty_namespace_is_empty).requires(&[List, Write]),
        trial!(list_shows_latest_metadata_sorted).requires(&[List, Write]),
        trial!(list_filters_by_tags).requires(&[List, Write, Tags]),
        trial!(list_recursion_follows_segments).requires(&[List, Write]),
    ]
}

/// `(namespace, name)` of each entry, as text.
fn keys(listed: &[SecretMeta]) -> Vec<(String, String)> {
    listed.iter().map(|m| (m.namespace.to_string(), m.name.to_string())).collect()
}

fn is_sorted(listed: &[SecretMeta]) -> bool {
    listed.windows(2).all(|w| (&w[0].namespace, &w[0].name) <= (&w[1].namespace, &w[1].name))
}

async fn list_of_empty_namespace_is_empty(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("list_empty")?;
    let listed = ctx.list(&scope, false).await?;
    ensure!(listed.is_empty(), "a namespace never written lists {} secrets", listed.len());
    let listed = ctx.list(&scope, true).await?;
    ensure!(listed.is_empty(), "a namespace never written lists {} secrets recursively", listed.len());
    Ok(())
}

async fn list_shows_latest_metadata_sorted(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("list_meta")?;
    let mut latest = Vec::new();
    for text in ["Bravo", "alpha", "Charlie", "ALPHA", "Bravo"] {
        let n = name(text)?;
        let meta = ctx.put(&scope, &n, format!("value of {text}").as_str(), Tags::new()).await?;
        latest.retain(|m: &SecretMeta| m.name != n);
        latest.push(meta);
    }
    let listed = ctx.list(&scope, false).await?;
    ensure!(is_sorted(&listed), "list is not sorted by namespace, then name: {:?}", keys(&listed));
    let names: Vec<&str> = listed.iter().map(|m| m.name.as_str()).collect();
    ensure!(names == ["ALPHA", "Bravo", "Charlie", "alpha"], "list shows names {names:?}");
    for entry in &listed {
        ensure!(entry.namespace == scope.namespace, "{} listed in namespace {}", entry.name, entry.namespace);
        let written = latest.iter().find(|m| m.name == entry.name).ok_or("list shows a name never written")?;
        if ctx.caps.versions {
            ensure!(
                entry.version == written.version,
                "list shows version {:?} of {}, latest put was {:?}",
                entry.version,
                entry.name,
                written.version
            );
        }
        if let Some(at) = entry.updated_at {
            ensure!(at > 1_500_000_000, "updated_at {at} of {} is not a plausible unix time", entry.name);
        }
    }
    Ok(())
}

async fn list_filters_by_tags(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("list_tags")?;
    let child = ctx.scope("list_tags.child")?;
    ctx.put(&scope, &name("A")?, "a", tags(&[("team", "payments"), ("env", "prod")])).await?;
    ctx.put(&scope, &name("B")?, "b", tags(&[("team", "search")])).await?;
    ctx.put(&scope, &name("C")?, "c", Tags::new()).await?;
    ctx.put(&child, &name("D")?, "d", tags(&[("team", "payments")])).await?;
    let cases: [FilterCase; 6] = [
        (&[("team", "payments")], false, &["A"]),
        (&[("team", "payments"), ("env", "prod")], false, &["A"]),
        (&[("team", "payments"), ("env", "dev")], false, &[]),
        (&[("team", "search")], false, &["B"]),
        (&[], false, &["A", "B", "C"]),
        (&[("team", "payments")], true, &["A", "D"]),
    ];
    for (pairs, recursive, expected) in cases {
        let filter = ListFilter { tags: tags(pairs), recursive };
        let what = format!("list with tags {pairs:?} (recursive: {recursive})");
        let listed = ok(&what, ctx.backend.list(&scope, &filter).await)?;
        let names: Vec<&str> = listed.iter().map(|m| m.name.as_str()).collect();
        ensure!(names == expected, "{what} shows {names:?}, expected {expected:?}");
        ensure!(
            listed.iter().all(|m| m.tags.contains_all(&filter.tags)),
            "{what} shows an entry whose tags do not match"
        );
    }
    Ok(())
}

async fn list_recursion_follows_segments(ctx: Arc<Ctx>) -> Outcome {
    let (a, ab, abc, abc_sibling) =
        (ctx.scope("seg.a")?, ctx.scope("seg.a.b")?, ctx.scope("seg.a.b.c")?, ctx.scope("seg.a.bc")?);
    ctx.put(&a, &name("W")?, "w", Tags::new()).await?;
    ctx.put(&ab, &name("X")?, "x", Tags::new()).await?;
    ctx.put(&abc, &name("Z")?, "z", Tags::new()).await?;
    ctx.put(&abc_sibling, &name("Y")?, "y", Tags::new()).await?;
    let ns = |scope: &hush_core::Scope, n: &str| (scope.namespace.to_string(), n.to_owned());

    let flat = keys(&ctx.list(&ab, false).await?);
    ensure!(flat == [ns(&ab, "X")], "list of a.b shows {flat:?}");
    let deep = keys(&ctx.list(&ab, true).await?);
    ensure!(deep == [ns(&ab, "X"), ns(&abc, "Z")], "recursive list of a.b shows {deep:?} (a.bc must not be in it)");
    let all = ctx.list(&a, true).await?;
    ensure!(is_sorted(&all), "recursive list is not sorted by namespace, then name: {:?}", keys(&all));
    let all = keys(&all);
    let expected = [ns(&a, "W"), ns(&ab, "X"), ns(&abc, "Z"), ns(&abc_sibling, "Y")];
    ensure!(all == expected, "recursive list of a shows {all:?}");
    let sibling = keys(&ctx.list(&abc_sibling, true).await?);
    ensure!(sibling == [ns(&abc_sibling, "Y")], "recursive list of a.bc shows {sibling:?}");

    // '_' and '-' are literal characters, not wildcards (SQL LIKE reads '_' as one).
    let (underscore, lookalike) = (ctx.scope("seg.u_v")?, ctx.scope("seg.uxv.w")?);
    ctx.put(&underscore, &name("U")?, "u", Tags::new()).await?;
    ctx.put(&lookalike, &name("V")?, "v", Tags::new()).await?;
    let listed = keys(&ctx.list(&underscore, true).await?);
    ensure!(listed == [ns(&underscore, "U")], "recursive list of seg.u_v shows {listed:?}");
    Ok(())
}
