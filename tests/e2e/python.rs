//! The Python client (`clients/python`): `pip install ./clients/python` into a virtualenv
//! under the workspace's target directory, then a Python script (`python_client.py`) and the
//! README's quick start, verbatim, against a real NATS and resolver.
//!
//! The package is built with the dev profile into the workspace's target directory, so the
//! dependencies `cargo test` already compiled are reused. Without python3 (and its venv and
//! pip) the tests skip; under `CI=true` that, and any failure to build or install, fails them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use hush_core::{GrantScope, Namespace, SecretValue, Tags, TenantId};
use hush_crypto::{ClientKeyPair, GrantIssuer, GrantRequest};
use hush_e2e::{NatsServer, Stack, now};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::{CONFIG, put};

const DB_JSON: &str = r#"{"credentials":{"user":"app","password":"p@ss/w0rd"},"servers":[{"host name":"db1"}]}"#;

/// The workspace root.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace root").to_owned()
}

/// The target directory this test binary was built in (`<target>/<profile>/deps/e2e-…`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors().nth(3).map_or_else(|| workspace_root().join("target"), Path::to_owned)
}

/// Runs a command to the end; its stdout, or a message with its exit status and output.
fn run(command: &mut std::process::Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let output = command.output().map_err(|e| format!("cannot run {shown}: {e}"))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    Err(format!(
        "{shown} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Why the client cannot be tested here.
enum Unavailable {
    /// No python3 with venv and pip: a skip (a failure under `CI=true`).
    NoPython(String),
    /// Building or installing failed: always a failure.
    Build(String),
}

/// The virtualenv's python with the package freshly installed, built once per test run.
fn install() -> Result<PathBuf, Unavailable> {
    let started = Instant::now();
    let venv = target_dir().join("python-client-venv");
    let python = venv.join("bin").join("python");
    if !python.is_file() {
        run(std::process::Command::new("python3").args(["-c", "import venv, ensurepip"]))
            .map_err(|e| Unavailable::NoPython(format!("python3 with venv and pip is unavailable: {e}")))?;
        run(std::process::Command::new("python3").arg("-m").arg("venv").arg(&venv))
            .map_err(|e| Unavailable::NoPython(format!("python3 -m venv failed: {e}")))?;
    }
    let bin = venv.join("bin");
    let path = std::env::join_paths(
        std::iter::once(bin.clone()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .map_err(|e| Unavailable::Build(e.to_string()))?;
    if !bin.join("maturin").is_file() {
        run(std::process::Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "maturin>=1.9.4,<2",
        ]))
        .map_err(|e| Unavailable::Build(format!("installing maturin from PyPI: {e}")))?;
    }
    // Without build isolation the venv's maturin builds (no download per run); the dev
    // profile and this target directory reuse what `cargo test` compiled.
    let mut pip = std::process::Command::new(&python);
    // What cargo sets for this test binary (CARGO_PKG_NAME=hush-e2e, CARGO_MANIFEST_DIR, ...)
    // must not reach maturin's cargo: build scripts that watch those variables (ring's) would
    // rerun, and everything above them be rebuilt by maturin and again by the next `cargo test`.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let from_cargo = ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_CRATE_", "CARGO_BIN_", "CARGO_CFG_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
            || ["CARGO_PRIMARY_PACKAGE", "CARGO_TARGET_TMPDIR", "CARGO_RUSTC_CURRENT_DIR", "OUT_DIR"]
                .contains(&name.as_ref());
        if from_cargo {
            pip.env_remove(name.as_ref());
        }
    }
    run(pip
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-build-isolation",
            "--force-reinstall",
            "--no-deps",
        ])
        .arg(workspace_root().join("clients").join("python"))
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", target_dir())
        .env("MATURIN_PEP517_ARGS", "--profile dev"))
    .map_err(|e| Unavailable::Build(format!("pip install ./clients/python: {e}")))?;
    eprintln!("python client: venv ready and package installed in {:.1}s", started.elapsed().as_secs_f64());
    Ok(python)
}

/// The venv's python, or `None` after the skip; panics when the build fails.
async fn python_client() -> Option<PathBuf> {
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let installed = tokio::task::spawn_blocking(|| {
        INSTALLED
            .get_or_init(|| match install() {
                Ok(python) => Ok(python),
                Err(Unavailable::NoPython(reason)) => Err(reason),
                Err(Unavailable::Build(reason)) => Err(format!("BUILD: {reason}")),
            })
            .clone()
    })
    .await
    .expect("the install task runs");
    match installed {
        Ok(python) => Some(python),
        Err(reason) if reason.starts_with("BUILD: ") => panic!("the Python client does not build: {reason}"),
        Err(reason) => {
            hush_e2e::skip(&reason);
            None
        }
    }
}

/// A grant for `tenant`/`namespace` bound to `key`, signed by `issuer`.
fn grant(issuer: &GrantIssuer, tenant: &str, namespace: &str, key: [u8; 32]) -> String {
    issuer
        .issue(&GrantRequest {
            tenant: TenantId::new(tenant).expect("tenant"),
            namespace: Namespace::new(namespace).expect("namespace"),
            scope: GrantScope::Read,
            ttl: Duration::from_secs(600),
            execution_id: Some("e2e-python".into()),
            cnf: Some(key),
            now: now(),
        })
        .expect("the grant is issued")
}

fn decode_key(line: &str) -> [u8; 32] {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(line.trim()).expect("the key is base64");
    bytes.try_into().expect("the key is 32 bytes")
}

fn b64(key: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(key)
}

#[tokio::test]
async fn the_python_client_reads_renders_masks_and_raises_hush_errors() {
    let Some(python) = python_client().await else { return };
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let replica = stack.replica().await;
    put(&stack, "acme", "company", "PLAIN", "plain value ✓").await;
    put(&stack, "acme", "company", "DB", DB_JSON).await;
    let admin = stack.session("acme", "company", GrantScope::Admin).await;
    let v1 = admin.put("ROTATING", &"one".into(), &Tags::new()).await.unwrap().version.expect("versioned");
    admin.put("ROTATING", &"two".into(), &Tags::new()).await.unwrap();
    admin.put("BINARY", &SecretValue::new(vec![0xff, 0xfe, 0x00, 0x01]), &Tags::new()).await.unwrap();

    // A NATS no resolver serves: nobody answers tenant acme; tenant slow has a subscriber that
    // never replies, so requests there time out.
    let idle = NatsServer::start().expect("a second nats-server starts");
    let silent = async_nats::connect(&idle.url).await.expect("the idle NATS is reachable");
    let _never_answered = silent.subscribe("hush.v1.get.slow.>").await.unwrap();
    silent.flush().await.unwrap();

    let client_key = ClientKeyPair::generate();
    let (key_path, pub_path) = (stack.path().join("worker.key"), stack.path().join("worker.pub"));
    client_key.save_new(&key_path, &pub_path).unwrap();

    let mut child = Command::new(&python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e").join("python_client.py"))
        .env("HUSH_NATS_URL", &stack.nats.url)
        .env("HUSH_IDLE_NATS_URL", &idle.url)
        .env("HUSH_RESOLVER_KEY_B64", b64(&stack.resolver_public))
        .env("HUSH_RESOLVER_KEY_PATH", stack.path().join("keys").join("resolver.pub"))
        .env("HUSH_CLIENT_KEY", &key_path)
        .env("HUSH_CLIENT_PUB", &pub_path)
        .env("ROTATING_V1", v1.to_string())
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the venv's python runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    let stderr_text = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });

    let mut seen = Vec::new();
    let dialogue = async {
        while let Some(line) = stdout.next_line().await.expect("the script's stdout is readable") {
            seen.push(line.clone());
            let answer = if let Some(key) = line.strip_prefix("KEY ") {
                let key = decode_key(key);
                let grants = serde_json::json!({
                    "read": grant(&stack.issuer, "acme", "company.etl", key),
                    "forged": grant(&GrantIssuer::generate(), "acme", "company.etl", key),
                    "other_key": grant(&stack.issuer, "acme", "company.etl", ClientKeyPair::generate().public()),
                    "silent": grant(&stack.issuer, "slow", "company", key),
                });
                grants.to_string()
            } else if line == "COUNT" {
                replica.resolver.metrics().requests.to_string()
            } else {
                continue;
            };
            stdin.write_all(format!("{answer}\n").as_bytes()).await.expect("the script reads stdin");
            stdin.flush().await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(120), dialogue).await.expect("the script finishes within 120s");
    let status = child.wait().await.expect("the script exits");
    let stderr = stderr_text.await.unwrap();
    assert!(status.success(), "the Python script failed ({status}):\n{stderr}\nits output: {seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("OK"), "the script stopped early:\n{stderr}\n{seen:?}");
}

/// The first ```python block of the README's "Quick start" section, and the line the README
/// says it prints.
fn quick_start(readme: &str) -> (String, String) {
    let section = &readme[readme.find("## Quick start").expect("the README has a Quick start")..];
    let start = section.find("```python\n").expect("the Quick start has a python block") + "```python\n".len();
    let end = start + section[start..].find("\n```").expect("the python block ends");
    let after = &section[end..];
    let printed = after
        .split_once("It prints `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .expect("the README says what the quick start prints")
        .0;
    (section[start..end].to_owned() + "\n", printed.to_owned())
}

#[tokio::test]
async fn the_readme_quick_start_runs_as_written() {
    let readme = std::fs::read_to_string(workspace_root().join("clients/python/README.md")).expect("the README");
    let (code, printed) = quick_start(&readme);
    assert!(code.contains("os.environ[\"HUSH_GRANT\"]"), "the quick start reads its inputs from the environment");
    let Some(python) = python_client().await else { return };
    let Some(stack) = Stack::start_or_skip(CONFIG) else { return };
    let _replica = stack.replica().await;
    put(&stack, "acme", "company", "DB_PASSWORD", "s3cr3t-hunter2").await;
    let script = stack.path().join("quick_start.py");
    std::fs::write(&script, code).unwrap();
    let worker = ClientKeyPair::generate();
    let (key_path, pub_path) = (stack.path().join("worker.key"), stack.path().join("worker.pub"));
    worker.save_new(&key_path, &pub_path).unwrap();
    let grant = stack.bound_grant("acme", "company.etl", GrantScope::Read, worker.public());
    let resolver_pub = stack.path().join("keys").join("resolver.pub");
    // The resolver key as the path, then as the file's base64 content, as the README offers.
    for resolver_key in [resolver_pub.display().to_string(), std::fs::read_to_string(&resolver_pub).unwrap()] {
        let output = Command::new(&python)
            .arg(&script)
            .env("HUSH_NATS_URL", &stack.nats.url)
            .env("HUSH_RESOLVER_PUBLIC_KEY", resolver_key.trim())
            .env("HUSH_CLIENT_KEY", &key_path)
            .env("HUSH_GRANT", &grant)
            .current_dir(stack.path())
            .output()
            .await
            .expect("the venv's python runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "the quick start failed ({}):\n{stderr}", output.status);
        assert_eq!(String::from_utf8_lossy(&output.stdout), format!("{printed}\n"), "{stderr}");
    }
}
