//! Test harness: the Kubernetes API contract server (`contract.rs`), kubeconfig files
//! pointing at it, backends on it, and the official Python client (`kubernetes`) for
//! interoperability checks.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod contract;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use contract::{Contract, TOKEN};
use hush_backend_kubernetes::{KubernetesBackend, KubernetesConfig};

/// The Kubernetes namespace of the kubeconfig's context.
pub const NAMESPACE: &str = "hush";

/// The PyPI package of the official client, pinned to a release whose requirements leave the
/// other backends' Python clients' pins alone.
pub const PYTHON_PACKAGE: &str = "kubernetes==33.1.0";

/// Writes a kubeconfig for `server` (context `test`, namespace [`NAMESPACE`], bearer `token`)
/// into `dir`, trusting `ca` when given; its path.
pub fn kubeconfig(dir: &Path, server: &str, ca: Option<&Path>, token: &str) -> PathBuf {
    let ca = ca.map(|p| format!("    certificate-authority: {}\n", p.display())).unwrap_or_default();
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\npreferences: {{}}\n\
         clusters:\n- name: contract\n  cluster:\n    server: {server}\n{ca}\
         users:\n- name: hush\n  user:\n    token: {token}\n\
         contexts:\n- name: test\n  context:\n    cluster: contract\n    user: hush\n    namespace: {NAMESPACE}\n"
    );
    let path = dir.join(format!("kubeconfig-{}", token.len()));
    std::fs::write(&path, text).expect("a kubeconfig");
    path
}

/// A temporary directory and the config of a backend on `server` through a kubeconfig in it
/// with `token`.
pub fn config_with(server: &Contract, token: &str) -> (tempfile::TempDir, KubernetesConfig) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ca = server.url.starts_with("https").then(hush_backend_behavior::contract_server::test_ca_file);
    let path = kubeconfig(dir.path(), &server.url, ca.as_deref(), token);
    (dir, KubernetesConfig::from_kubeconfig(path).with_request_timeout(Duration::from_secs(2)))
}

/// [`config_with`] the read/write token.
pub fn config(server: &Contract) -> (tempfile::TempDir, KubernetesConfig) {
    config_with(server, TOKEN)
}

/// A backend with `config`.
pub fn backend(config: KubernetesConfig) -> KubernetesBackend {
    install_tls_provider();
    KubernetesBackend::new("k8s-test", config).expect("a backend")
}

/// Makes `ring` the rustls provider, as hush's binaries do at start.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Whether the official Python client can be imported (installed with pip when missing).
pub fn python_client() -> bool {
    hush_backend_behavior::python_client("kubernetes", PYTHON_PACKAGE)
}

/// Runs a Python snippet with `v1` (a `CoreV1Api` from the kubeconfig at `kubeconfig`), `NS`
/// and `json`, `base64` imported; its stdout, or the error output when it fails.
pub fn python(kubeconfig: &Path, snippet: &str) -> Result<String, String> {
    let script = format!(
        "import json, base64\n\
         from kubernetes import client, config\n\
         from kubernetes.client.rest import ApiException\n\
         config.load_kube_config(config_file={path:?})\n\
         v1 = client.CoreV1Api()\n\
         NS = {NAMESPACE:?}\n{snippet}\n",
        path = kubeconfig.display().to_string()
    );
    let out = Command::new("python3").arg("-c").arg(script).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

pub use hush_backend_behavior::keys::{name, scope};
