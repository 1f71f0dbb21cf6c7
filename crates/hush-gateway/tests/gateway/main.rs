//! `hush-gateway` against a real nats-server and hushd, started as an operator starts it.

mod eso;
mod kubernetes;
mod support;

use std::collections::BTreeMap;

use hush_client::{ClientOptions, HushClient};
use hush_core::{ErrorKind, GrantScope, ListFilter, SecretValue, Tags};
use reqwest::StatusCode;

use eso::{EsoError, WebhookStore};
use support::{GatewayProcess, GatewayStack, free_port, http_client};

/// The SecretStore of the README's "Kubernetes and ESO" section, as ESO reads it.
fn readme_store(gateway: &GatewayStack, grant: &str) -> WebhookStore {
    let store = readme_secret_store();
    let webhook = &store["spec"]["provider"]["webhook"];
    let text = |key: &str| webhook[key].as_str().unwrap_or_default().to_owned();
    let url = text("url").replace("https://hush-gateway.hush.svc:8443", &gateway.base_url);
    assert!(url.starts_with(&gateway.base_url), "the README's store points at the gateway: {url}");
    let headers = webhook["headers"]
        .as_mapping()
        .expect("the README's store has headers")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.as_str().unwrap().to_owned()))
        .collect();
    let secrets = webhook["secrets"]
        .as_sequence()
        .expect("the README's store names the grant's Secret")
        .iter()
        .map(|s| {
            // As the README's `--from-literal=grant="$(hush grant ...)"` stores it: no newline (Go's
            // HTTP client refuses a header value holding one).
            let data = BTreeMap::from([("grant".to_owned(), grant.to_owned())]);
            (s["name"].as_str().unwrap().to_owned(), data)
        })
        .collect();
    WebhookStore {
        url,
        method: webhook["method"].as_str().map(str::to_owned),
        headers,
        body: text("body"),
        json_path: webhook["result"]["jsonPath"].as_str().unwrap_or_default().to_owned(),
        secrets,
        http: gateway.http(),
    }
}

/// The first fenced block of the README in `language` that holds `needle`.
fn readme_block(language: &str, needle: &str) -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    readme
        .split(&format!("```{language}\n"))
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains(needle))
        .unwrap_or_else(|| panic!("the README has no {language} block with {needle:?}"))
        .to_owned()
}

/// The README's SecretStore.
fn readme_secret_store() -> serde_yaml_ng::Value {
    let block = readme_block("yaml", "kind: SecretStore");
    let document = block.split("\n---").find(|d| d.contains("kind: SecretStore")).unwrap();
    serde_yaml_ng::from_str(document).expect("the README's SecretStore is YAML")
}

#[tokio::test]
async fn the_eso_webhook_provider_reads_pushes_and_deletes_through_the_gateway() {
    let Some(gateway) = GatewayStack::start_or_skip().await else { return };
    let admin = gateway.stack.session("acme", "prod", GrantScope::Admin).await;
    admin.put("DB_PASSWORD", &"s3cret".into(), &Tags::new()).await.unwrap();
    let creds = r#"{"username":"app","password":"pw-a8f3","port":5432,"nested":{"a":1}}"#;
    admin.put("db-creds", &creds.into(), &Tags::new()).await.unwrap();
    let first = admin.put("API_KEY", &"v1".into(), &Tags::new()).await.unwrap();
    admin.put("API_KEY", &"v2".into(), &Tags::new()).await.unwrap();
    let first_version = first.version.expect("the SQL store has versions").to_string();

    let grant = gateway.grant("acme", "prod", GrantScope::Admin);
    let store = readme_store(&gateway, &grant);

    // ExternalSecret data[].remoteRef: key, property, version.
    assert_eq!(store.get_secret("DB_PASSWORD", "", "").await.unwrap(), b"s3cret");
    assert_eq!(store.get_secret("db-creds", "", "password").await.unwrap(), b"pw-a8f3");
    assert_eq!(store.get_secret("db-creds", "", "port").await.unwrap(), b"5432");
    assert_eq!(store.get_secret("db-creds", "", "nested").await.unwrap(), br#"{"a":1}"#);
    assert_eq!(store.get_secret("API_KEY", "", "").await.unwrap(), b"v2");
    assert_eq!(store.get_secret("API_KEY", &first_version, "").await.unwrap(), b"v1");
    // 404: ESO applies the ExternalSecret's deletion policy.
    assert_eq!(store.get_secret("MISSING", "", "").await, Err(EsoError::NoSecret));
    // A key hush cannot name: QueryEscape makes the space a '+', the gateway says 400.
    assert_eq!(store.get_secret("bad name", "", "").await, Err(EsoError::Endpoint(400)));
    // dataFrom.extract: the JSON secret as a map.
    let map = store.get_secret_map("db-creds").await.unwrap();
    assert_eq!(map["username"], b"app");
    assert_eq!(map["port"], b"5432");

    // PushSecret: the value of one key of a Kubernetes Secret, to a name with a dash (the
    // README's body template covers names Go templates cannot spell as fields).
    assert!(!store.secret_exists("pushed-token").await.unwrap());
    store.push_secret("pushed-token", "token", b"from-kubernetes").await.unwrap();
    assert!(store.secret_exists("pushed-token").await.unwrap());
    assert_eq!(admin.secret("pushed-token").await.unwrap().expose(), b"from-kubernetes");
    let listed = admin.list(&ListFilter::default()).await.unwrap();
    let pushed = listed.iter().find(|m| m.name.as_str() == "pushed-token").unwrap();
    assert_eq!(pushed.tags.get("synced-by"), Some("eso"), "X-Hush-Tag headers become tags");
    // A second push is a new version, read back as the latest.
    store.push_secret("pushed-token", "token", b"rotated").await.unwrap();
    assert_eq!(store.get_secret("pushed-token", "", "").await.unwrap(), b"rotated");

    // DeleteSecret: ESO expands the headers without the store's `secrets`, so the grant is
    // missing and the gateway refuses (README: deletionPolicy and this limit).
    assert_eq!(store.delete_secret("pushed-token").await, Err(EsoError::Endpoint(401)));
    assert_eq!(admin.secret("pushed-token").await.unwrap().expose(), b"rotated");
    // The DELETE route itself: 204, then 404, which ESO counts as deleted.
    let http = gateway.http();
    let url = gateway.url("acme", "prod", "pushed-token");
    let deleted = http.delete(&url).bearer_auth(&grant).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let again = http.delete(&url).bearer_auth(&grant).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(admin.secret("pushed-token").await.map_err(|e| e.kind()).unwrap_err(), ErrorKind::NotFound);

    // The attack: the grant copied out of the cluster, used over NATS by another client (its
    // own key pair), is refused by hushd: it is bound to the gateway's key.
    let thief =
        HushClient::connect(ClientOptions::new(gateway.stack.nats.url.clone(), vec![gateway.stack.resolver_public]))
            .await
            .unwrap();
    let stolen = thief.session(grant.clone()).unwrap();
    let refused = stolen.secret("DB_PASSWORD").await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unauthorized, "{refused}");

    // The access log names tenant, namespace, name and status, and never a value or grant.
    let log = gateway.gateway.log().join("\n");
    assert!(
        log.lines().any(|l| l.contains("tenant=\"acme\"")
            && l.contains("namespace=\"prod\"")
            && l.contains("name=\"DB_PASSWORD\"")
            && l.contains("status=200")),
        "no access line for the read:\n{log}"
    );
    for secret in [grant.as_str(), "s3cret", "from-kubernetes", "rotated", "pw-a8f3"] {
        assert!(!log.contains(secret), "the gateway logged {secret:?}:\n{log}");
    }
}

#[tokio::test]
async fn statuses_say_why_a_request_was_refused() {
    let Some(mut gateway) = GatewayStack::start_or_skip().await else { return };
    let admin = gateway.stack.session("acme", "prod", GrantScope::Admin).await;
    admin.put("PLAIN", &"not json".into(), &Tags::new()).await.unwrap();
    admin.put("DOC", &r#"{"a":{"b":"c"}}"#.into(), &Tags::new()).await.unwrap();
    admin.put("BINARY", &SecretValue::new(vec![0xff, 0x00, 0x01]), &Tags::new()).await.unwrap();
    let http = gateway.http();
    let read = gateway.grant("acme", "prod", GrantScope::Read);
    let url = |name: &str| gateway.url("acme", "prod", name);
    let get = |url: String, grant: Option<String>| {
        let request = http.get(url);
        let request = match grant {
            Some(grant) => request.bearer_auth(grant),
            None => request,
        };
        async move {
            let answer = request.send().await.unwrap();
            let status = answer.status();
            let headers = answer.headers().clone();
            let body: serde_json::Value = answer.json().await.unwrap_or_default();
            (status, headers, body)
        }
    };

    let (status, _, body) = get(url("DOC") + "?property=a.b", Some(read.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, serde_json::json!({"name": "DOC", "namespace": "prod", "version": body["version"], "value": "c"}));
    let (status, _, body) = get(url("DOC") + "?property=a", Some(read.clone())).await;
    assert_eq!((status, &body["value"]), (StatusCode::OK, &serde_json::json!({"b": "c"})), "an object stays JSON");
    let (status, _, body) = get(url("BINARY"), Some(read.clone())).await;
    assert_eq!(
        (status, body["value"].as_str(), body["encoding"].as_str()),
        (StatusCode::OK, Some("/wAB"), Some("base64"))
    );
    // Empty query parameters, as ESO's template leaves them, mean absent.
    let (status, _, body) = get(url("PLAIN") + "?version=&property=", Some(read.clone())).await;
    assert_eq!((status, body["value"].as_str()), (StatusCode::OK, Some("not json")));

    let (status, headers, body) = get(url("PLAIN"), None).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
    assert!(headers.get("www-authenticate").is_some());
    let (status, _, _) = get(url("PLAIN"), Some("hush1.not-a-grant".into())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A grant bound to another key (a worker's) is refused by hushd.
    let elsewhere = gateway.stack.bound_grant("acme", "prod", GrantScope::Read, [7; 32]);
    let (status, _, body) = get(url("PLAIN"), Some(elsewhere)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    // The URL's namespace must be the grant's.
    let (status, _, body) = get(gateway.url("acme", "dev", "PLAIN"), Some(read.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("namespace prod"), "{body}");
    let (status, _, _) = get(gateway.url("globex", "prod", "PLAIN"), Some(read.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Bad names and paths: 400; a path that misses: 404.
    let (status, _, _) = get(url("bad.name"), Some(read.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = get(url("DOC") + "?property=a%5B", Some(read.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = get(url("PLAIN") + "?property=a", Some(read.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = get(url("DOC") + "?property=a.zzz", Some(read.clone())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Writes: a read grant cannot; a read-only binding refuses; a bad tag is 400.
    let post = |url: String, grant: &str, tag: &str| {
        http.post(url).bearer_auth(grant).header("X-Hush-Tag", tag).body("value").send()
    };
    let answer = post(url("NEW"), &read, "a=b").await.unwrap();
    assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    let readonly = gateway.grant("acme", "prod.readonly", GrantScope::Admin);
    let answer = post(gateway.url("acme", "prod.readonly", "NEW"), &readonly, "a=b").await.unwrap();
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let admin_grant = gateway.grant("acme", "prod", GrantScope::Admin);
    let answer = post(url("NEW"), &admin_grant, "no-equals-sign").await.unwrap();
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let answer = post(url("NEW"), &admin_grant, "team=payments").await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let written: serde_json::Value = answer.json().await.unwrap();
    assert_eq!((written["name"].as_str(), written["namespace"].as_str()), (Some("NEW"), Some("prod")));
    assert!(written.get("value").is_none(), "a write's answer holds no value: {written}");
    let too_big = http.post(url("BIG")).bearer_auth(&admin_grant).body(vec![b'x'; 65 * 1024]).send().await.unwrap();
    assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // hushd gone: 503 with Retry-After.
    let plain = url("PLAIN");
    let replica = gateway.replica.take().expect("the replica runs");
    replica.stop().await;
    let (status, headers, body) = get(plain, Some(read.clone())).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")), "{body}");
    assert_eq!(headers.get("retry-after").and_then(|v| v.to_str().ok()), Some("5"));
}

#[tokio::test]
async fn a_tenant_with_a_client_ca_requires_its_client_certificates() {
    let Some(gateway) = GatewayStack::start_or_skip().await else { return };
    let admin = gateway.stack.session("secure", "apps", GrantScope::Admin).await;
    admin.put("TOKEN", &"guarded".into(), &Tags::new()).await.unwrap();
    let grant = gateway.grant("secure", "apps", GrantScope::Read);
    let url = gateway.url("secure", "apps", "TOKEN");

    let without = gateway.http().get(&url).bearer_auth(&grant).send().await.unwrap();
    assert_eq!(without.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = without.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("requires a client certificate"), "{body}");

    let identity = gateway.secure_ca.client("eso-controller");
    let with = http_client(Some(&gateway.ca.pem), Some(&identity));
    let answer = with.get(&url).bearer_auth(&grant).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["value"].as_str(), Some("guarded"));

    // A certificate of a CA no tenant names fails the handshake.
    let stranger = support::TestCa::new("someone else").client("eso-controller");
    let refused = http_client(Some(&gateway.ca.pem), Some(&stranger)).get(&url).bearer_auth(&grant).send().await;
    assert!(refused.is_err(), "a certificate of an unknown CA was accepted");
    // Tenants without a client CA need no certificate.
    let acme = gateway.grant("acme", "prod", GrantScope::Read);
    let open = gateway.http().get(gateway.url("acme", "prod", "NONE")).bearer_auth(&acme).send().await.unwrap();
    assert_eq!(open.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn plain_http_only_on_loopback_and_sigterm_stops_the_gateway() {
    let Some(gateway) = GatewayStack::start_or_skip().await else { return };
    let dir = gateway.dir();
    let config = std::fs::read_to_string(&gateway.stack.config_path).unwrap();
    let without_tls: String = config
        .lines()
        .filter(|l| !l.starts_with("tls =") && !l.starts_with("listen =") && !l.starts_with("client_ca ="))
        .collect::<Vec<_>>()
        .join("\n");
    let write = |name: &str, listen: &str| {
        let path = dir.join(name);
        std::fs::write(&path, without_tls.replace("[gateway]", &format!("[gateway]\nlisten = \"{listen}\""))).unwrap();
        path
    };

    let (status, log) = GatewayProcess::start(&write("no-tls.toml", "127.0.0.1:1"), &[]).wait_exit();
    assert_eq!(status.code(), Some(1));
    assert!(log.contains("gateway.tls is not set"), "{log}");
    let (status, log) = GatewayProcess::start(&write("open.toml", "0.0.0.0:1"), &["--plain-http"]).wait_exit();
    assert_eq!(status.code(), Some(1));
    assert!(log.contains("--plain-http serves only a loopback address"), "{log}");

    let port = free_port();
    let mut plain = GatewayProcess::start(&write("plain.toml", &format!("127.0.0.1:{port}")), &["--plain-http"]);
    let base = format!("http://127.0.0.1:{port}");
    plain.wait_ready(&base, None).await;
    let ready = http_client(None, None).get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let status = plain.terminate();
    assert!(status.success(), "SIGTERM: {status:?}");
    assert!(plain.log().iter().any(|l| l.contains("hush-gateway stopped")), "{:?}", plain.log());
}
