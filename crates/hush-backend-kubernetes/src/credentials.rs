//! Where the API server is and how hush proves who it is: the in-cluster service account
//! (`KUBERNETES_SERVICE_HOST`/`_PORT` and `/var/run/secrets/kubernetes.io/serviceaccount/`)
//! or a kubeconfig's context (server, CA, bearer token or token file, namespace). Tokens in
//! files are re-read every [`TOKEN_REFRESH`] (projected service-account tokens rotate).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use hush_core::{Error, ErrorKind, Result, SecretValue};
use serde::Deserialize;

/// The service account's directory in a pod.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// How long a token read from a file is used before the file is read again (client-go's
/// period for projected tokens is one minute too).
pub const TOKEN_REFRESH: Duration = Duration::from_secs(60);

fn config_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::ConfigInvalid, message.into())
}

/// The bearer token: none, fixed (from a kubeconfig), or a file re-read periodically.
pub(crate) enum TokenSource {
    /// No token (an anonymous client).
    None,
    /// A token given inline.
    Fixed(SecretValue),
    /// A token file, with the last token read and when.
    File { path: PathBuf, cached: Mutex<Option<(SecretValue, Instant)>> },
}

impl TokenSource {
    fn file(path: PathBuf) -> Result<Self> {
        let source = TokenSource::File { path, cached: Mutex::new(None) };
        source.current()?;
        Ok(source)
    }

    /// The token to send now; a file's is re-read after [`TOKEN_REFRESH`].
    pub(crate) fn current(&self) -> Result<Option<SecretValue>> {
        match self {
            TokenSource::None => Ok(None),
            TokenSource::Fixed(token) => Ok(Some(token.clone())),
            TokenSource::File { path, cached } => {
                let mut cached = cached.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((token, read)) = cached.as_ref()
                    && read.elapsed() < TOKEN_REFRESH
                {
                    return Ok(Some(token.clone()));
                }
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::new(
                        ErrorKind::Unavailable,
                        format!("cannot read the token file {}: {}", path.display(), e.kind()),
                    )
                    .set_temporary(true)
                })?;
                let token = SecretValue::from(text.trim());
                *cached = Some((token.clone(), Instant::now()));
                Ok(Some(token))
            }
        }
    }
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenSource::None => f.write_str("None"),
            TokenSource::Fixed(_) => f.write_str("Fixed(***)"),
            TokenSource::File { path, .. } => f.debug_struct("File").field("path", path).finish_non_exhaustive(),
        }
    }
}

/// Where the API server is and how to talk to it.
#[derive(Debug)]
pub(crate) struct Connection {
    /// `https://host:port`, without a trailing `/`.
    pub(crate) server: String,
    /// PEM CA certificates to trust besides the system's roots (may be empty).
    pub(crate) ca_pem: Vec<u8>,
    /// Accept any server certificate (`insecure-skip-tls-verify`).
    pub(crate) skip_verify: bool,
    /// The bearer token.
    pub(crate) token: TokenSource,
    /// The namespace the credentials default to, if they name one.
    pub(crate) namespace: Option<String>,
}

/// The in-cluster connection: `read_env` gives `KUBERNETES_SERVICE_HOST` and `_PORT`, `dir`
/// holds `token`, `ca.crt` and `namespace`.
pub(crate) fn in_cluster(read_env: impl Fn(&str) -> Option<String>, dir: &Path) -> Result<Connection> {
    let host = read_env("KUBERNETES_SERVICE_HOST").filter(|h| !h.is_empty());
    let port = read_env("KUBERNETES_SERVICE_PORT").filter(|p| !p.is_empty());
    let (Some(host), Some(port)) = (host, port) else {
        return Err(config_error(
            "no kubeconfig is set and KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not: hush is not running in a pod",
        ));
    };
    let host = if host.contains(':') { format!("[{host}]") } else { host };
    let ca_pem = std::fs::read(dir.join("ca.crt")).map_err(|e| {
        config_error(format!("cannot read the service account's CA {}: {}", dir.join("ca.crt").display(), e.kind()))
    })?;
    let namespace =
        std::fs::read_to_string(dir.join("namespace")).ok().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let token = TokenSource::file(dir.join("token"))
        .map_err(|_| config_error(format!("cannot read the service account token {}", dir.join("token").display())))?;
    Ok(Connection { server: format!("https://{host}:{port}"), ca_pem, skip_verify: false, token, namespace })
}

#[derive(Deserialize)]
struct Kubeconfig {
    #[serde(rename = "current-context", default)]
    current_context: String,
    #[serde(default)]
    clusters: Vec<Named<Cluster>>,
    #[serde(default)]
    users: Vec<Named<User>>,
    #[serde(default)]
    contexts: Vec<Named<Context>>,
}

#[derive(Deserialize)]
struct Named<T> {
    name: String,
    #[serde(alias = "cluster", alias = "user", alias = "context")]
    item: Option<T>,
}

#[derive(Deserialize, Default)]
struct Cluster {
    #[serde(default)]
    server: String,
    #[serde(rename = "certificate-authority", default)]
    certificate_authority: Option<PathBuf>,
    #[serde(rename = "certificate-authority-data", default)]
    certificate_authority_data: Option<String>,
    #[serde(rename = "insecure-skip-tls-verify", default)]
    insecure_skip_tls_verify: bool,
}

#[derive(Deserialize, Default)]
struct User {
    #[serde(default)]
    token: Option<String>,
    #[serde(rename = "tokenFile", default)]
    token_file: Option<PathBuf>,
    #[serde(rename = "client-certificate", default)]
    client_certificate: Option<serde_yaml_ng::Value>,
    #[serde(rename = "client-certificate-data", default)]
    client_certificate_data: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    exec: Option<serde_yaml_ng::Value>,
    #[serde(rename = "auth-provider", default)]
    auth_provider: Option<serde_yaml_ng::Value>,
    #[serde(default)]
    username: Option<serde_yaml_ng::Value>,
}

#[derive(Deserialize, Default)]
struct Context {
    #[serde(default)]
    cluster: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    namespace: Option<String>,
}

fn find<'a, T>(items: &'a [Named<T>], name: &str, what: &str) -> Result<Option<&'a T>> {
    items
        .iter()
        .find(|i| i.name == name)
        .map(|i| i.item.as_ref())
        .ok_or_else(|| config_error(format!("the kubeconfig has no {what} {name:?}")))
}

/// The connection of `context` (its `current-context` when empty) in the kubeconfig at
/// `path`. Only bearer tokens (`token`, `tokenFile`) authenticate; client certificates,
/// `exec` and `auth-provider` users are refused with `ConfigInvalid`.
pub(crate) fn from_kubeconfig(path: &Path, context: &str) -> Result<Connection> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| config_error(format!("cannot read kubeconfig {}: {}", path.display(), e.kind())))?;
    // serde_yaml_ng's errors quote no values, only positions.
    let config: Kubeconfig = serde_yaml_ng::from_str(&text)
        .map_err(|e| config_error(format!("kubeconfig {} is not a kubeconfig: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let name = if context.is_empty() { config.current_context.as_str() } else { context };
    if name.is_empty() {
        return Err(config_error(format!("kubeconfig {} has no current-context; set context", path.display())));
    }
    let context = find(&config.contexts, name, "context")?.ok_or_else(|| config_error("an empty context"))?;
    let cluster = find(&config.clusters, &context.cluster, "cluster")?
        .ok_or_else(|| config_error(format!("cluster {:?} is empty", context.cluster)))?;
    let default_user = User::default();
    let user = if context.user.is_empty() {
        &default_user
    } else {
        find(&config.users, &context.user, "user")?.unwrap_or(&default_user)
    };
    if user.client_certificate.is_some()
        || user.client_certificate_data.is_some()
        || user.exec.is_some()
        || user.auth_provider.is_some()
        || user.username.is_some()
    {
        return Err(config_error(format!(
            "kubeconfig user {:?} authenticates otherwise than with a bearer token (token or tokenFile), which is all hush supports",
            context.user
        )));
    }
    if let Some(problem) = hush_rest::base_url_problem(&cluster.server, "https://10.0.0.1:6443") {
        return Err(config_error(format!("cluster {:?}: server {problem}", context.cluster)));
    }
    let ca_pem = match (&cluster.certificate_authority_data, &cluster.certificate_authority) {
        (Some(data), _) => base64::engine::general_purpose::STANDARD.decode(data.trim()).map_err(|_| {
            config_error(format!("cluster {:?}: certificate-authority-data is not base64", context.cluster))
        })?,
        (None, Some(file)) => std::fs::read(base.join(file)).map_err(|e| {
            config_error(format!("cannot read certificate-authority {}: {}", base.join(file).display(), e.kind()))
        })?,
        (None, None) => Vec::new(),
    };
    let token = match (&user.token, &user.token_file) {
        (Some(token), _) if !token.is_empty() => TokenSource::Fixed(SecretValue::from(token.as_str())),
        (_, Some(file)) => TokenSource::file(base.join(file)).map_err(|_| {
            config_error(format!("cannot read the kubeconfig's tokenFile {}", base.join(file).display()))
        })?,
        _ => TokenSource::None,
    };
    Ok(Connection {
        server: cluster.server.trim_end_matches('/').to_owned(),
        ca_pem,
        skip_verify: cluster.insecure_skip_tls_verify,
        token,
        namespace: context.namespace.clone().filter(|n| !n.is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubeconfig_contexts_tokens_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "file-SECRET\n").unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: a\n\
             clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443/\n    insecure-skip-tls-verify: true\n\
             users:\n- name: u\n  user:\n    token: inline-SECRET\n- name: f\n  user:\n    tokenFile: tok\n\
             - name: x\n  user:\n    client-certificate-data: AAAA\n\
             contexts:\n- name: a\n  context:\n    cluster: c\n    user: u\n    namespace: team\n\
             - name: b\n  context:\n    cluster: c\n    user: f\n- name: x\n  context:\n    cluster: c\n    user: x\n",
        )
        .unwrap();
        let a = from_kubeconfig(&path, "").unwrap();
        assert_eq!(
            (a.server.as_str(), a.skip_verify, a.namespace.as_deref()),
            ("https://127.0.0.1:6443", true, Some("team"))
        );
        assert_eq!(a.token.current().unwrap().unwrap().expose(), b"inline-SECRET");
        assert!(!format!("{a:?}").contains("SECRET"), "{a:?}");
        let b = from_kubeconfig(&path, "b").unwrap();
        assert_eq!(b.token.current().unwrap().unwrap().expose(), b"file-SECRET");
        assert_eq!(b.namespace, None);
        for (context, says) in [("x", "bearer token"), ("nope", "no context")] {
            let err = from_kubeconfig(&path, context).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
            assert!(err.to_string().contains(says), "{err}");
            assert!(!err.to_string().contains("SECRET"), "{err}");
        }
        assert!(from_kubeconfig(&dir.path().join("missing"), "").is_err());
    }

    #[test]
    fn a_token_file_is_read_again_after_the_refresh_period() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first").unwrap();
        let source = TokenSource::file(path.clone()).unwrap();
        std::fs::write(&path, "second").unwrap();
        assert_eq!(source.current().unwrap().unwrap().expose(), b"first");
        if let TokenSource::File { cached, .. } = &source {
            let mut cached = cached.lock().unwrap();
            let (token, _) = cached.take().unwrap();
            *cached = Some((token, Instant::now().checked_sub(TOKEN_REFRESH + Duration::from_secs(1)).unwrap()));
        }
        assert_eq!(source.current().unwrap().unwrap().expose(), b"second");
        std::fs::remove_file(&path).unwrap();
        if let TokenSource::File { cached, .. } = &source {
            *cached.lock().unwrap() = None;
        }
        let err = source.current().unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true));
    }

    #[test]
    fn in_cluster_reads_the_service_account() {
        let dir = tempfile::tempdir().unwrap();
        for (file, text) in [("token", "sa-SECRET"), ("ca.crt", "pem"), ("namespace", "hush\n")] {
            std::fs::write(dir.path().join(file), text).unwrap();
        }
        let env = |v: &str| match v {
            "KUBERNETES_SERVICE_HOST" => Some("fd00::1".to_owned()),
            "KUBERNETES_SERVICE_PORT" => Some("443".to_owned()),
            _ => None,
        };
        let c = in_cluster(env, dir.path()).unwrap();
        assert_eq!((c.server.as_str(), c.namespace.as_deref()), ("https://[fd00::1]:443", Some("hush")));
        assert_eq!(c.token.current().unwrap().unwrap().expose(), b"sa-SECRET");
        assert!(!format!("{c:?}").contains("SECRET"));
        let err = in_cluster(|_| None, dir.path()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    }
}
