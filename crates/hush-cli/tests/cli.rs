//! The `hush` binary as an operator runs it: against a real nats-server and a resolver started
//! exactly as hushd starts it. Checks output, files and exit codes.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use hush_e2e::{BaoServer, ONE_STORE, Stack, skip};

/// [`ONE_STORE`], and a read-only namespace on it.
fn config() -> String {
    format!("{ONE_STORE}\n[tenants.acme.namespaces.\"company.locked\"]\nbackend = \"local\"\nread_only = true\n")
}

/// Runs `hush` with `args`, optional stdin and extra environment, off the async runtime.
async fn hush(config: &Path, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
    let (config, args, stdin) =
        (config.to_owned(), args.iter().map(|a| a.to_string()).collect::<Vec<_>>(), stdin.map(<[u8]>::to_vec));
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hush"))
            .arg("--config")
            .arg(&config)
            .args(&args)
            .env_remove("HUSH_GRANT")
            .env_remove("HUSH_CONFIG")
            .envs(env)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hush runs");
        if let Some(bytes) = stdin {
            child.stdin.take().unwrap().write_all(&bytes).unwrap();
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn secrets_round_trip_through_the_cli_with_documented_exit_codes() {
    let Some(stack) = Stack::start_or_skip(&config()) else { return };
    let _replica = stack.replica().await;
    let config = stack.config_path.clone();
    let c = config.as_path();

    let put = hush(
        c,
        &["put", "-t", "acme", "-n", "company", "DB_PASSWORD", "--value", "hunter2", "--tag", "team=payments"],
        None,
        &[],
    )
    .await;
    assert_eq!(code(&put), 0, "{}", stderr(&put));
    assert!(stderr(&put).contains("stored DB_PASSWORD in acme/company version 1"), "{}", stderr(&put));
    let json = br#"{"credentials":{"user":"app","password":"p@ss"}}"#;
    let from_stdin = hush(c, &["put", "-t", "acme", "-n", "company", "DB"], Some(json), &[]).await;
    assert_eq!(code(&from_stdin), 0, "{}", stderr(&from_stdin));
    let binary = stack.path().join("blob.bin");
    std::fs::write(&binary, [0u8, 159, 146, 150, 255, 10]).unwrap();
    let from_file =
        hush(c, &["put", "-t", "acme", "-n", "company", "BLOB", "--from-file", binary.to_str().unwrap()], None, &[])
            .await;
    assert_eq!(code(&from_file), 0, "{}", stderr(&from_file));

    let get = hush(c, &["get", "-t", "acme", "-n", "company.team.etl", "DB_PASSWORD"], None, &[]).await;
    assert_eq!((code(&get), stdout(&get).as_str()), (0, "hunter2"), "exact bytes on a pipe: {}", stderr(&get));
    let path =
        hush(c, &["get", "-t", "acme", "-n", "company", "DB", "--path", "credentials.password"], None, &[]).await;
    assert_eq!(stdout(&path), "p@ss");
    let blob = hush(c, &["get", "-t", "acme", "-n", "company", "BLOB"], None, &[]).await;
    assert_eq!(blob.stdout, [0u8, 159, 146, 150, 255, 10], "binary values come back byte for byte");

    let list = hush(c, &["list", "-t", "acme", "-n", "company", "--tag", "team=payments"], None, &[]).await;
    assert_eq!(code(&list), 0);
    assert!(stdout(&list).contains("DB_PASSWORD") && stdout(&list).contains("team=payments"), "{}", stdout(&list));
    assert!(!stdout(&list).contains("BLOB") && !stdout(&list).contains("hunter2"));
    let list_json = hush(c, &["list", "-t", "acme", "-n", "company", "--json"], None, &[]).await;
    let items: serde_json::Value = serde_json::from_slice(&list_json.stdout).expect("--json prints JSON");
    assert_eq!(items.as_array().unwrap().len(), 3);

    let template = stack.path().join("dsn.tmpl");
    std::fs::write(
        &template,
        r#"postgres://{{ secret("DB", "credentials.user") }}:{{ secret("DB_PASSWORD") }}@db/app"#,
    )
    .unwrap();
    let render = hush(c, &["render", "-t", "acme", "-n", "company.etl", template.to_str().unwrap()], None, &[]).await;
    assert_eq!((code(&render), stdout(&render).as_str()), (0, "postgres://app:hunter2@db/app"), "{}", stderr(&render));

    // Exit codes, each with a one-line message.
    for (args, expected) in [
        (vec!["get", "-t", "acme", "-n", "company", "NOPE"], 3),
        (vec!["get", "-t", "acme", "-n", "company", "bad name"], 7),
        (vec!["get", "-t", "acme", "-n", "company", "DB", "--path", "a..b"], 7),
        (vec!["get", "-t", "nobody", "-n", "company", "DB"], 3),
        (vec!["get", "-t", "acme", "DB"], 2),
        (vec!["put", "-t", "acme", "-n", "company.locked", "X", "--value", "v"], 5),
        (vec!["frobnicate"], 2),
    ] {
        let output = hush(c, &args, None, &[]).await;
        assert_eq!(code(&output), expected, "{args:?}: {}", stderr(&output));
        if expected != 2 || args[0] != "frobnicate" {
            assert_eq!(stderr(&output).trim_end().lines().count(), 1, "{args:?}: one line: {}", stderr(&output));
            assert!(stderr(&output).starts_with("hush: "));
        }
    }

    let delete = hush(c, &["delete", "-t", "acme", "-n", "company", "DB"], None, &[]).await;
    assert_eq!(code(&delete), 0);
    let again = hush(c, &["delete", "-t", "acme", "-n", "company", "DB"], None, &[]).await;
    assert_eq!(code(&again), 3);
}

#[tokio::test]
async fn grants_from_the_environment_are_used_and_checked() {
    let Some(stack) = Stack::start_or_skip(&config()) else { return };
    let _replica = stack.replica().await;
    let c = stack.config_path.clone();
    let c = c.as_path();
    assert_eq!(code(&hush(c, &["put", "-t", "acme", "-n", "company", "TOKEN", "--value", "t0k"], None, &[]).await), 0);

    // A worker's persistent key pair, as the README's worked example makes it.
    let worker = stack.path().join("worker");
    let keys = hush(c, &["keys", "client", worker.to_str().unwrap()], None, &[]).await;
    assert_eq!(code(&keys), 0, "{}", stderr(&keys));
    assert!(stdout(&keys).contains("client_key = "), "{}", stdout(&keys));
    use std::os::unix::fs::PermissionsExt;
    let private = stack.path().join("worker.key");
    assert_eq!(std::fs::metadata(&private).unwrap().permissions().mode() & 0o777, 0o600);
    let public = std::fs::read_to_string(stack.path().join("worker.pub")).unwrap();
    let again = hush(c, &["keys", "client", worker.to_str().unwrap()], None, &[]).await;
    assert_eq!(code(&again), 7, "never overwrites: {}", stderr(&again));
    let as_worker = [("HUSH_KEYS__CLIENT_KEY", private.to_str().unwrap())];

    // An unbound grant is still printed, with a warning, and the resolver refuses it.
    let unbound = hush(c, &["grant", "-t", "acme", "-n", "company.etl"], None, &[]).await;
    assert_eq!(code(&unbound), 0, "{}", stderr(&unbound));
    assert!(stderr(&unbound).contains("warning: this grant is not bound"), "{}", stderr(&unbound));
    let unbound = stdout(&unbound).trim().to_owned();
    let refused = hush(c, &["get", "TOKEN"], None, &[("HUSH_GRANT", &unbound), as_worker[0]]).await;
    assert_eq!(code(&refused), 4, "{}", stderr(&refused));
    assert!(stderr(&refused).contains("not bound to a client key"), "{}", stderr(&refused));

    let grant = hush(
        c,
        &[
            "grant",
            "-t",
            "acme",
            "-n",
            "company.etl",
            "--ttl",
            "10m",
            "--execution",
            "run-1",
            "--bind-key",
            public.trim(),
        ],
        None,
        &[],
    )
    .await;
    assert_eq!(code(&grant), 0, "{}", stderr(&grant));
    assert!(!stderr(&grant).contains("warning"), "{}", stderr(&grant));
    let token = stdout(&grant).trim().to_owned();
    assert!(token.starts_with("hush1."), "{token}");

    let get = hush(c, &["get", "TOKEN"], None, &[("HUSH_GRANT", &token), as_worker[0]]).await;
    assert_eq!((code(&get), stdout(&get).as_str()), (0, "t0k"), "{}", stderr(&get));
    // Without the worker's private key the bound grant is useless.
    let stolen = hush(c, &["get", "TOKEN"], None, &[("HUSH_GRANT", &token)]).await;
    assert_eq!(code(&stolen), 4, "{}", stderr(&stolen));
    let write = hush(c, &["put", "X", "--value", "v"], None, &[("HUSH_GRANT", &token), as_worker[0]]).await;
    assert_eq!(code(&write), 4, "a read grant cannot write: {}", stderr(&write));
    let mismatch =
        hush(c, &["get", "-t", "acme", "-n", "company", "TOKEN"], None, &[("HUSH_GRANT", &token), as_worker[0]]).await;
    assert_eq!(code(&mismatch), 2, "{}", stderr(&mismatch));
    let garbage = hush(c, &["--grant", "hush1.nope.nope", "get", "TOKEN"], None, &[]).await;
    assert_eq!(code(&garbage), 4, "{}", stderr(&garbage));
    let too_long = hush(c, &["grant", "-t", "acme", "-n", "company", "--ttl", "30d"], None, &[]).await;
    assert_eq!(code(&too_long), 7, "{}", stderr(&too_long));

    // A private key file that others may read is refused, naming the fix.
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = hush(c, &["get", "TOKEN"], None, &[("HUSH_GRANT", &token), as_worker[0]]).await;
    assert_eq!(code(&loose), 7, "{}", stderr(&loose));
    assert!(stderr(&loose).contains(&format!("run `chmod 600 {}`", private.display())), "{}", stderr(&loose));
    let issuer = stack.path().join("keys/issuer.key");
    std::fs::set_permissions(&issuer, std::fs::Permissions::from_mode(0o640)).unwrap();
    let put = hush(c, &["put", "-t", "acme", "-n", "company", "Y", "--value", "v"], None, &[]).await;
    assert_eq!(code(&put), 7, "{}", stderr(&put));
    assert!(stderr(&put).contains("accessible by group or others (mode 0640)"), "{}", stderr(&put));
}

#[tokio::test]
async fn keys_init_writes_private_files_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let unused = dir.path().join("unused.toml");
    let first = hush(&unused, &["keys", "init", keys.to_str().unwrap()], None, &[]).await;
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    use std::os::unix::fs::PermissionsExt;
    for (file, mode) in [
        ("resolver.key", 0o600),
        ("issuer.key", 0o600),
        ("at-rest.keyring", 0o600),
        ("resolver.pub", 0o644),
        ("issuer.pub", 0o644),
    ] {
        let meta = std::fs::metadata(keys.join(file)).unwrap_or_else(|_| panic!("{file} written"));
        assert_eq!(meta.permissions().mode() & 0o777, mode, "{file}");
    }
    // A rotation's new resolver key pair, and the steps to roll it out.
    let next = keys.join("resolver-2");
    let rotate = hush(&unused, &["keys", "rotate-resolver", next.to_str().unwrap()], None, &[]).await;
    assert_eq!(code(&rotate), 0, "{}", stderr(&rotate));
    assert!(stdout(&rotate).contains("previous_resolver_keys"), "{}", stdout(&rotate));
    assert!(
        stdout(&rotate).contains(&format!("resolver_public_key = \"{}.pub\"", next.display())),
        "{}",
        stdout(&rotate)
    );
    assert_eq!(std::fs::metadata(keys.join("resolver-2.key")).unwrap().permissions().mode() & 0o777, 0o600);
    let again = hush(&unused, &["keys", "rotate-resolver", next.to_str().unwrap()], None, &[]).await;
    assert_eq!(code(&again), 7, "never overwrites: {}", stderr(&again));

    let before = std::fs::read(keys.join("resolver.key")).unwrap();
    let second = hush(&unused, &["keys", "init", keys.to_str().unwrap()], None, &[]).await;
    assert_eq!(code(&second), 7, "{}", stderr(&second));
    assert!(stderr(&second).contains("refusing to overwrite"));
    assert_eq!(std::fs::read(keys.join("resolver.key")).unwrap(), before, "nothing was overwritten");
}

#[tokio::test]
async fn config_check_lists_every_problem_with_its_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        r#"
[cache]
ttl_ = "5s"

[backends.local]
kind = "sql"
url = "sqlite://x.db"

[backends.odd]
kind = "vlt"

[tenants.acme]
backend = "local"

[tenants.acme.namespaces."company.team"]
backend = "vlt"
"#,
    )
    .unwrap();
    let output = hush(&path, &["config", "check", "--offline"], None, &[]).await;
    assert_eq!(code(&output), 7, "{}", stderr(&output));
    let report = stdout(&output);
    assert!(report.contains(r#"tenants.acme.namespaces."company.team".backend: unknown backend "vlt""#), "{report}");
    assert!(report.contains("cache.ttl_: unknown key"), "{report}");
    assert!(report.contains("backends.odd.kind"), "{report}");
    let missing = hush(&dir.path().join("absent.toml"), &["config", "check"], None, &[]).await;
    assert_eq!(code(&missing), 7, "{}", stderr(&missing));
}

#[tokio::test]
async fn config_check_reports_reachability_and_rekey_reseals_without_downtime() {
    let Some(stack) = Stack::start_or_skip(&config()) else { return };
    let _replica = stack.replica().await;
    let c = stack.config_path.clone();
    let c = c.as_path();
    let check = hush(c, &["config", "check"], None, &[]).await;
    assert_eq!(code(&check), 0, "{}{}", stdout(&check), stderr(&check));
    assert!(stdout(&check).contains("backend local (sql): reachable"), "{}", stdout(&check));

    assert_eq!(
        code(&hush(c, &["put", "-t", "acme", "-n", "company", "OLD", "--value", "sealed-by-key-1"], None, &[]).await),
        0
    );
    let rotate = hush(c, &["keys", "rotate-at-rest"], None, &[]).await;
    assert_eq!(code(&rotate), 0, "{}", stderr(&rotate));
    assert!(stdout(&rotate).contains("added key 2"), "{}", stdout(&rotate));
    let rekey = hush(c, &["rekey"], None, &[]).await;
    assert_eq!(code(&rekey), 0, "{}", stderr(&rekey));
    assert!(stdout(&rekey).contains("1 re-sealed under key 2"), "{}", stdout(&rekey));
    let again = hush(c, &["rekey"], None, &[]).await;
    assert!(stdout(&again).contains("0 row(s) under older keys"), "{}", stdout(&again));
    // The running resolver started with key 1 only and never read OLD (nothing is cached): it
    // opens the row now sealed under key 2 without a restart.
    let get = hush(c, &["get", "-t", "acme", "-n", "company", "OLD"], None, &[]).await;
    assert_eq!(stdout(&get), "sealed-by-key-1", "{}", stderr(&get));
}

/// What a rekey-under-load run counted, shared by its readers and its writer.
#[derive(Default)]
struct LoadCounters {
    /// Reads answered with the right value.
    ok: std::sync::atomic::AtomicU64,
    /// Of them, answered while `hush rekey` ran.
    during_rekey: std::sync::atomic::AtomicU64,
    /// Reads that failed or answered a value never written for the name.
    failed: std::sync::atomic::AtomicU64,
    /// Writes answered during the rekey.
    written: std::sync::atomic::AtomicU64,
    /// Set while `hush rekey` runs.
    rekeying: std::sync::atomic::AtomicBool,
    /// Cleared to stop the readers.
    running: std::sync::atomic::AtomicBool,
}

/// The value version `version` of secret `index` holds.
fn load_value(index: usize, version: u64) -> String {
    format!("value of S{index:03}, version {version}")
}

/// `hush keys rotate-at-rest`, then `hush rekey` while 8 clients read steadily through a
/// resolver whose cache is too small to answer them (every read opens a row of the store) and
/// a client updates some secrets: no read fails or answers a wrong value, the rekey re-seals
/// every row and skips none, and every secret keeps its latest value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekey_under_read_and_write_load_fails_no_read_and_loses_no_write() {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::sync::atomic::Ordering::Relaxed;
    use std::time::{Duration, Instant};

    use futures::StreamExt as _;
    use hush_core::{GrantScope, SecretBackend as _, SecretValue, Tags};

    const NAMESPACES: [&str; 3] = ["rekey.a", "rekey.b", "rekey.c"];
    /// Secrets, spread over the namespaces, each written twice (two version rows).
    const SECRETS: usize = 300;
    const ROWS: u64 = 2 * SECRETS as u64;
    const READERS: usize = 8;
    /// The writer updates the first `WRITTEN` secrets during the rekey, each at most
    /// `MAX_WRITES` times: 2 + 5 versions stay under the store's `max_versions` (10), so no
    /// version the rekey is about to re-seal is pruned.
    const WRITTEN: usize = 30;
    const MAX_WRITES: u64 = 5;

    // A cache of 16 entries under readers that each walk all 300 names: nearly every read
    // misses and reaches the store. The read budget per grant is raised so the misses are
    // not rate limited.
    let body =
        format!("{ONE_STORE}\n[cache]\nmax_entries = 16\n\n[resolver]\nmax_backend_reads_per_grant = 100000000\n");
    let Some(stack) = Stack::start_or_skip(&body) else { return };
    let replica = stack.replica().await;
    let c = stack.config_path.clone();
    let c = c.as_path();
    let namespace_of = |index: usize| NAMESPACES[index % NAMESPACES.len()];
    let name_of = |index: usize| format!("S{index:03}");
    let tags_of = |index: usize| {
        let mut tags = Tags::new();
        tags.insert("owner", format!("team-{}", index % 7)).unwrap();
        tags
    };

    // Every secret, twice, under key 1 (the only key of the ring).
    let admin = stack.client().await;
    let admins: Vec<_> = NAMESPACES
        .iter()
        .map(|ns| admin.session(stack.bound_grant("acme", ns, GrantScope::Admin, admin.public_key())).unwrap())
        .collect();
    let admin_of = |index: usize| admins[index % NAMESPACES.len()].clone();
    for version in 1..=2 {
        let writes = futures::stream::iter(0..SECRETS)
            .map(|index| {
                let session = admin_of(index);
                let (name, value, tags) = (name_of(index), load_value(index, version), tags_of(index));
                async move { session.put(&name, &SecretValue::from(value.as_str()), &tags).await }
            })
            .buffer_unordered(8)
            .collect::<Vec<_>>()
            .await;
        assert!(writes.iter().all(Result::is_ok), "{:?}", writes.iter().find(|w| w.is_err()));
    }
    let store_config = hush_backend_sql::SqlConfig::for_url(format!("sqlite://{}/local.db", stack.path().display()));
    let ring = stack.path().join("keys/at-rest.keyring");
    let open_store = || async {
        let cipher = Arc::new(hush_crypto::KeyRing::load(&ring).unwrap());
        hush_backend_sql::SqlBackend::connect("local", store_config.clone(), cipher).await.unwrap()
    };
    let store = open_store().await;
    assert_eq!(store.key_usage().await.unwrap(), BTreeMap::from([(1, ROWS)]));
    store.close().await;

    let rotate = hush(c, &["keys", "rotate-at-rest"], None, &[]).await;
    assert_eq!(code(&rotate), 0, "{}", stderr(&rotate));
    assert!(stdout(&rotate).contains("added key 2"), "{}", stdout(&rotate));

    // Readers: each its own client and read sessions (one per namespace), walking every name
    // from its own offset. The latest value of a secret the writer updates is any of those
    // it wrote; of the others, exactly their second version.
    let counters = Arc::new(LoadCounters::default());
    counters.running.store(true, Relaxed);
    let mut readers = tokio::task::JoinSet::new();
    for reader in 0..READERS {
        let client = stack.client().await;
        let sessions: Vec<_> = NAMESPACES
            .iter()
            .map(|ns| client.session(stack.bound_grant("acme", ns, GrantScope::Read, client.public_key())).unwrap())
            .collect();
        let counters = counters.clone();
        readers.spawn(async move {
            let mut errors = Vec::new();
            let mut index = reader * SECRETS / READERS;
            while counters.running.load(Relaxed) {
                index = (index + 1) % SECRETS;
                let read = sessions[index % NAMESPACES.len()].secret(&format!("S{index:03}")).await;
                let versions = if index < WRITTEN { 2..=2 + MAX_WRITES } else { 2..=2 };
                match read {
                    Ok(value) if versions.clone().any(|v| value.expose() == load_value(index, v).as_bytes()) => {
                        counters.ok.fetch_add(1, Relaxed);
                        if counters.rekeying.load(Relaxed) {
                            counters.during_rekey.fetch_add(1, Relaxed);
                        }
                    }
                    wrong => {
                        counters.failed.fetch_add(1, Relaxed);
                        let what = wrong.map(|v| String::from_utf8_lossy(v.expose()).into_owned());
                        errors.push(format!("S{index:03}: {what:?}"));
                    }
                }
            }
            errors
        });
    }
    // Reads flow before the rekey starts: every name read once or more.
    let deadline = Instant::now() + Duration::from_secs(30);
    while counters.ok.load(Relaxed) < 2 * SECRETS as u64 && counters.failed.load(Relaxed) == 0 {
        assert!(Instant::now() < deadline, "readers answered {} reads in 30s", counters.ok.load(Relaxed));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // While `hush rekey` runs: a writer updates some secrets, and a sampler counts the rows
    // still under key 1 with the replica's backend reads, the answered reads and the writes.
    counters.rekeying.store(true, Relaxed);
    let writer = {
        let (counters, admins) = (counters.clone(), admins.clone());
        tokio::spawn(async move {
            let mut latest = BTreeMap::new();
            let mut errors = Vec::new();
            'writing: for version in 3..=2 + MAX_WRITES {
                for index in 0..WRITTEN {
                    if !counters.rekeying.load(Relaxed) {
                        break 'writing;
                    }
                    let value = SecretValue::from(load_value(index, version).as_str());
                    let session = &admins[index % NAMESPACES.len()];
                    match session.put(&format!("S{index:03}"), &value, &tags_of(index)).await {
                        Ok(_) => {
                            latest.insert(index, version);
                            counters.written.fetch_add(1, Relaxed);
                        }
                        Err(e) => errors.push(format!("S{index:03} version {version}: {e}")),
                    }
                }
            }
            (latest, errors)
        })
    };
    let sampler = {
        let (counters, resolver, store) = (counters.clone(), replica.resolver.clone(), open_store().await);
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            while counters.rekeying.load(Relaxed) {
                tick.tick().await;
                let under_key_1 = store.key_usage().await.unwrap().get(&1).copied().unwrap_or(0);
                let (backend_reads, ok) = (resolver.metrics().backend_reads, counters.ok.load(Relaxed));
                samples.push((under_key_1, backend_reads, ok, counters.written.load(Relaxed)));
            }
            store.close().await;
            samples
        })
    };
    let backend_reads_before = replica.resolver.metrics().backend_reads;
    let started = Instant::now();
    let rekey = hush(c, &["rekey", "--batch-size", "8"], None, &[]).await;
    let rekey_time = started.elapsed();
    let backend_reads_during = replica.resolver.metrics().backend_reads - backend_reads_before;
    counters.rekeying.store(false, Relaxed);
    let (latest, write_errors) = writer.await.unwrap();
    let samples = sampler.await.unwrap();
    assert_eq!(code(&rekey), 0, "{}{}", stdout(&rekey), stderr(&rekey));
    // A write adds a version under key 2 and changes no row the rekey re-seals: none skipped.
    let expected = format!(
        "backend local: {ROWS} row(s) under older keys or the tagless AAD, {ROWS} re-sealed under key 2 \
         (0 migrated to the tag-binding AAD), 0 rewritten meanwhile by a write"
    );
    assert_eq!(stdout(&rekey).trim_end(), expected, "{}", stderr(&rekey));

    // Reads go on after the rekey, every row now under key 2, which the replica did not
    // have when it started.
    let after_rekey = counters.ok.load(Relaxed);
    let deadline = Instant::now() + Duration::from_secs(30);
    while counters.ok.load(Relaxed) < after_rekey + SECRETS as u64 && counters.failed.load(Relaxed) == 0 {
        assert!(Instant::now() < deadline, "no reads answered after the rekey");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    counters.running.store(false, Relaxed);
    let mut read_errors = Vec::new();
    while let Some(done) = readers.join_next().await {
        read_errors.extend(done.unwrap());
    }

    // The rows under key 1 went down while reads reached the store and writes were stored:
    // the backend reads, answered reads and writes between the first sample with rows
    // re-sealed and the last with rows left under key 1.
    let mixed: Vec<_> = samples.iter().filter(|sample| (1..ROWS).contains(&sample.0)).collect();
    let (backend_reads_mixed, reads_mixed, writes_mixed) = match (mixed.first(), mixed.last()) {
        (Some(first), Some(last)) => (last.1 - first.1, last.2 - first.2, last.3 - first.3),
        _ => (0, 0, 0),
    };
    let (ok, failed, during) =
        (counters.ok.load(Relaxed), counters.failed.load(Relaxed), counters.during_rekey.load(Relaxed));
    let writes = counters.written.load(Relaxed);
    eprintln!(
        "rekey under load: {ROWS} rows in {} namespaces re-sealed by `hush rekey --batch-size 8` in {} ms; \
         {READERS} readers: {during} reads answered during the rekey ({backend_reads_during} backend reads), \
         {reads_mixed} reads ({backend_reads_mixed} backend reads) over {} samples while the store held rows \
         under both keys, {failed} failed, {ok} answered in all; {writes} writes during the rekey \
         ({writes_mixed} while rows were under both keys), {} failed",
        NAMESPACES.len(),
        rekey_time.as_millis(),
        mixed.len(),
        write_errors.len()
    );
    assert_eq!(failed, 0, "reads failed or answered a wrong value: {read_errors:?}");
    assert!(write_errors.is_empty(), "writes failed: {write_errors:?}");
    // Reads went on and most of them reached the store (a cache that answered them would
    // prove nothing about the rekey), also while rows were under both keys; so did writes.
    assert!(
        during > 0 && 2 * backend_reads_during > during,
        "{backend_reads_during} of {during} reads reached the store"
    );
    assert!(
        reads_mixed > 0 && 2 * backend_reads_mixed > reads_mixed,
        "{backend_reads_mixed} of {reads_mixed} reads reached the store while rows were under both keys: {samples:?}"
    );
    assert!(writes_mixed > 0, "no write while rows were under both keys: {samples:?}");

    let again = hush(c, &["rekey"], None, &[]).await;
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert!(stdout(&again).contains("backend local: 0 row(s) under older keys"), "{}", stdout(&again));

    // No lost update: the store and the resolver answer each secret's latest value, every
    // row under key 2.
    let store = open_store().await;
    assert_eq!(store.key_usage().await.unwrap(), BTreeMap::from([(2, ROWS + writes)]));
    let reader = stack.client().await;
    for index in 0..SECRETS {
        let wanted = load_value(index, latest.get(&index).copied().unwrap_or(2));
        let scope = hush_core::Scope::new(
            hush_core::TenantId::new("acme").unwrap(),
            hush_core::Namespace::new(namespace_of(index)).unwrap(),
        );
        let name = hush_core::SecretName::new(name_of(index)).unwrap();
        let stored = store.get(&scope, &name, None).await.unwrap();
        assert_eq!(stored.value.expose(), wanted.as_bytes(), "S{index:03} in the store");
        let grant = stack.bound_grant("acme", namespace_of(index), GrantScope::Read, reader.public_key());
        let read = reader.session(grant).unwrap().secret(&name_of(index)).await.unwrap();
        assert_eq!(read.expose(), wanted.as_bytes(), "S{index:03} through the resolver");
    }
    store.close().await;
}

#[tokio::test]
async fn every_command_has_help_with_exit_codes() {
    let unused = Path::new("unused.toml");
    for command in [
        vec!["--help"],
        vec!["keys", "--help"],
        vec!["keys", "init", "--help"],
        vec!["keys", "client", "--help"],
        vec!["keys", "rotate-resolver", "--help"],
        vec!["keys", "rotate-at-rest", "--help"],
        vec!["keys", "retire-at-rest", "--help"],
        vec!["grant", "--help"],
        vec!["put", "--help"],
        vec!["get", "--help"],
        vec!["list", "--help"],
        vec!["delete", "--help"],
        vec!["render", "--help"],
        vec!["config", "check", "--help"],
        vec!["rekey", "--help"],
        vec!["bench", "--help"],
    ] {
        let output = hush(unused, &command, None, &[]).await;
        assert_eq!(code(&output), 0, "{command:?}");
        assert!(stdout(&output).contains("Usage:"), "{command:?}: {}", stdout(&output));
    }
    let bench = hush(unused, &["bench", "--help"], None, &[]).await;
    for flag in ["--backend <NAME>", "--cold-requests <N>", "1.2 × (echo p50 + direct p50)"] {
        assert!(stdout(&bench).contains(flag), "{flag}: {}", stdout(&bench));
    }
    let top = hush(unused, &["--help"], None, &[]).await;
    assert!(stdout(&top).contains("6  backend unavailable"), "{}", stdout(&top));
    let retire = hush(unused, &["keys", "retire-at-rest", "--help"], None, &[]).await;
    let words = stdout(&retire).split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("<KEYID>") && words.contains("`hush rekey` moves them"), "{words}");
}

/// A directory with an at-rest key ring (key 1) and a config naming it and a SQLite store:
/// all `hush keys` needs, no NATS.
fn ring_setup(extra: &str) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("at-rest.keyring");
    hush_crypto::KeyRing::generate().save_new(&ring).unwrap();
    let config = dir.path().join("hush.toml");
    let text = format!(
        "[keys]\nat_rest = \"{}\"\n\n[backends.local]\nkind = \"sql\"\nurl = \"sqlite://{}/local.db\"\n\n\
         [tenants.acme]\nbackend = \"local\"\n{extra}",
        ring.display(),
        dir.path().display()
    );
    std::fs::write(&config, text).unwrap();
    (dir, config, ring)
}

fn ring_ids(ring: &Path) -> Vec<u32> {
    hush_crypto::KeyRing::load(ring).unwrap().key_ids()
}

/// Starts `hush --config CONFIG ARGS` without waiting for it.
fn spawn_hush(config: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_hush"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("HUSH_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hush runs")
}

#[tokio::test]
async fn rotate_at_rest_waits_for_the_ring_lock_and_loses_no_key() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, config, ring) = ring_setup("");
    let lock_path = dir.path().join("at-rest.keyring.lock");

    // Another command holds the lock: the rotation waits, then runs once it is released.
    let first = hush(&config, &["keys", "rotate-at-rest"], None, &[]).await;
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert_eq!(std::fs::metadata(&lock_path).unwrap().permissions().mode() & 0o777, 0o600, "lock file mode");
    let held = std::fs::OpenOptions::new().write(true).open(&lock_path).unwrap();
    held.lock().unwrap();
    let mut waiting = spawn_hush(&config, &["keys", "rotate-at-rest"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(waiting.try_wait().unwrap().is_none(), "the rotation did not wait for the lock");
    assert_eq!(ring_ids(&ring), [1, 2], "nothing was written while the lock was held");
    held.unlock().unwrap();
    let output = waiting.wait_with_output().unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stderr(&output).contains("waiting for another `hush keys` command"), "{}", stderr(&output));
    assert!(stdout(&output).contains("added key 3"), "{}", stdout(&output));
    assert_eq!(ring_ids(&ring), [1, 2, 3]);

    // Concurrent rotations queue on the lock: each reads the ring the previous one saved,
    // so every key they add is kept (no lost update).
    let children: Vec<_> = (0..8).map(|_| spawn_hush(&config, &["keys", "rotate-at-rest"])).collect();
    let mut added = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_eq!(code(&output), 0, "{}", stderr(&output));
        let text = stdout(&output);
        let id: u32 = text.strip_prefix("added key ").and_then(|t| t.split(' ').next()).unwrap().parse().unwrap();
        added.push(id);
    }
    added.sort_unstable();
    assert_eq!(added, (4..=11).collect::<Vec<u32>>(), "each rotation added its own key");
    assert_eq!(ring_ids(&ring), (1..=11).collect::<Vec<u32>>());
    assert_eq!(std::fs::metadata(&ring).unwrap().permissions().mode() & 0o777, 0o600, "ring file mode");
}

#[tokio::test]
async fn retire_at_rest_removes_only_an_old_key_no_row_uses() {
    use hush_core::{SecretBackend, SecretValue, Tags};
    let (dir, config, ring) = ring_setup("");
    let c = config.as_path();
    let store_config = hush_backend_sql::SqlConfig::for_url(format!("sqlite://{}/local.db", dir.path().display()));
    let scope =
        hush_core::Scope::new(hush_core::TenantId::new("acme").unwrap(), hush_core::Namespace::new("company").unwrap());
    let open_store = || async {
        let cipher = std::sync::Arc::new(hush_crypto::KeyRing::load(&ring).unwrap());
        hush_backend_sql::SqlBackend::connect("local", store_config.clone(), cipher).await.unwrap()
    };
    let store = open_store().await;
    for name in ["A", "B"] {
        let name = hush_core::SecretName::new(name).unwrap();
        store.put(&scope, &name, SecretValue::from("sealed-by-key-1"), Tags::new()).await.unwrap();
    }
    store.close().await;

    let one_line_error = |output: &Output, code_wanted: i32, text: &str| {
        assert_eq!(code(output), code_wanted, "{}", stderr(output));
        assert_eq!(stderr(output).trim_end().lines().count(), 1, "one line: {}", stderr(output));
        assert!(stderr(output).starts_with("hush: ") && stderr(output).contains(text), "{}", stderr(output));
    };
    let unknown = hush(c, &["keys", "retire-at-rest", "9"], None, &[]).await;
    one_line_error(&unknown, 3, "key 9 is not in the at-rest key ring");
    let newest = hush(c, &["keys", "retire-at-rest", "1"], None, &[]).await;
    one_line_error(&newest, 7, "key 1 is the newest key of");
    assert!(stderr(&newest).contains("run `hush keys rotate-at-rest` first"), "{}", stderr(&newest));
    let not_a_number = hush(c, &["keys", "retire-at-rest", "one"], None, &[]).await;
    assert_eq!(code(&not_a_number), 2, "{}", stderr(&not_a_number));

    assert_eq!(code(&hush(c, &["keys", "rotate-at-rest"], None, &[]).await), 0);
    let used = hush(c, &["keys", "retire-at-rest", "1"], None, &[]).await;
    one_line_error(&used, 7, "key 1 still seals 2 stored row(s) (local: 2): run `hush rekey`");
    assert_eq!(ring_ids(&ring), [1, 2], "a refused retirement leaves the ring alone");

    // A backend that cannot be counted refuses the retirement too.
    let unreachable = dir.path().join("unreachable.toml");
    let text = std::fs::read_to_string(c).unwrap()
        + "\n[backends.remote]\nkind = \"sql\"\nurl = \"postgres://hush@127.0.0.1:1/hush\"\nconnect_timeout = \"1s\"\n";
    std::fs::write(&unreachable, text).unwrap();
    let down = hush(&unreachable, &["keys", "retire-at-rest", "1"], None, &[]).await;
    one_line_error(&down, 6, "key 1 stays: cannot count the rows of backend remote");
    assert_eq!(ring_ids(&ring), [1, 2]);

    let rekey = hush(c, &["rekey"], None, &[]).await;
    assert_eq!(code(&rekey), 0, "{}", stderr(&rekey));
    assert!(stdout(&rekey).contains("2 re-sealed under key 2"), "{}", stdout(&rekey));
    let retired = hush(c, &["keys", "retire-at-rest", "1"], None, &[]).await;
    assert_eq!(code(&retired), 0, "{}", stderr(&retired));
    assert!(stdout(&retired).contains("removed key 1"), "{}", stdout(&retired));
    assert_eq!(ring_ids(&ring), [2]);
    let again = hush(c, &["keys", "retire-at-rest", "1"], None, &[]).await;
    one_line_error(&again, 3, "key 1 is not in the at-rest key ring");

    // Every value still opens with the ring that is left.
    let store = open_store().await;
    for name in ["A", "B"] {
        let got = store.get(&scope, &hush_core::SecretName::new(name).unwrap(), None).await.unwrap();
        assert_eq!(got.value.expose(), b"sealed-by-key-1");
    }
    store.close().await;

    // Without keys.at_rest there is no ring to change.
    let bare = dir.path().join("bare.toml");
    std::fs::write(&bare, "").unwrap();
    let missing = hush(&bare, &["keys", "retire-at-rest", "1"], None, &[]).await;
    one_line_error(&missing, 7, "keys.at_rest is not set");
}

/// Accepts TCP connections and never answers: a backend that hangs.
async fn silent_server() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (port, task)
}

#[tokio::test]
async fn a_backend_that_hangs_is_backend_unavailable_exit_6_and_the_audit_names_it() {
    use futures::StreamExt as _;

    let (port, _server) = silent_server().await;
    // Each attempt ends at the backend's 1 s timeout; two attempts and the delay between them
    // end well inside the resolver's 8 s and the client's 10 s (the default chain).
    let config = format!(
        "[backends.hanging]\nkind = \"aws-secrets-manager\"\nregion = \"eu-west-1\"\n\
         endpoint_override = \"http://127.0.0.1:{port}\"\naccess_key_id = \"AKIDEXAMPLE\"\n\
         secret_access_key = \"not-a-real-key\"\ntimeout = \"1s\"\n\
         retry = {{ max_attempts = 2, min_delay = \"10ms\", max_delay = \"100ms\" }}\n\n\
         [tenants.acme]\nbackend = \"hanging\"\n"
    );
    let Some(stack) = Stack::start_or_skip(&config) else { return };
    let _replica = stack.replica().await;
    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    let mut audit = nats.subscribe("hush.v1.audit.acme").await.unwrap();
    nats.flush().await.unwrap();

    let started = std::time::Instant::now();
    let get = hush(&stack.config_path, &["get", "-t", "acme", "-n", "company", "DB_PASSWORD"], None, &[]).await;
    let waited = started.elapsed();
    assert_eq!(code(&get), 6, "{}", stderr(&get));
    let message = stderr(&get);
    assert!(message.starts_with("hush: ") && message.contains("backend unavailable"), "{message}");
    assert!(message.contains("hanging"), "the message names the backend: {message}");
    assert!(!message.contains("no resolver answered"), "{message}");
    assert!(waited < std::time::Duration::from_secs(10), "answered before the client's timeout: {waited:?}");

    let event =
        tokio::time::timeout(std::time::Duration::from_secs(5), audit.next()).await.expect("audit event").unwrap();
    let event: serde_json::Value = serde_json::from_slice(&event.payload).unwrap();
    let item = &event["items"][0];
    assert_eq!((event["operation"].as_str(), item["outcome"].as_str()), (Some("get"), Some("unavailable")), "{event}");
    assert_eq!(item["backend"], "hanging", "the audit event names the backend: {event}");
    assert!(item["error"].as_str().unwrap_or_default().contains("hanging"), "{event}");
    assert!(!event.to_string().contains("not-a-real-key"), "no credential in the audit event");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_measures_in_a_namespace_of_its_own_and_removes_what_it_wrote() {
    let Some(stack) = Stack::start_or_skip(&config()) else { return };
    let _replica = stack.replica().await;
    let config = stack.config_path.clone();
    // The replica runs in this test process: its CPU and memory are this process's.
    let pid = std::process::id().to_string();
    let nats_pid = stack.nats.pid().expect("the test's nats-server process").to_string();
    let args = [
        "bench",
        "--requests",
        "400",
        "--concurrency",
        "8",
        "--fill",
        "40",
        "--json",
        "--hushd-pid",
        &pid,
        "--nats-pid",
        &nats_pid,
    ];
    let output = hush(&config, &args, None, &[]).await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(stdout(&output).trim()).expect("one JSON object");
    assert_eq!(report["tenant"], "acme");
    assert_eq!(report["own_namespace"], true);
    assert_eq!((report["backend"].as_str(), report["backend_kind"].as_str()), (Some("local"), Some("sql")));
    // The test's config leaves audit at its defaults: on, not required.
    assert_eq!((report["audit"].as_bool(), report["audit_required"].as_bool()), (Some(true), Some(false)), "{report}");
    let namespace = report["namespace"].as_str().unwrap().to_owned();
    assert!(namespace.starts_with("hush_bench_"), "{namespace}");
    for positive in [
        "echo_rps",
        "secret_rps",
        "batch_items_per_second",
        "hushd_cpu_us_per_request",
        "hushd_rss_bytes",
        "client_cpu_us_per_echo",
        "client_cpu_us_per_secret",
        "client_cpu_us_per_batch",
        "nats_cpu_us_per_echo",
        "nats_cpu_us_per_secret",
        "nats_cpu_us_per_batch",
    ] {
        assert!(report[positive].as_f64().is_some_and(|v| v > 0.0), "{positive}: {report}");
    }
    // The client's own cost of a secret() is its CPU per secret() less its CPU per echo.
    let over = report["client_cpu_us_over_echo"].as_f64().expect("client_cpu_us_over_echo");
    let (secret, echo) = (report["client_cpu_us_per_secret"].as_f64(), report["client_cpu_us_per_echo"].as_f64());
    assert!((over - (secret.unwrap() - echo.unwrap())).abs() < 1e-9, "{report}");
    assert_eq!(report["nats_pid"].as_str(), None, "a number: {report}");
    assert_eq!(report["nats_pid"].to_string(), nats_pid, "the nats-server it was given");
    assert!(report["fill_rss_after_bytes"].as_u64().is_some_and(|after| after > 0), "{report}");
    assert_eq!(report["fill_secrets"], 40);
    // Nothing it wrote is left.
    let admin = stack.session("acme", &namespace, hush_core::GrantScope::Admin).await;
    assert_eq!(admin.list(&hush_core::ListFilter::default()).await.unwrap().len(), 0);

    // Half a location is a usage error.
    let half = hush(&config, &["bench", "-t", "acme"], None, &[]).await;
    assert_eq!(code(&half), 2, "{}", stderr(&half));
    assert!(stderr(&half).contains("pass both --tenant and --namespace, or neither"), "{}", stderr(&half));
}

/// A SQLite tenant default and, for `company.team` and below, an override on an OpenBao dev
/// server that shows only secrets tagged `team=payments` (so every write must carry the tag).
fn vault_override_config(address: &str) -> String {
    format!(
        "[backends.local]\nkind = \"sql\"\nurl = \"sqlite://{{dir}}/local.db\"\n\n\
         [backends.vault-main]\nkind = \"vault\"\naddress = \"{address}\"\n\
         auth = {{ method = \"token\", token = \"root\" }}\n\n\
         [tenants.acme]\nbackend = \"local\"\n\n[tenants.acme.namespaces.\"company.team\"]\nbackend = \"vault-main\"\n\
         filter_tags = {{ team = \"payments\" }}\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bench_backend_measures_cold_and_direct_reads_of_a_vault_override_and_removes_what_it_wrote() {
    use futures::StreamExt as _;

    let bao = match BaoServer::start() {
        Ok(bao) => bao,
        Err(reason) => return skip(&reason),
    };
    let Some(stack) = Stack::start_or_skip(&vault_override_config(&bao.address)) else { return };
    let replica = stack.replica().await;
    let config = stack.config_path.clone();
    // Someone else's secrets, in the Vault namespace and in the SQLite default: left alone.
    bao.cli(&["kv", "put", "secret/acme/company/team/KEEP", "value=theirs"]).expect("bao kv put");
    let sql = stack.session("acme", "company", hush_core::GrantScope::Admin).await;
    sql.put("SHARED", &hush_core::SecretValue::from("theirs"), &hush_core::Tags::new()).await.unwrap();
    let reads_before = replica.resolver.metrics().backend_reads;
    // Audit events say where each read was served from (cache or backend).
    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    let mut audit = nats.subscribe("hush.v1.audit.acme").await.unwrap();
    nats.flush().await.unwrap();

    // The replica runs in this test process: its CPU is this process's.
    let pid = std::process::id().to_string();
    let args = [
        "bench",
        "--backend",
        "vault-main",
        "--requests",
        "200",
        "--cold-requests",
        "50",
        "--concurrency",
        "4",
        "--json",
        "--hushd-pid",
        &pid,
    ];
    let output = hush(&config, &args, None, &[]).await;
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(stdout(&output).trim()).expect("one JSON object");
    assert_eq!((report["backend"].as_str(), report["backend_kind"].as_str()), (Some("vault-main"), Some("vault")));
    assert_eq!((report["tenant"].as_str(), report["own_namespace"].as_bool()), (Some("acme"), Some(true)));
    let namespace = report["namespace"].as_str().unwrap().to_owned();
    let own = namespace.strip_prefix("company.team.").expect("below the override").to_owned();
    assert!(own.starts_with("hush_bench_"), "{namespace}");
    assert_eq!(report["cold_requests"], 50);
    let figure = |key: &str| {
        report[key].as_f64().filter(|v| v.is_finite() && *v > 0.0).unwrap_or_else(|| panic!("{key}: {report}"))
    };
    for (p50, p99) in [("cold_p50_us", "cold_p99_us"), ("direct_p50_us", "direct_p99_us")] {
        assert!(figure(p99) >= figure(p50), "{p99} < {p50}: {report}");
    }
    for positive in ["cold_rps", "direct_rps", "hushd_cpu_us_per_cold_request", "secret_rps"] {
        figure(positive);
    }
    let expected = figure("cold_p50_us") / (figure("echo_p50_us") + figure("direct_p50_us"));
    assert!((figure("cold_ratio") - expected).abs() <= 1e-9 * expected, "{report}");
    assert_eq!(report["cold_ratio_target"], 1.2);

    // The bench checks every value it reads against what it wrote, so its direct reads (Vault
    // only) prove hushd wrote them into OpenBao. Each cold secret was read through hushd once,
    // and that read was a cache miss served by the backend.
    let mut cold_reads = Vec::new();
    loop {
        // Until the 50 are in, then until a second passes without any more.
        let wait = std::time::Duration::from_secs(if cold_reads.len() < 50 { 5 } else { 1 });
        let Ok(Some(message)) = tokio::time::timeout(wait, audit.next()).await else { break };
        // One event per line: the resolver publishes them in batches.
        for event in serde_json::Deserializer::from_slice(&message.payload).into_iter::<serde_json::Value>() {
            let event = event.unwrap();
            let items = event["items"].as_array().filter(|_| event["operation"] == "get").cloned().unwrap_or_default();
            for item in items.iter().filter(|i| i["name"].as_str().is_some_and(|n| n.starts_with("HUSH_COLD_"))) {
                let source = item["source"].as_str().map(str::to_owned);
                cold_reads.push((item["name"].as_str().unwrap().to_owned(), source));
            }
        }
    }
    let names: std::collections::BTreeSet<&String> = cold_reads.iter().map(|(name, _)| name).collect();
    assert_eq!((names.len(), cold_reads.len()), (50, 50), "each name read once through hushd: {cold_reads:?}");
    assert!(cold_reads.iter().all(|(_, source)| source.as_deref() == Some("backend")), "{cold_reads:?}");
    let reads = replica.resolver.metrics().backend_reads - reads_before;
    assert!(reads >= 50 + 1 + 64, "{reads} backend reads: 50 cold, HUSH_BENCH's first, secrets() of 64 names");
    // Nothing it wrote is left in OpenBao; what was there stays.
    let listed = bao.cli(&["kv", "list", "secret/acme/company/team"]).expect("bao kv list");
    assert!(listed.contains("KEEP") && !listed.contains("hush_bench_"), "{listed}");
    assert!(bao.cli(&["kv", "list", &format!("secret/acme/company/team/{own}")]).is_err(), "{own} is empty");
    // The SQLite default got nothing: its one row is SHARED.
    let config_now = stack.config();
    let context = hush_backends::BackendContext::from_config(&config_now).unwrap();
    let usage = hush_backends::key_usage_all(&config_now, &context).await;
    let rows: Vec<(String, u64)> =
        usage.into_iter().map(|(name, counts)| (name, counts.unwrap().values().sum())).collect();
    assert_eq!(rows, [("local".to_owned(), 1)]);

    // A measurement that fails still deletes what the bench wrote: a replica whose read budget
    // per grant (100) runs out during the 150 cold reads (the bench checked --cold-requests
    // against the config file's 10 000).
    replica.stop().await;
    let mut tight = stack.config();
    tight.resolver.max_backend_reads_per_grant = 100;
    let _tight = stack.replica_with(tight).await;
    let args = ["bench", "--backend", "vault-main", "--requests", "100", "--cold-requests", "150", "--json"];
    let failed = hush(&config, &args, None, &[]).await;
    assert_eq!(code(&failed), 6, "{}", stderr(&failed));
    assert!(stderr(&failed).contains("--backend: uncached reads through hushd"), "{}", stderr(&failed));
    assert!(stderr(&failed).contains("max_backend_reads_per_grant"), "{}", stderr(&failed));
    assert!(stdout(&failed).is_empty(), "no report: {}", stdout(&failed));
    let listed = bao.cli(&["kv", "list", "secret/acme/company/team"]).expect("bao kv list");
    assert!(listed.contains("KEEP") && !listed.contains("hush_bench_"), "{listed}");
}

#[tokio::test]
async fn bench_backend_refuses_what_it_cannot_measure_with_precise_messages() {
    // Nothing is contacted: every refusal comes before the bench connects.
    let (_dir, config, _ring) = ring_setup(
        "\n[tenants.acme.namespaces.\"company.locked\"]\nbackend = \"local\"\nread_only = true\n\n\
         [tenants.acme.namespaces.old]\nbackend = \"archive\"\nread_only = true\n\n\
         [backends.archive]\nkind = \"vault\"\naddress = \"http://127.0.0.1:1\"\n\
         auth = { method = \"token\", token = \"unused\" }\n\n\
         [backends.unbound]\nkind = \"vault\"\naddress = \"http://127.0.0.1:1\"\n\
         auth = { method = \"token\", token = \"unused\" }\n",
    );
    let c = config.as_path();
    for (args, wanted_code, text) in [
        (vec!["bench", "--backend", "nosuch"], 2, "--backend nosuch: "),
        (vec!["bench", "--backend", "nosuch"], 2, "configured: archive (vault), local (sql), unbound (vault)"),
        (vec!["bench", "--backend", "unbound"], 2, "backend unbound serves no binding"),
        (
            vec!["bench", "--backend", "archive"],
            5,
            "every binding of backend archive is read_only (tenants.acme.namespaces.\"old\")",
        ),
        (
            vec!["bench", "--backend", "archive", "-t", "acme", "-n", "company"],
            2,
            "acme/company is served by backend local, not archive",
        ),
        (
            vec!["bench", "--backend", "local", "-t", "acme", "-n", "company.locked.etl"],
            5,
            "acme/company.locked.etl is bound read_only to backend local",
        ),
        (vec!["bench", "--backend", "local", "-t", "nobody", "-n", "company"], 2, "--tenant nobody: "),
        (vec!["bench", "--backend", "local", "-t", "acme"], 2, "pass both --tenant and --namespace, or neither"),
        (
            vec!["bench", "--backend", "local", "--grant", "hush1.a.b"],
            2,
            "--backend writes the secrets it reads: run it without --grant",
        ),
        (vec!["bench", "--backend", "local", "--cold-requests", "0"], 2, "--cold-requests must be at least 1"),
        (
            vec!["bench", "--backend", "local", "--cold-requests", "10001"],
            2,
            "--cold-requests 10001 is more than resolver.max_backend_reads_per_grant (10000)",
        ),
    ] {
        let output = hush(c, &args, None, &[]).await;
        assert_eq!(code(&output), wanted_code, "{args:?}: {}", stderr(&output));
        assert_eq!(stderr(&output).trim_end().lines().count(), 1, "{args:?}: one line: {}", stderr(&output));
        assert!(
            stderr(&output).starts_with("hush: ") && stderr(&output).contains(text),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    // --cold-requests belongs to --backend.
    let alone = hush(c, &["bench", "--cold-requests", "10"], None, &[]).await;
    assert_eq!(code(&alone), 2, "{}", stderr(&alone));
    assert!(stderr(&alone).contains("--backend <NAME>"), "{}", stderr(&alone));
}

#[tokio::test]
async fn audit_tail_finds_every_event_recorded_while_no_consumer_listened() {
    use hush_core::{ErrorKind, GrantScope, SecretValue, Tags};
    let Some(stack) = Stack::start_or_skip(ONE_STORE) else { return };
    let _replica = stack.replica().await;
    let c = stack.config_path.clone();
    let c = c.as_path();
    let admin = stack.session("acme", "company", GrantScope::Admin).await;

    // A consumer following the stream sees an event as it is recorded; then it is stopped.
    let mut follower = spawn_hush(c, &["audit", "tail", "--follow", "--json", "--since", "1m"]);
    let follower_out = follower.stdout.take().unwrap();
    let first_line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(follower_out), &mut line).map(|_| line)
    });
    admin.put("FIRST", &SecretValue::from("first-value"), &Tags::new()).await.unwrap();
    let first_line = tokio::time::timeout(std::time::Duration::from_secs(20), first_line)
        .await
        .expect("the follower prints the event within 20 s")
        .unwrap()
        .unwrap();
    assert!(first_line.contains("\"name\":\"FIRST\""), "{first_line}");
    follower.kill().unwrap();
    follower.wait().unwrap();

    // Requests while nobody listens: a write, a read and a miss each.
    const ROUNDS: usize = 20;
    for i in 0..ROUNDS {
        let name = format!("AUDITED_{i}");
        admin.put(&name, &SecretValue::from(format!("value-{i}").as_str()), &Tags::new()).await.unwrap();
        assert_eq!(admin.secret(&name).await.unwrap().expose(), format!("value-{i}").as_bytes());
        assert_eq!(admin.secret(&format!("MISSING_{i}")).await.unwrap_err().kind(), ErrorKind::NotFound);
    }

    // Once the stream stored them (events wait up to 2 ms for others), every one of them is
    // found afterwards, in order, and no value is.
    let nats = async_nats::connect(&stack.nats.url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let reply = nats.request("$SRV.STATS.hush", Vec::new().into()).await.unwrap();
        let stats: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
        if stats["endpoints"][0]["data"]["audit_recorded"].as_u64() >= Some(1 + 3 * ROUNDS as u64) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "events recorded: {stats}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let tail = hush(c, &["audit", "tail", "--since", "5m", "--json"], None, &[]).await;
    assert_eq!(code(&tail), 0, "{}", stderr(&tail));
    let events: Vec<serde_json::Value> =
        stdout(&tail).lines().map(|line| serde_json::from_str(line).expect("one JSON event per line")).collect();
    let seen: Vec<String> = events
        .iter()
        .map(|e| format!("{} {} {}", e["operation"].as_str().unwrap(), e["items"][0]["name"], e["items"][0]["outcome"]))
        .collect();
    let mut expected = vec!["put \"FIRST\" \"ok\"".to_owned()];
    for i in 0..ROUNDS {
        expected.push(format!("put \"AUDITED_{i}\" \"ok\""));
        expected.push(format!("get \"AUDITED_{i}\" \"ok\""));
        expected.push(format!("get \"MISSING_{i}\" \"not_found\""));
    }
    assert_eq!(seen, expected);
    assert!(!stdout(&tail).contains("value-"), "no value in an audit event");

    // As text, one line per event; another tenant's filter finds none of them.
    let text = hush(c, &["audit", "tail", "-t", "acme", "--since", "5m"], None, &[]).await;
    assert_eq!(code(&text), 0, "{}", stderr(&text));
    let lines: Vec<String> = stdout(&text).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), expected.len(), "{}", stdout(&text));
    assert!(lines[1].contains(" acme/company put ok AUDITED_0=ok:v1 request="), "{}", lines[1]);
    assert!(lines[2].contains(" acme/company get ok AUDITED_0=ok@company/backend"), "{}", lines[2]);
    let other = hush(c, &["audit", "tail", "-t", "globex", "--since", "5m"], None, &[]).await;
    assert_eq!((code(&other), stdout(&other)), (0, String::new()), "{}", stderr(&other));
    let bad = hush(c, &["audit", "tail", "-t", "no such tenant"], None, &[]).await;
    assert_eq!(code(&bad), 7, "{}", stderr(&bad));
}

/// A tenant default, and an override on `company.team` (another store) that is read-only and
/// shows only secrets tagged env=prod.
const EXPLAINED: &str = r#"
[backends.local]
kind = "sql"
url = "sqlite://{dir}/local.db"

[backends.team]
kind = "sql"
url = "sqlite://{dir}/team.db"

[tenants.acme]
backend = "local"

[tenants.acme.namespaces."company.team"]
backend = "team"
read_only = true
filter_tags = { env = "prod" }
"#;

#[tokio::test]
async fn explain_names_each_level_its_binding_and_key_and_where_hushd_finds_the_secret() {
    use hush_core::{GrantScope, SecretValue, Tags};
    let Some(stack) = Stack::start_or_skip(EXPLAINED) else { return };
    let c = stack.config_path.clone();
    let c = c.as_path();

    // Written first through a replica whose override is writable and unfiltered: the secret in
    // the team store carries env=dev, so the filtered binding hides it.
    let mut writable = stack.config();
    let team = writable.tenants.get_mut("acme").unwrap().namespaces.get_mut("company.team").unwrap();
    team.read_only = false;
    team.filter_tags.clear();
    let writer = stack.replica_with(writable).await;
    let tags = |pair: &str| {
        let mut tags = Tags::new();
        let (k, v) = pair.split_once('=').unwrap();
        tags.insert(k, v).unwrap();
        tags
    };
    let company = stack.session("acme", "company", GrantScope::Admin).await;
    company.put("DB_PASSWORD", &SecretValue::from("company-value"), &tags("owner=ops")).await.unwrap();
    let team = stack.session("acme", "company.team", GrantScope::Admin).await;
    team.put("DB_PASSWORD", &SecretValue::from("team-dev-value"), &tags("env=dev")).await.unwrap();
    writer.stop().await;
    let _replica = stack.replica().await;

    let explained = hush(c, &["explain", "-t", "acme", "-n", "company.team.etl", "DB_PASSWORD"], None, &[]).await;
    assert_eq!(code(&explained), 0, "{}{}", stdout(&explained), stderr(&explained));
    let out = stdout(&explained);
    let expected_lines = [
        "DB_PASSWORD in acme/company.team.etl: 3 level(s) tried in this order; the first that has it answers",
        "  company.team.etl",
        "    binding: backend team (sql), override on company.team, inherited",
        "    read-only: writes through it are refused; reads are not",
        "    tag filter: a secret is hidden here unless its tags include env=prod",
        "  company.team",
        "    binding: backend team (sql), override on company.team",
        "  company",
        "    binding: backend local (sql), tenant default",
        "hushd:",
        "  company.team.etl: not visible: absent, or hidden by the tag filter (env=prod)",
        "  company.team: not visible: absent, or hidden by the tag filter (env=prod)",
        "  company: version 1, tags owner=ops",
        "  a read of DB_PASSWORD at company.team.etl is answered from company, version 1",
    ];
    for line in expected_lines {
        assert!(out.lines().any(|l| l == line), "missing {line:?} in:\n{out}");
    }
    assert_eq!(out.lines().filter(|l| l.starts_with("    key: ")).count(), 3, "{out}");
    // Each level's key as its store's queries address it (the override's levels in team.db).
    for (namespace, store) in [("company.team.etl", "team.db"), ("company.team", "team.db"), ("company", "local.db")] {
        let key = format!(
            "    key: rows of hush_secrets / hush_secret_versions where (tenant, namespace, name) = (\"acme\", \"{namespace}\", \"DB_PASSWORD\") in sqlite://"
        );
        assert!(out.lines().any(|l| l.starts_with(&key) && l.ends_with(store)), "missing {key:?}…{store} in:\n{out}");
    }
    assert!(!out.contains("value"), "no value printed:\n{out}");

    // From the config alone, without hushd: the same levels, nothing asked.
    let offline = hush(c, &["explain", "--offline", "-t", "acme", "-n", "company", "DB_PASSWORD"], None, &[]).await;
    assert_eq!(code(&offline), 0, "{}", stderr(&offline));
    assert!(stdout(&offline).contains("    binding: backend local (sql), tenant default"), "{}", stdout(&offline));
    assert!(!stdout(&offline).contains("hushd:"), "{}", stdout(&offline));
    let unknown = hush(c, &["explain", "--offline", "-t", "globex", "-n", "company", "DB_PASSWORD"], None, &[]).await;
    assert_eq!(code(&unknown), 3, "{}", stderr(&unknown));
    assert!(stderr(&unknown).contains("tenant globex is not configured (tenants: acme)"), "{}", stderr(&unknown));
}
