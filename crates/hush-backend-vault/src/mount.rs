//! What is mounted at `root_engine`: checked at connect, so a KV v1 mount configured as v2
//! (or a folder named as if it were the mount) is a clear configuration error instead of
//! odd answers later.
//!
//! Asks `GET sys/internal/ui/mounts/<root_engine>`, as the `vault`/`bao kv` command line
//! does to learn a mount's KV version. Any token with a capability under the mount may ask;
//! when the token may not, the check is skipped.

use std::collections::HashMap;

use rustify::endpoint::Endpoint;
use rustify::enums::{RequestMethod, RequestType, ResponseType};
use serde::Deserialize;

/// `GET sys/internal/ui/mounts/<path>`.
#[derive(Debug)]
pub(crate) struct MountInfoRequest {
    pub(crate) path: String,
}

/// The part of the answer hush reads.
#[derive(Debug, Deserialize)]
pub(crate) struct MountInfo {
    /// The engine type: `kv` for the KV engine (`generic` on old servers).
    #[serde(rename = "type")]
    pub(crate) engine: String,
    /// Where the engine is mounted, with a trailing `/`.
    #[serde(default)]
    pub(crate) path: String,
    /// Engine options; KV v2 mounts have `version = "2"`.
    #[serde(default)]
    pub(crate) options: Option<HashMap<String, String>>,
}

impl Endpoint for MountInfoRequest {
    type Response = MountInfo;
    const REQUEST_BODY_TYPE: RequestType = RequestType::JSON;
    const RESPONSE_BODY_TYPE: ResponseType = ResponseType::JSON;

    fn path(&self) -> String {
        format!("sys/internal/ui/mounts/{}", self.path)
    }

    fn method(&self) -> RequestMethod {
        RequestMethod::GET
    }
}

/// Why the mount at `root_engine` does not fit the configuration, or `None` when it does.
pub(crate) fn mismatch(root_engine: &str, engine_version: u8, info: &MountInfo) -> Option<String> {
    if !matches!(info.engine.as_str(), "kv" | "generic") {
        return Some(format!("root_engine {root_engine:?} is a {:?} secrets engine, not KV", info.engine));
    }
    let mount = info.path.trim_end_matches('/');
    if !mount.is_empty() && mount != root_engine {
        return Some(format!(
            "root_engine {root_engine:?} is a folder inside the KV mount {mount:?}: set root_engine = {mount:?} \
             and put the rest in prefix"
        ));
    }
    let version = match info.options.as_ref().and_then(|o| o.get("version")).map(String::as_str) {
        Some("2") => 2,
        _ => 1,
    };
    (version != engine_version).then(|| {
        format!("root_engine {root_engine:?} is a KV v{version} mount, but engine_version is {engine_version}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(engine: &str, path: &str, version: Option<&str>) -> MountInfo {
        let options = version.map(|v| [("version".to_owned(), v.to_owned())].into_iter().collect());
        MountInfo { engine: engine.to_owned(), path: path.to_owned(), options }
    }

    #[test]
    fn versions_types_and_folders() {
        assert_eq!(mismatch("secret", 2, &info("kv", "secret/", Some("2"))), None);
        assert_eq!(mismatch("kv1", 1, &info("kv", "kv1/", None)), None);
        assert_eq!(mismatch("kv1", 1, &info("kv", "kv1/", Some("1"))), None);
        assert!(mismatch("kv1", 2, &info("kv", "kv1/", None)).unwrap().contains("KV v1 mount"));
        assert!(mismatch("secret", 1, &info("kv", "secret/", Some("2"))).unwrap().contains("KV v2 mount"));
        assert!(mismatch("pki", 2, &info("pki", "pki/", None)).unwrap().contains("not KV"));
        assert!(mismatch("secret/hush", 2, &info("kv", "secret/", Some("2"))).unwrap().contains("folder inside"));
    }
}
