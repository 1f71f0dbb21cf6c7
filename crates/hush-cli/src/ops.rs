//! The secret commands: put, get, list, delete, render; and grant, config check, rekey.

use std::io::{IsTerminal, Read, Write};

use anyhow::Context;
use base64::Engine;
use hush_core::{Error, ErrorKind, GrantScope, ListFilter, SecretValue, Tags};
use hush_crypto::GrantRequest;

use crate::cli::{DeleteArgs, GetArgs, GrantArgs, ListArgs, PutArgs, RekeyArgs, RenderArgs};
use crate::exit::Usage;
use crate::setup::{self, session};

fn parse_tags(pairs: &[String]) -> anyhow::Result<Tags> {
    let mut tags = Tags::new();
    for pair in pairs {
        let (k, v) = Tags::parse_pair(pair).map_err(Error::from)?;
        tags.insert(k, v).map_err(Error::from)?;
    }
    Ok(tags)
}

fn write_value(value: &[u8]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(value)?;
    // A trailing newline for people; none for pipes, so `$(hush get X)` and files get the exact bytes.
    if std::io::stdout().is_terminal() && !value.ends_with(b"\n") {
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

pub async fn put(config: &std::path::Path, grant: Option<&str>, args: PutArgs) -> anyhow::Result<()> {
    let value = match (&args.value, &args.from_file) {
        (Some(v), None) => SecretValue::from(v.as_str()),
        (None, Some(path)) => SecretValue::new(
            std::fs::read(path).map_err(|e| Error::invalid_input(format!("cannot read {}: {e}", path.display())))?,
        ),
        (None, None) => {
            if std::io::stdin().is_terminal() {
                return Err(Usage("give the value with --value, --from-file, or on stdin".into()).into());
            }
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).context("cannot read the value from stdin")?;
            SecretValue::new(bytes)
        }
        (Some(_), Some(_)) => return Err(Usage("--value and --from-file exclude each other".into()).into()),
    };
    let tags = parse_tags(&args.tags)?;
    let session = session(config, grant, &args.location, GrantScope::Admin).await?;
    let meta = session.put(&args.name, &value, &tags).await?;
    let version = meta.version.map(|v| format!(" version {v}")).unwrap_or_default();
    eprintln!("stored {} in {}/{}{version}", meta.name, session.tenant(), meta.namespace);
    Ok(())
}

pub async fn get(config: &std::path::Path, grant: Option<&str>, args: GetArgs) -> anyhow::Result<()> {
    let session = session(config, grant, &args.location, GrantScope::Read).await?;
    let mut request = hush_client::SecretRequest::new(&args.name);
    request.path = args.path;
    request.version = args.version;
    let value = session.secrets([request]).await?.pop().context("the resolver answered no item")?;
    write_value(value.expose())
}

pub async fn list(config: &std::path::Path, grant: Option<&str>, args: ListArgs) -> anyhow::Result<()> {
    let filter = ListFilter { tags: parse_tags(&args.tags)?, recursive: args.recursive };
    let session = session(config, grant, &args.location, GrantScope::Admin).await?;
    let items = session.list(&filter).await?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &items)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "{:<24} {:<32} {:>8}  TAGS", "NAMESPACE", "NAME", "VERSION")?;
    for item in items {
        let tags: Vec<String> = item.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let version = item.version.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
        writeln!(out, "{:<24} {:<32} {:>8}  {}", item.namespace, item.name, version, tags.join(","))?;
    }
    Ok(())
}

pub async fn delete(config: &std::path::Path, grant: Option<&str>, args: DeleteArgs) -> anyhow::Result<()> {
    let session = session(config, grant, &args.location, GrantScope::Admin).await?;
    session.delete(&args.name).await?;
    eprintln!("deleted {} from {}/{}", args.name, session.tenant(), session.namespace());
    Ok(())
}

pub async fn render(config: &std::path::Path, grant: Option<&str>, args: RenderArgs) -> anyhow::Result<()> {
    let template = if args.template.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("cannot read the template from stdin")?;
        text
    } else {
        std::fs::read_to_string(&args.template)
            .map_err(|e| Error::invalid_input(format!("cannot read template {}: {e}", args.template.display())))?
    };
    let session = session(config, grant, &args.location, GrantScope::Read).await?;
    let rendered = session.render(&template).await?;
    write_value(rendered.expose())
}

pub fn grant(config: &std::path::Path, args: GrantArgs) -> anyhow::Result<()> {
    let config = setup::load_config(config)?;
    if args.ttl > config.resolver.max_grant_lifetime {
        return Err(Error::invalid_input(format!(
            "--ttl {} is longer than resolver.max_grant_lifetime {}",
            humantime::format_duration(args.ttl),
            humantime::format_duration(config.resolver.max_grant_lifetime)
        ))
        .into());
    }
    let cnf = match &args.bind_key {
        None => {
            eprintln!(
                "hush: warning: this grant is not bound to a client key (--bind-key): resolvers that require \
                 bound grants (resolver.require_bound_grants, on by default) refuse it, and anyone who sees it \
                 can use it"
            );
            None
        }
        Some(text) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| Error::invalid_input("--bind-key is not base64"))?;
            Some(<[u8; 32]>::try_from(bytes).map_err(|_| Error::invalid_input("--bind-key is not 32 bytes"))?)
        }
    };
    let location = crate::cli::Location { tenant: Some(args.tenant.clone()), namespace: Some(args.namespace.clone()) };
    let (tenant, namespace) = setup::location(&location)?;
    let token = setup::issuer(&config)?
        .issue(&GrantRequest {
            tenant,
            namespace,
            scope: if args.admin { hush_core::GrantScope::Admin } else { hush_core::GrantScope::Read },
            ttl: args.ttl,
            execution_id: args.execution,
            cnf,
            now: setup::now(),
        })
        .map_err(Error::from)?;
    println!("{token}");
    Ok(())
}

pub async fn config_check(path: &std::path::Path, offline: bool) -> anyhow::Result<()> {
    let config = setup::load_config(path)?;
    let problems = hush_backends::problems(&config);
    for problem in &problems {
        println!("{problem}");
    }
    if !problems.is_empty() {
        return Err(
            Error::new(ErrorKind::ConfigInvalid, format!("{}: {} problem(s)", path.display(), problems.len())).into()
        );
    }
    println!("{}: no problems", path.display());
    if offline {
        return Ok(());
    }
    let mut unreachable = 0;
    match check_nats(&config).await {
        Ok(()) => println!("nats {}: reachable", hush_client::redact_url(&config.nats.url)),
        Err(e) => {
            unreachable += 1;
            println!("nats {}: {e}", hush_client::redact_url(&config.nats.url));
        }
    }
    let context = hush_backends::BackendContext::from_config(&config)?;
    for (name, result) in hush_backends::check_backends(&config, &context).await {
        match result {
            Ok(()) => println!("backend {name}: reachable"),
            Err(e) => {
                unreachable += 1;
                println!("backend {name}: {e}");
            }
        }
    }
    if unreachable > 0 {
        return Err(Error::unavailable(format!("{unreachable} service(s) unreachable")).into());
    }
    Ok(())
}

async fn check_nats(config: &hush_config::HushConfig) -> anyhow::Result<()> {
    let client = hush_client::NatsOptions::from_config(&config.nats, "hush-cli").connect().await?;
    client.flush().await.map_err(|e| Error::unavailable(e.to_string()))?;
    Ok(())
}

pub async fn rekey(path: &std::path::Path, args: RekeyArgs) -> anyhow::Result<()> {
    let config = setup::load_config(path)?;
    let context = hush_backends::BackendContext::from_config(&config)?;
    let reports = hush_backends::rekey_all(&config, &context, args.batch_size).await;
    if reports.is_empty() {
        println!("no backend seals values at rest: nothing to re-seal");
    }
    let mut failed = None;
    for (name, report) in reports {
        match report {
            Ok(report) => println!("backend {name}: {report}"),
            Err(e) => {
                println!("backend {name}: {e}");
                failed = Some(e);
            }
        }
    }
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
