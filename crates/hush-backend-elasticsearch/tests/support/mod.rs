//! Test harness: the Elasticsearch / OpenSearch contract server (`contract.rs`), backends on
//! it with the test at-rest cipher, and the official Python clients (`elasticsearch` 8.19.x,
//! `opensearch-py`) for interoperability checks.

#![allow(dead_code, reason = "each test binary uses a part of the harness")]

pub mod contract;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use contract::{Contract, PASSWORD, USER};
use hush_backend_behavior::at_rest::TestCipher;
use hush_backend_elasticsearch::{ElasticsearchBackend, ElasticsearchConfig};

/// The index every test uses (the default).
pub const INDEX: &str = "hush-secrets";

/// The config of a backend on `server` as [`USER`].
pub fn config(server: &Contract) -> ElasticsearchConfig {
    ElasticsearchConfig::new(&server.url).with_basic_auth(USER, PASSWORD).with_request_timeout(Duration::from_secs(2))
}

/// A backend with `config` and a fresh test cipher.
pub fn backend(config: ElasticsearchConfig) -> ElasticsearchBackend {
    backend_with(config, TestCipher::new(1))
}

/// A backend with `config` sealing with `cipher`.
pub fn backend_with(config: ElasticsearchConfig, cipher: Arc<TestCipher>) -> ElasticsearchBackend {
    install_tls_provider();
    ElasticsearchBackend::new("es-test", config, cipher).expect("a backend")
}

/// Makes `ring` the rustls provider, as hush's binaries do at start.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The Python package of each official client, pinned.
pub const ELASTICSEARCH_PACKAGE: &str = "elasticsearch==8.19.*";
/// The OpenSearch client (3.x speaks OpenSearch 2).
pub const OPENSEARCH_PACKAGE: &str = "opensearch-py>=2.4,<4";

/// Whether both official Python clients can be imported (installed with pip when missing).
pub fn python_clients() -> bool {
    hush_backend_behavior::python_client("elasticsearch", ELASTICSEARCH_PACKAGE)
        && hush_backend_behavior::python_client("opensearchpy", OPENSEARCH_PACKAGE)
}

/// Runs a Python snippet with `URL`, `es` (an `elasticsearch.Elasticsearch` on `url` as
/// [`USER`], checked to be 8.19.x), `osc` (an `opensearchpy.OpenSearch` on `url` as [`USER`])
/// and `json` defined; returns its stdout, or the error output when it fails.
pub fn python(url: &str, snippet: &str) -> Result<String, String> {
    let script = format!(
        "import json, warnings\n\
         warnings.simplefilter('ignore')\n\
         import elasticsearch, opensearchpy\n\
         assert elasticsearch.__versionstr__.startswith('8.19.'), elasticsearch.__versionstr__\n\
         URL = {url:?}\n\
         es = elasticsearch.Elasticsearch({url:?}, basic_auth=({USER:?}, {PASSWORD:?}), max_retries=0)\n\
         osc = opensearchpy.OpenSearch(hosts=[{url:?}], http_auth=({USER:?}, {PASSWORD:?}), max_retries=0)\n\
         {snippet}\n"
    );
    let out = Command::new("python3").arg("-c").arg(script).output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

pub use hush_backend_behavior::keys::{name, scope};
