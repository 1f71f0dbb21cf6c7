//! The Elasticsearch backend against the contract server (`support/contract.rs`) in both modes,
//! Elasticsearch 8 and OpenSearch 2: the full behaviour suite, documents and keys on the wire,
//! ciphertext only in the cluster, lists with tags and pages, error kinds and that no
//! credential shows anywhere. `official_client.rs` checks the server with the official
//! Python clients.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use hush_backend_behavior::at_rest::TestCipher;
use hush_backend_behavior::contract_server::test_ca_file;
use hush_backend_elasticsearch::{
    ElasticsearchConfig, ElasticsearchFactory, LIST_PAGE_SIZE, StoredDocument, index_mappings,
};
use hush_core::{
    BackendFactory, BuildContext, ErrorKind, ListFilter, SecretBackend, SecretMeta, SecretValue, Tags, TlsConfig,
    VersionId,
};
use serde_json::json;
use support::contract::{API_KEY, Contract, Fault, PASSWORD, Product, READER, READER_PASSWORD, USER};
use support::{INDEX, backend, backend_with, config, name, scope};

const PRODUCTS: [Product; 2] = [Product::Elasticsearch, Product::OpenSearch];

/// Error text and debug text together, to check for credentials.
fn shown(err: &hush_core::Error) -> String {
    format!("{err} {err:?}")
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().copied().collect()
}

fn names(metas: &[SecretMeta]) -> Vec<String> {
    metas.iter().map(|m| format!("{}/{}", m.namespace, m.name)).collect()
}

#[tokio::test]
async fn behaviour_suite_on_elasticsearch() {
    let server = Contract::start(Product::Elasticsearch);
    let report = hush_backend_behavior::run(Arc::new(backend(config(&server)))).await;
    report.assert_ok();
    for trial in ["pinned_versions_read_old_values", "concurrent_writers_on_one_name", "list_filters_by_tags"] {
        assert!(report.passed.contains(&trial), "{trial} did not run");
    }
}

#[tokio::test]
async fn behaviour_suite_on_opensearch() {
    let server = Contract::start(Product::OpenSearch);
    let report = hush_backend_behavior::run(Arc::new(backend(config(&server)))).await;
    report.assert_ok();
    for trial in ["pinned_versions_read_old_values", "concurrent_writers_on_one_name", "list_filters_by_tags"] {
        assert!(report.passed.contains(&trial), "{trial} did not run");
    }
}

#[tokio::test]
async fn documents_keys_and_requests_on_the_wire() {
    for product in PRODUCTS {
        let server = Contract::start(product);
        let b = backend(config(&server));
        let s = scope("acme", "company.team");
        let meta =
            b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter2"), tags(&[("team", "payments")])).await.unwrap();
        assert_eq!(meta.version, Some(VersionId::new("1").unwrap()));
        b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter3"), Tags::new()).await.unwrap();
        // The index was created with hush's mappings by the first write.
        assert_eq!(server.mappings(INDEX), Some(index_mappings()));
        let ids: Vec<String> = server.documents(INDEX).into_iter().map(|(id, _)| id).collect();
        assert_eq!(
            ids,
            [
                "hush:acme:company.team:DB_PASSWORD",
                "hush:acme:company.team:DB_PASSWORD:v1",
                "hush:acme:company.team:DB_PASSWORD:v2"
            ]
        );
        let latest = server.document(INDEX, "hush:acme:company.team:DB_PASSWORD").unwrap();
        assert_eq!(latest["record"], "latest");
        assert_eq!(latest["version"], 2);
        assert_eq!(latest["namespace_path"], json!(["company", "company.team"]));
        let first = server.document(INDEX, "hush:acme:company.team:DB_PASSWORD:v1").unwrap();
        assert_eq!(first["tag_pairs"], json!(["team=payments"]));
        assert_eq!(first["tags"], json!({"team": "payments"}));
        let read = b.get(&s, &name("DB_PASSWORD"), Some(&VersionId::new("1").unwrap())).await.unwrap();
        assert_eq!((read.value.expose(), read.tags), (&b"hunter2"[..], tags(&[("team", "payments")])));
        let requests = server.requests();
        let expected_start = [
            "GET /hush-secrets/_doc/hush:acme:company.team:DB_PASSWORD?routing=hush:acme:company.team:DB_PASSWORD",
            "PUT /hush-secrets",
            "PUT /hush-secrets/_create/hush:acme:company.team:DB_PASSWORD:v1?routing=hush:acme:company.team:DB_PASSWORD",
            "PUT /hush-secrets/_doc/hush:acme:company.team:DB_PASSWORD?routing=hush:acme:company.team:DB_PASSWORD&version=1&version_type=external&refresh=wait_for",
        ];
        assert_eq!(&requests[..4], expected_start, "{product:?}");
        // Every document call is routed by the secret's latest document id.
        assert!(
            requests
                .iter()
                .filter(|r| r.contains("/_doc/") || r.contains("/_create/"))
                .all(|r| r.contains("routing=hush:acme"))
        );
    }
}

#[tokio::test]
async fn the_cluster_holds_only_ciphertext() {
    for product in PRODUCTS {
        let server = Contract::start(product);
        let cipher = TestCipher::new(1);
        let b = backend_with(config(&server), cipher.clone());
        let s = scope("acme", "payments");
        let plaintexts = ["correct horse battery staple", "hunter2-PLAINTEXT-MARKER", "s3cr3t value ✓"];
        for (i, text) in plaintexts.iter().enumerate() {
            b.put(&s, &name(&format!("SECRET_{i}")), SecretValue::from(*text), tags(&[("env", "prod")])).await.unwrap();
        }
        b.put(&s, &name("SECRET_0"), SecretValue::from("second PLAINTEXT-MARKER"), Tags::new()).await.unwrap();
        b.delete(&s, &name("SECRET_2")).await.unwrap();
        let stored = serde_json::to_string(&server.documents(INDEX)).unwrap();
        for text in plaintexts.iter().chain(&["PLAINTEXT-MARKER", "horse", "hunter2"]) {
            assert!(!stored.contains(text), "{product:?}: the cluster holds {text:?}");
        }
        // A latest document moved to another secret does not open (the AAD binds the key), nor
        // one whose tags were changed.
        let moved = server.document(INDEX, "hush:acme:payments:SECRET_1").unwrap();
        server.set_document(INDEX, "hush:acme:payments:SECRET_0", moved.clone(), "hush:acme:payments:SECRET_0");
        let err = b.get(&s, &name("SECRET_0"), None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Internal, "{err}");
        assert!(!shown(&err).contains("hunter2"), "{err:?}");
        let mut retagged = moved;
        retagged["tags"] = json!({"env": "dev"});
        retagged["tag_pairs"] = json!(["env=dev"]);
        server.set_document(INDEX, "hush:acme:payments:SECRET_1", retagged, "hush:acme:payments:SECRET_1");
        assert_eq!(b.get(&s, &name("SECRET_1"), None).await.unwrap_err().kind(), ErrorKind::Internal);
        // After a key rotation old documents still open; new ones name the newest key.
        let newest = cipher.rotate();
        let v1 = VersionId::new("1").unwrap();
        assert_eq!(b.get(&s, &name("SECRET_1"), Some(&v1)).await.unwrap().value.expose(), b"hunter2-PLAINTEXT-MARKER");
        b.put(&s, &name("ROTATED"), SecretValue::from("x"), Tags::new()).await.unwrap();
        assert_eq!(server.document(INDEX, "hush:acme:payments:ROTATED").unwrap()["key_id"], newest);
    }
}

#[tokio::test]
async fn deletes_leave_tombstones_and_versions_keep_rising() {
    for product in PRODUCTS {
        let server = Contract::start(product);
        let b = backend(config(&server));
        let s = scope("t", "n");
        for value in ["a", "b"] {
            b.put(&s, &name("X"), SecretValue::from(value), Tags::new()).await.unwrap();
        }
        b.delete(&s, &name("X")).await.unwrap();
        let ids: Vec<String> = server.documents(INDEX).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["hush:t:n:X"], "{product:?}: only the tombstone stays");
        let tombstone = server.document(INDEX, "hush:t:n:X").unwrap();
        assert_eq!((tombstone["deleted"].clone(), tombstone["version"].clone()), (json!(true), json!(3)));
        assert!(tombstone.get("ciphertext").is_none());
        assert_eq!(b.get(&s, &name("X"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(b.delete(&s, &name("X")).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert!(b.list(&s, &ListFilter::default()).await.unwrap().is_empty());
        let again = b.put(&s, &name("X"), SecretValue::from("c"), Tags::new()).await.unwrap();
        assert_eq!(again.version, Some(VersionId::new("4").unwrap()));
        for missing in ["1", "2", "3", "0", "x", "18446744073709551616"] {
            let err = b.get(&s, &name("X"), Some(&VersionId::new(missing).unwrap())).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::NotFound, "{product:?} version {missing}");
        }
    }
}

#[tokio::test]
async fn lists_filter_by_tags_prefix_and_namespace_and_page_with_search_after() {
    for product in PRODUCTS {
        let server = Contract::start(product);
        let b = backend(config(&server));
        let other_prefix = backend(config(&server).with_prefix("other"));
        let s = scope("acme", "company");
        b.put(&s, &name("TOP"), SecretValue::from("t"), tags(&[("team", "a=b")])).await.unwrap();
        b.put(
            &scope("acme", "company.team"),
            &name("DEEP"),
            SecretValue::from("d"),
            tags(&[("team", "a=b"), ("env", "prod")]),
        )
        .await
        .unwrap();
        b.put(&scope("acme", "company-x"), &name("SIBLING"), SecretValue::from("s"), Tags::new()).await.unwrap();
        b.put(&scope("other", "company"), &name("ELSEWHERE"), SecretValue::from("o"), Tags::new()).await.unwrap();
        other_prefix.put(&s, &name("FOREIGN"), SecretValue::from("f"), Tags::new()).await.unwrap();
        let flat = b.list(&s, &ListFilter::default()).await.unwrap();
        assert_eq!(names(&flat), ["company/TOP"], "{product:?}");
        let deep = b.list(&s, &ListFilter { tags: Tags::new(), recursive: true }).await.unwrap();
        assert_eq!(names(&deep), ["company/TOP", "company.team/DEEP"]);
        let tagged = ListFilter { tags: tags(&[("team", "a=b"), ("env", "prod")]), recursive: true };
        assert_eq!(names(&b.list(&s, &tagged).await.unwrap()), ["company.team/DEEP"]);
        let escaped = ListFilter { tags: tags(&[("team=a", "b")]), recursive: true };
        assert!(b.list(&s, &escaped).await.unwrap().is_empty());
        assert_eq!(names(&other_prefix.list(&s, &ListFilter::default()).await.unwrap()), ["company/FOREIGN"]);
        assert_eq!(flat[0].version, Some(VersionId::new("1").unwrap()));
        assert!(flat[0].updated_at.is_some());

        // More than a page: search_after fetches the rest, in order.
        let many = scope("acme", "many");
        for i in 0..LIST_PAGE_SIZE + 3 {
            b.put(&many, &name(&format!("S{i:04}")), SecretValue::from("v"), Tags::new()).await.unwrap();
        }
        let listed = b.list(&many, &ListFilter::default()).await.unwrap();
        assert_eq!(listed.len(), LIST_PAGE_SIZE + 3);
        assert!(listed.windows(2).all(|w| w[0].name < w[1].name));
        let searches: Vec<String> = server.requests().into_iter().filter(|r| r.contains("/_search")).collect();
        assert!(searches.iter().all(|r| r == "POST /hush-secrets/_search"), "{searches:?}");
    }
}

#[tokio::test]
async fn a_missing_index_reads_as_empty_and_foreign_mappings_are_refused() {
    for product in PRODUCTS {
        let server = Contract::start(product);
        let b = backend(config(&server));
        let s = scope("t", "n");
        assert_eq!(b.get(&s, &name("A"), None).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(b.delete(&s, &name("A")).await.unwrap_err().kind(), ErrorKind::NotFound);
        assert!(b.list(&s, &ListFilter::default()).await.unwrap().is_empty());
        b.check().await.unwrap();
        assert!(server.mappings(INDEX).is_none(), "reads and checks create nothing");

        // An index another application created with dynamic text mappings.
        server.create_index("logs", json!({"properties": {"message": {"type": "text"}}}));
        let foreign = backend(config(&server).with_index("logs"));
        let err = foreign.check().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
        server.create_index("strict", json!({"dynamic": "strict", "properties": {"message": {"type": "text"}}}));
        let strict = backend(config(&server).with_index("strict"));
        let err = strict.put(&s, &name("A"), SecretValue::from("v"), Tags::new()).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
        assert!(err.to_string().contains("mappings hush did not create"), "{err}");
    }
}

#[tokio::test]
async fn check_reads_the_product_and_the_mappings() {
    for product in PRODUCTS {
        let server = Contract::start(product);
        let b = backend(config(&server));
        b.put(&scope("t", "n"), &name("A"), SecretValue::from("v"), Tags::new()).await.unwrap();
        b.check().await.unwrap();
        assert!(server.requests().iter().any(|r| r == "GET /"));
        assert!(server.requests().iter().any(|r| r == "GET /hush-secrets/_mapping"));
        // An Elasticsearch 7 or a server that is neither product is refused.
        let old = json!({"version": {"number": "7.17.0"}, "tagline": "You Know, for Search"});
        server.fail(hush_backend_behavior::contract_server::HttpFault::reply(
            "GET",
            "/",
            hush_backend_behavior::contract_server::ContractReply::json(200, &old)
                .with_header("x-elastic-product", "Elasticsearch"),
        ));
        let err = b.check().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConfigInvalid, "{err}");
        assert!(err.to_string().contains("not Elasticsearch 8+ or OpenSearch 2+"), "{err}");
        server.heal();
    }
    // Without the header, a server saying it is Elasticsearch is not trusted as such.
    let server = Contract::start(Product::OpenSearch);
    let b = backend(config(&server));
    server.fail(hush_backend_behavior::contract_server::HttpFault::reply(
        "GET",
        "/",
        hush_backend_behavior::contract_server::ContractReply::json(200, &json!({"version": {"number": "8.19.3"}})),
    ));
    let err = b.check().await.unwrap_err();
    assert!(err.to_string().contains("X-Elastic-Product absent"), "{err}");
}

#[tokio::test]
async fn credentials_api_keys_and_a_reader() {
    let server = Contract::start(Product::Elasticsearch);
    // One key ring for the writer and the reader, as one hushd has.
    let cipher = TestCipher::new(1);
    let keyed = backend_with(ElasticsearchConfig::new(&server.url).with_api_key(API_KEY), cipher.clone());
    let s = scope("t", "n");
    keyed.put(&s, &name("A"), SecretValue::from("v"), Tags::new()).await.unwrap();
    keyed.check().await.unwrap();
    // A reader reads and lists; its writes are denied; check skips GET / (no monitor privilege).
    let reader = backend_with(ElasticsearchConfig::new(&server.url).with_basic_auth(READER, READER_PASSWORD), cipher);
    assert_eq!(reader.get(&s, &name("A"), None).await.unwrap().value.expose(), b"v");
    assert_eq!(reader.list(&s, &ListFilter::default()).await.unwrap().len(), 1);
    reader.check().await.unwrap();
    for err in [
        reader.put(&s, &name("A"), SecretValue::from("w"), Tags::new()).await.unwrap_err(),
        reader.delete(&s, &name("A")).await.unwrap_err(),
    ] {
        assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::PermissionDenied, false), "{err}");
        assert!(err.to_string().contains("is unauthorized for user [reader]"), "{err}");
        assert!(!shown(&err).contains(READER_PASSWORD));
    }
    // Wrong or missing credentials.
    for config in [
        ElasticsearchConfig::new(&server.url).with_basic_auth(USER, "wrong-SECRET"),
        ElasticsearchConfig::new(&server.url).with_api_key("d3Jvbmc6U0VDUkVU"),
        ElasticsearchConfig::new(&server.url),
    ] {
        let err = backend(config).check().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
        assert!(!shown(&err).contains("SECRET"), "{err:?}");
    }
    // OpenSearch has no API keys.
    let opensearch = Contract::start(Product::OpenSearch);
    let err = backend(ElasticsearchConfig::new(&opensearch.url).with_api_key(API_KEY)).check().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
}

#[tokio::test]
async fn statuses_and_error_types_map_to_kinds_without_credentials() {
    for product in PRODUCTS {
        let server = Contract::start(product);
        let b = backend(config(&server));
        let keyed = backend(ElasticsearchConfig::new(&server.url).with_api_key(API_KEY));
        let s = scope("t", "n");
        b.put(&s, &name("A"), SecretValue::from("v"), Tags::new()).await.unwrap();
        let basic = base64_basic();
        for (status, error_type, kind, temporary) in [
            (401, "security_exception", ErrorKind::PermissionDenied, false),
            (403, "security_exception", ErrorKind::PermissionDenied, false),
            (400, "illegal_argument_exception", ErrorKind::InvalidInput, false),
            (400, "mapper_parsing_exception", ErrorKind::ConfigInvalid, false),
            (409, "version_conflict_engine_exception", ErrorKind::Conflict, true),
            (429, "es_rejected_execution_exception", ErrorKind::RateLimited, true),
            (500, "null_pointer_exception", ErrorKind::Unavailable, true),
            (503, "no_shard_available_action_exception", ErrorKind::Unavailable, true),
        ] {
            // A cluster may repeat the credentials it was sent; each backend redacts its own.
            for (backend, reason) in
                [(&b, format!("said {PASSWORD} and {basic}")), (&keyed, format!("said {API_KEY} in the header"))]
            {
                server.fail(Fault::status("GET", "/_doc/", status, error_type, &reason));
                let err = backend.get(&s, &name("A"), None).await.unwrap_err();
                assert_eq!((err.kind(), err.is_temporary()), (kind, temporary), "{product:?} {status}: {err}");
                let text = shown(&err);
                assert!(!text.contains(PASSWORD) && !text.contains(API_KEY) && !text.contains(&basic), "{err:?}");
                assert!(text.contains("said ***"), "{err:?}");
                server.heal();
            }
        }
        // 409 on a write: a version number is taken by a concurrent writer (the next one is
        // taken instead); a conflict on every number is a temporary Conflict.
        server.fail(Fault::status(
            "PUT",
            "/_create/",
            409,
            "version_conflict_engine_exception",
            "document already exists",
        ));
        let err = b.put(&s, &name("A"), SecretValue::from("w"), Tags::new()).await.unwrap_err();
        assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Conflict, true), "{err}");
        server.heal();
        assert_eq!(b.get(&s, &name("A"), None).await.unwrap().value.expose(), b"v", "a failed write leaves the value");
        // Another 404 than a missing index or document.
        server.fail(Fault::status("GET", "/_mapping", 404, "resource_not_found_exception", "nope"));
        assert_eq!(b.check().await.unwrap_err().kind(), ErrorKind::NotFound);
        server.heal();
    }
}

fn base64_basic() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
}

#[tokio::test]
async fn concurrent_writers_take_distinct_versions_and_the_latest_wins() {
    let server = Contract::start(Product::Elasticsearch);
    let b = Arc::new(backend(config(&server)));
    let s = scope("t", "n");
    let mut writers = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (b, s) = (Arc::clone(&b), s.clone());
        writers.spawn(async move {
            b.put(&s, &name("HOT"), SecretValue::from(format!("w{i}").as_str()), Tags::new()).await
        });
    }
    let mut versions: Vec<u64> = Vec::new();
    while let Some(done) = writers.join_next().await {
        versions.push(done.unwrap().unwrap().version.unwrap().as_str().parse().unwrap());
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=20).collect::<Vec<u64>>());
    let latest = b.get(&s, &name("HOT"), None).await.unwrap();
    assert_eq!(latest.version, Some(VersionId::new("20").unwrap()));
    assert_eq!(server.document(INDEX, "hush:t:n:HOT").unwrap()["version"], 20);
    // Every version stays readable by number, with the value its writer wrote.
    let third: StoredDocument = serde_json::from_value(server.document(INDEX, "hush:t:n:HOT:v3").unwrap()).unwrap();
    assert_eq!(third.version, 3);
    let pinned = b.get(&s, &name("HOT"), Some(&VersionId::new("3").unwrap())).await.unwrap();
    assert!(pinned.value.expose().starts_with(b"w"));
    // Each put wrote the latest document once, with its own version as the external version;
    // the cluster kept the highest (above), whatever order the writes arrived in.
    let refused = server.requests().iter().filter(|r| r.contains("version_type=external")).count();
    assert_eq!(refused, 20);
}

#[tokio::test]
async fn timeouts_dead_servers_and_https() {
    let server = Contract::start(Product::Elasticsearch);
    let b = backend(config(&server).with_request_timeout(Duration::from_millis(300)));
    server.fail(Fault::silent("GET", "/_doc/", Duration::from_secs(3)));
    let started = Instant::now();
    let err = b.get(&scope("t", "n"), &name("A"), None).await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");
    assert!(started.elapsed() < Duration::from_secs(2));
    let url = server.url.clone();
    drop(server);
    let dead = backend(ElasticsearchConfig::new(url).with_basic_auth(USER, PASSWORD));
    let err = dead.check().await.unwrap_err();
    assert_eq!((err.kind(), err.is_temporary()), (ErrorKind::Unavailable, true), "{err}");

    let https = Contract::start_https(Product::OpenSearch);
    let trusted = backend(config(&https).with_tls(TlsConfig::with_ca_file(test_ca_file())));
    trusted.put(&scope("t", "n"), &name("A"), SecretValue::from("v"), Tags::new()).await.unwrap();
    trusted.check().await.unwrap();
    let untrusted = backend(config(&https));
    assert_eq!(untrusted.check().await.unwrap_err().kind(), ErrorKind::Unavailable);
    let skipping = backend(config(&https).with_tls(TlsConfig::insecure_skip_verify()));
    skipping.check().await.unwrap();
}

#[tokio::test]
async fn the_factory_needs_the_key_ring_defaults_the_timeout_and_refuses_bad_configs() {
    let server = Contract::start(Product::OpenSearch);
    support::install_tls_provider();
    let bare = BuildContext::new("es", Duration::from_secs(1));
    let err = match ElasticsearchFactory.build(config(&server), &bare).await {
        Ok(_) => panic!("built without keys.at_rest"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.to_string().contains("keys.at_rest"), "{err}");
    let cipher: Arc<dyn hush_core::AtRestCipher> = TestCipher::new(1);
    let context = bare.with_at_rest(Some(cipher));
    let built = ElasticsearchFactory.build(config(&server), &context).await.unwrap();
    built.put(&scope("t", "n"), &name("A"), SecretValue::from("v"), Tags::new()).await.unwrap();
    built.check().await.unwrap();
    let err = match ElasticsearchFactory.build(config(&server).with_index("Bad"), &context).await {
        Ok(_) => panic!("a bad index builds"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::ConfigInvalid);
    assert!(err.to_string().contains("index"), "{err}");
}
