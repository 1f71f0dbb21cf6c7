//! Limits and odd values: the longest name, the deepest namespace, unicode, binary bytes
//! (NUL, invalid UTF-8) and a large value all round-trip exactly.

use std::sync::Arc;

use hush_core::{MAX_NAME_LEN, MAX_NAMESPACE_DEPTH, MAX_NAMESPACE_LEN, Namespace, Scope, SecretValue, Tags};

use crate::context::{Ctx, name};
use crate::trial::{Cap::*, Outcome, Trial, ensure, trial};

pub(crate) fn trials() -> Vec<Trial> {
    vec![
        trial!(name_at_length_limit).requires(&[Read, Write]),
        trial!(namespace_at_depth_limit).requires(&[Read, Write]),
        trial!(unicode_value_round_trips).requires(&[Read, Write]),
        trial!(binary_value_round_trips).requires(&[Read, Write]),
        trial!(large_value_round_trips).requires(&[Read, Write]),
    ]
}

async fn name_at_length_limit(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("limit_name")?;
    let long = name(&format!("L{}", "x".repeat(MAX_NAME_LEN - 2) + "Z"))?;
    ensure!(long.as_str().len() == MAX_NAME_LEN, "test name is {} bytes", long.as_str().len());
    let value = SecretValue::from("long name");
    ctx.put(&scope, &long, value.clone(), Tags::new()).await?;
    ctx.expect_value(&scope, &long, &value).await?;
    if ctx.caps.list {
        let listed = ctx.list(&scope, false).await?;
        ensure!(listed.len() == 1 && listed[0].name == long, "list does not show the 128-byte name exactly");
    }
    Ok(())
}

async fn namespace_at_depth_limit(ctx: Arc<Ctx>) -> Outcome {
    // The root plus "limit_depth", then segments as long as the length limit allows.
    let base = ctx.ns("limit_depth")?;
    let free_segments = MAX_NAMESPACE_DEPTH - base.depth();
    let budget = MAX_NAMESPACE_LEN - base.as_str().len();
    let segment_len = (budget / free_segments) - 1;
    let segments: Vec<String> =
        (0..free_segments).map(|i| format!("s{i:x}{}", "-".repeat(segment_len.saturating_sub(2)))).collect();
    let deep = Namespace::new(format!("{base}.{}", segments.join("."))).map_err(|e| format!("deep namespace: {e}"))?;
    ensure!(deep.depth() == MAX_NAMESPACE_DEPTH, "test namespace has {} segments", deep.depth());
    let scope = Scope::new(ctx.tenant.clone(), deep.clone());
    let n = name("DEEP")?;
    let value = SecretValue::from("deep down");
    ctx.put(&scope, &n, value.clone(), Tags::new()).await?;
    ctx.expect_value(&scope, &n, &value).await?;
    if ctx.caps.list {
        let listed = ctx.list(&Scope::new(ctx.tenant.clone(), base), true).await?;
        ensure!(
            listed.len() == 1 && listed[0].namespace == deep && listed[0].name == n,
            "recursive list does not show the secret at depth {MAX_NAMESPACE_DEPTH}"
        );
    }
    Ok(())
}

async fn unicode_value_round_trips(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("limit_unicode")?;
    let n = name("UNICODE")?;
    let value =
        SecretValue::from("pässwörd ✓ 秘密のキー 🔑 مرحبا Ωμέγα \u{200d}\u{fe0f} \"quoted\" \\ back\\slash\n\ttabbed");
    ctx.put(&scope, &n, value.clone(), Tags::new()).await?;
    ctx.expect_value(&scope, &n, &value).await
}

async fn binary_value_round_trips(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("limit_binary")?;
    let n = name("BINARY")?;
    let mut bytes = vec![0u8, 0xC3, 0x28, 0xFF, 0xFE, 0x80, 0xED, 0xA0, 0x80];
    bytes.extend(0..=255u8);
    bytes.push(0);
    let value = SecretValue::new(bytes);
    ensure!(value.expose_str().is_none(), "test value should not be UTF-8");
    ctx.put(&scope, &n, value.clone(), Tags::new()).await?;
    ctx.expect_value(&scope, &n, &value).await
}

async fn large_value_round_trips(ctx: Arc<Ctx>) -> Outcome {
    let scope = ctx.scope("limit_large")?;
    let n = name("LARGE")?;
    let value = SecretValue::new(noise(ctx.options.large_value_bytes));
    ctx.put(&scope, &n, value.clone(), Tags::new()).await?;
    ctx.expect_value(&scope, &n, &value).await
}

/// `len` bytes that do not compress (xorshift), so no layer can shrink the test away.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
