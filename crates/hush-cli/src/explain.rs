//! `hush explain`: how hushd looks a secret up, level by level, the way `git check-ignore -v`
//! explains itself. From the config alone (which binding serves each namespace level, what it
//! filters, where its backend keeps the secret), then from hushd (where it is, and where the
//! read is answered from).

use std::fmt::Write as _;

use anyhow::Context;
use hush_config::{BindingConfig, HushConfig};
use hush_core::{
    Error, ErrorKind, GrantScope, ListFilter, Namespace, Scope, SecretMeta, SecretName, TenantBindings, TenantId,
};

use crate::cli::ExplainArgs;
use crate::setup;

/// One namespace level of the lookup, as the config says.
struct Level {
    namespace: Namespace,
    /// The binding serving it and where it is configured (`None`: the tenant default).
    binding: Option<(Option<Namespace>, BindingConfig)>,
}

pub async fn explain(path: &std::path::Path, grant: Option<&str>, args: ExplainArgs) -> anyhow::Result<()> {
    let config = setup::load_config(path)?;
    let tenant = TenantId::new(args.tenant.as_str()).map_err(Error::from)?;
    let namespace = Namespace::new(args.namespace.as_str()).map_err(Error::from)?;
    let name = SecretName::new(args.name.as_str()).map_err(Error::from)?;
    let levels = levels(&config, &tenant, &namespace)?;
    print!("{}", offline_text(&config, &tenant, &name, &levels));
    if args.offline {
        return Ok(());
    }
    println!("hushd:");
    let answer = online(&config, grant, &tenant, &namespace, &name, &levels).await;
    match answer {
        Ok(text) => {
            print!("{text}");
            Ok(())
        }
        Err(e) => {
            println!("  not asked: {e:#}");
            Err(e)
        }
    }
}

/// The lineage of `namespace`, each level with the binding that serves it.
fn levels(config: &HushConfig, tenant: &TenantId, namespace: &Namespace) -> anyhow::Result<Vec<Level>> {
    let Some(tenant_config) = config.tenants.get(tenant.as_str()) else {
        let known: Vec<&str> = config.tenants.keys().map(String::as_str).collect();
        return Err(Error::not_found(format!(
            "tenant {tenant} is not configured (tenants: {})",
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        ))
        .into());
    };
    // The same tree hushd builds, with where each binding is configured as the payload.
    let mut bindings =
        TenantBindings { default: tenant_config.default_binding().map(|b| (None, b)), ..Default::default() };
    for (at, binding) in &tenant_config.namespaces {
        let at = Namespace::new(at.as_str()).map_err(Error::from).context("in the config")?;
        bindings.overrides.insert(at.clone(), (Some(at), binding.clone()));
    }
    Ok(namespace
        .lineage()
        .map(|level| Level { binding: bindings.effective(&level).cloned(), namespace: level })
        .collect())
}

fn offline_text(config: &HushConfig, tenant: &TenantId, name: &SecretName, levels: &[Level]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{name} in {tenant}/{}: {} level(s) tried in this order; the first that has it answers",
        levels[0].namespace,
        levels.len()
    );
    for level in levels {
        let _ = writeln!(out, "  {}", level.namespace);
        let Some((at, binding)) = &level.binding else {
            let _ = writeln!(out, "    no backend serves it (no tenant default, no override above it): skipped");
            continue;
        };
        let table = config.backends.get(&binding.backend);
        let kind = table.map_or("unknown kind", |t| t.kind.as_str());
        let from = match at {
            Some(at) if *at == level.namespace => format!("override on {at}"),
            Some(at) => format!("override on {at}, inherited"),
            None => "tenant default".to_owned(),
        };
        let _ = writeln!(out, "    binding: backend {} ({kind}), {from}", binding.backend);
        if binding.read_only {
            let _ = writeln!(out, "    read-only: writes through it are refused; reads are not");
        }
        if !binding.filter_tags.is_empty() {
            let _ = writeln!(
                out,
                "    tag filter: a secret is hidden here unless its tags include {}",
                tag_text(&binding.filter_tags)
            );
        }
        let scope = Scope::new(tenant.clone(), level.namespace.clone());
        let key = table.and_then(|t| {
            hush_backends::KINDS
                .iter()
                .find(|k| k.kind() == t.kind)
                .and_then(|k| k.key_for(&binding.backend, t, &scope, name))
        });
        match key {
            Some(key) => {
                let _ = writeln!(out, "    key: {key}");
            }
            None => {
                let _ = writeln!(out, "    key: not described by the {kind} kind");
            }
        }
    }
    out
}

fn tag_text<K: std::fmt::Display, V: std::fmt::Display>(tags: impl IntoIterator<Item = (K, V)>) -> String {
    tags.into_iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

/// Asks hushd: each level's listing (metadata only, admin grants minted per level) shows
/// where the secret is visible; a read at the requested namespace says where it is answered
/// from. The value read is dropped unprinted.
async fn online(
    config: &HushConfig,
    grant: Option<&str>,
    tenant: &TenantId,
    namespace: &Namespace,
    name: &SecretName,
    levels: &[Level],
) -> anyhow::Result<String> {
    let client = setup::client(config).await?;
    let mut out = String::new();
    let token = match grant {
        Some(token) => token.to_owned(),
        None => {
            let issuer = setup::issuer(config)?;
            let mint = |namespace: &Namespace, scope| {
                setup::own_grant(&issuer, &client, (tenant, namespace), scope, "hush-explain")
            };
            for level in levels.iter().filter(|l| l.binding.is_some()) {
                let listed =
                    client.session(mint(&level.namespace, GrantScope::Admin)?)?.list(&ListFilter::default()).await;
                let _ = writeln!(out, "  {}: {}", level.namespace, listing_text(listed, name, level));
            }
            mint(namespace, GrantScope::Read)?
        }
    };
    let session = client.session(&token)?;
    let request = hush_client::SecretRequest::new(name.as_str());
    let read = session
        .fetch(std::slice::from_ref(&request))
        .await?
        .pop()
        .unwrap_or_else(|| Err(Error::new(ErrorKind::Internal, "hushd answered no item")));
    match read {
        Ok(resolved) => {
            let version = resolved.version.map(|v| format!(", version {v}")).unwrap_or_default();
            let stale = if resolved.stale { " (stale: its backend failed, served from the cache)" } else { "" };
            let _ = writeln!(
                out,
                "  a read of {name} at {namespace} is answered from {}{version}{stale}",
                resolved.namespace
            );
        }
        Err(e) => {
            let _ = writeln!(out, "  a read of {name} at {namespace} fails: {e}");
        }
    }
    Ok(out)
}

fn listing_text(listed: hush_core::Result<Vec<SecretMeta>>, name: &SecretName, level: &Level) -> String {
    let listed = match listed {
        Ok(listed) => listed,
        Err(e) => return format!("cannot list: {e}"),
    };
    let hidden_by = level.binding.as_ref().map(|(_, b)| &b.filter_tags).filter(|tags| !tags.is_empty());
    match listed.iter().find(|meta| meta.name == *name) {
        Some(meta) => {
            let version = meta.version.as_ref().map(|v| format!("version {v}")).unwrap_or_else(|| "present".to_owned());
            let tags =
                if meta.tags.is_empty() { String::new() } else { format!(", tags {}", tag_text(meta.tags.iter())) };
            format!("{version}{tags}")
        }
        None => match hidden_by {
            Some(tags) => format!("not visible: absent, or hidden by the tag filter ({})", tag_text(tags)),
            None => "not found".to_owned(),
        },
    }
}
