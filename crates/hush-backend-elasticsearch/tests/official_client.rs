//! The contract server (`support/contract.rs`) driven by the official Python clients:
//! `elasticsearch` 8.19.x, which checks `X-Elastic-Product: Elasticsearch` on every success,
//! and `opensearch-py` with the header absent. So the server hush's tests use speaks the API
//! the vendors' clients speak (paths, parameters, bodies, error shapes), and the clients read
//! and search what the backend wrote.

mod support;

use hush_core::{SecretBackend, SecretValue, Tags};
use serde_json::{Value, json};
use support::contract::{API_KEY, Contract, ELASTICSEARCH_VERSION, OPENSEARCH_VERSION, Product};
use support::{INDEX, backend, config, name, python, python_clients, scope};

/// A server playing `product` with the clients ready, or `None` (after printing the skip; a
/// failure under `CI=true`) when they cannot be imported or installed.
fn server_with_clients(product: Product) -> Option<Contract> {
    if !python_clients() {
        hush_backend_behavior::print_skip(
            "the official Python clients are missing (pip install elasticsearch==8.19.* opensearch-py failed)",
        );
        return None;
    }
    Some(Contract::start(product))
}

async fn run_python(server: &Contract, snippet: String) -> Value {
    let url = server.url.clone();
    let out = tokio::task::spawn_blocking(move || python(&url, &snippet))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the Python client failed: {e}"));
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// Writes two tagged secrets and deletes a third with the backend.
async fn fill(server: &Contract) {
    let b = backend(config(server));
    let s = scope("acme", "company.team");
    let team: Tags = [("team", "payments")].into_iter().collect();
    b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter2-PLAINTEXT"), team.clone()).await.unwrap();
    b.put(&s, &name("DB_PASSWORD"), SecretValue::from("hunter3-PLAINTEXT"), team.clone()).await.unwrap();
    b.put(&s, &name("API_KEY"), SecretValue::from("key-PLAINTEXT"), team).await.unwrap();
    b.put(&s, &name("GONE"), SecretValue::from("gone-PLAINTEXT"), Tags::new()).await.unwrap();
    b.delete(&s, &name("GONE")).await.unwrap();
}

/// What both clients do with the same calls, with `client` the variable of one of them: get a
/// latest document with its routing, a term search by tag in pages of one with `search_after`,
/// and the mappings.
fn reads(client: &str) -> String {
    format!(
        "c = {client}\n\
         got = c.get(index='{INDEX}', id='hush:acme:company.team:DB_PASSWORD', routing='hush:acme:company.team:DB_PASSWORD')\n\
         query = {{'bool': {{'filter': [{{'term': {{'record': 'latest'}}}}, {{'term': {{'deleted': False}}}}, {{'term': {{'tag_pairs': 'team=payments'}}}}]}}}}\n\
         sort = [{{'namespace': 'asc'}}, {{'name': 'asc'}}]\n\
         names, after = [], None\n\
         while True:\n\
         \x20   body = {{'query': query, 'sort': sort, 'size': 1}}\n\
         \x20   if after is not None: body['search_after'] = after\n\
         \x20   hits = c.search(index='{INDEX}', body=body)['hits']['hits']\n\
         \x20   if not hits: break\n\
         \x20   names.append(hits[0]['_source']['name']); after = hits[0]['sort']\n\
         mapping = c.indices.get_mapping(index='{INDEX}')['{INDEX}']['mappings']\n\
         print(json.dumps({{'version': got['_version'], 'source': got['_source'], 'routing': got.get('_routing'), \
             'names': names, 'tag_pairs_type': mapping['properties']['tag_pairs']['type'], \
             'dynamic': mapping['dynamic'], 'exists': bool(c.indices.exists(index='{INDEX}'))}}))"
    )
}

fn check_reads(product: Product, read: &Value) {
    assert_eq!(read["version"], 2, "{product:?}: {read}");
    assert_eq!(read["routing"], "hush:acme:company.team:DB_PASSWORD");
    assert_eq!(read["names"], json!(["API_KEY", "DB_PASSWORD"]));
    assert_eq!((read["tag_pairs_type"].clone(), read["dynamic"].clone()), (json!("keyword"), json!("strict")));
    assert_eq!(read["exists"], true);
    let source = read["source"].to_string();
    assert!(read["source"]["ciphertext"].is_string() && !source.contains("PLAINTEXT"), "{source}");
}

#[tokio::test]
async fn elasticsearch_py_checks_the_product_and_reads_what_the_backend_wrote() {
    let Some(server) = server_with_clients(Product::Elasticsearch) else { return };
    fill(&server).await;
    let info = run_python(&server, "print(json.dumps(es.info().body))".to_owned()).await;
    assert_eq!(info["version"]["number"], ELASTICSEARCH_VERSION);
    // The client's API key header is the one hush sends (`ApiKey <encoded>`); a wrong password
    // is the client's AuthenticationException with the server's error type.
    let auth = run_python(
        &server,
        format!(
            "out = {{'keyed': elasticsearch.Elasticsearch(URL, api_key={API_KEY:?}, max_retries=0).info()['version']['number']}}\n\
             try:\n    elasticsearch.Elasticsearch(URL, basic_auth=('hush', 'wrong'), max_retries=0).info()\n\
             except elasticsearch.AuthenticationException as e:\n    out['wrong'] = [e.status_code, e.error]\n\
             print(json.dumps(out))"
        ),
    )
    .await;
    assert_eq!(auth, json!({"keyed": ELASTICSEARCH_VERSION, "wrong": [401, "security_exception"]}));
    check_reads(Product::Elasticsearch, &run_python(&server, reads("es")).await);
    // The clients' errors: a missing index, a version conflict (external versions below the
    // stored one, `_create` of an id that exists), a tombstone the backend left.
    let errors = run_python(
        &server,
        format!(
            "out = {{}}\n\
             try:\n    es.get(index='missing', id='x')\nexcept elasticsearch.NotFoundError as e:\n    out['missing'] = [e.status_code, e.error]\n\
             try:\n    es.index(index='{INDEX}', id='hush:acme:company.team:DB_PASSWORD', routing='hush:acme:company.team:DB_PASSWORD', \
                 document={{'record': 'latest'}}, version=1, version_type='external')\n\
             except elasticsearch.ConflictError as e:\n    out['stale'] = [e.status_code, e.error]\n\
             try:\n    es.create(index='{INDEX}', id='hush:acme:company.team:DB_PASSWORD:v1', routing='hush:acme:company.team:DB_PASSWORD', document={{}})\n\
             except elasticsearch.ConflictError as e:\n    out['taken'] = [e.status_code, e.error]\n\
             try:\n    es.get(index='{INDEX}', id='hush:acme:company.team:DB_PASSWORD')\nexcept elasticsearch.BadRequestError as e:\n    out['routing'] = e.error\n\
             try:\n    es.index(index='{INDEX}', id='x', routing='x', document={{'surprise': 1}})\nexcept elasticsearch.BadRequestError as e:\n    out['strict'] = e.error\n\
             es.indices.refresh(index='{INDEX}')\n\
             tomb = es.get(index='{INDEX}', id='hush:acme:company.team:GONE', routing='hush:acme:company.team:GONE')['_source']\n\
             out['tombstone'] = [tomb['deleted'], tomb['version']]\n\
             left = es.search(index='{INDEX}', query={{'term': {{'secret': 'hush:acme:company.team:GONE'}}}}, size=10)['hits']['total']['value']\n\
             out['left'] = left\n\
             print(json.dumps(out))"
        ),
    )
    .await;
    assert_eq!(errors["missing"], json!([404, "index_not_found_exception"]));
    assert_eq!(errors["stale"], json!([409, "version_conflict_engine_exception"]));
    assert_eq!(errors["taken"], json!([409, "version_conflict_engine_exception"]));
    assert_eq!(errors["routing"], "routing_missing_exception");
    assert_eq!(errors["strict"], "strict_dynamic_mapping_exception");
    assert_eq!(errors["tombstone"], json!([true, 2]));
    assert_eq!(errors["left"], 1, "only the tombstone of a deleted secret stays");

    // A document written by the client with hush's field names reads back through the backend
    // only if hush sealed it: a client cannot plant a value (no key), but a list shows it.
    let b = backend(config(&server));
    run_python(
        &server,
        format!(
            "es.index(index='{INDEX}', id='hush:acme:company.team:PLANTED', routing='hush:acme:company.team:PLANTED', refresh='wait_for', \
                 document={{'record': 'latest', 'prefix': 'hush', 'secret': 'hush:acme:company.team:PLANTED', 'tenant': 'acme', \
                 'namespace': 'company.team', 'namespace_path': ['company', 'company.team'], 'name': 'PLANTED', 'version': 1, \
                 'deleted': False, 'tags': {{}}, 'tag_pairs': [], 'key_id': 1, 'aad_format': 2, 'nonce': 'AAAAAAAAAAAAAAAA', \
                 'ciphertext': 'cGxhaW50ZXh0', 'updated_at': 0}}, version=1, version_type='external')\n\
             print(json.dumps(True))"
        ),
    )
    .await;
    let s = scope("acme", "company.team");
    let listed: Vec<String> =
        b.list(&s, &Default::default()).await.unwrap().into_iter().map(|m| m.name.to_string()).collect();
    assert_eq!(listed, ["API_KEY", "DB_PASSWORD", "PLANTED"]);
    assert_eq!(b.get(&s, &name("PLANTED"), None).await.unwrap_err().kind(), hush_core::ErrorKind::Internal);
}

#[tokio::test]
async fn elasticsearch_py_refuses_the_server_without_the_product_header() {
    let Some(server) = server_with_clients(Product::OpenSearch) else { return };
    let out = run_python(
        &server,
        "out = {}\n\
         try:\n    es.info()\nexcept elasticsearch.UnsupportedProductError as e:\n    out['info'] = type(e).__name__\n\
         try:\n    es.indices.create(index='x', mappings={'properties': {}})\nexcept elasticsearch.ApiError as e:\n    out['create'] = [e.status_code, str(e.body)]\n\
         print(json.dumps(out))"
            .to_owned(),
    )
    .await;
    assert_eq!(out["info"], "UnsupportedProductError");
    assert_eq!(out["create"][0], 406, "{out}");
    assert!(out["create"][1].as_str().unwrap().contains("compatible-with=8"), "{out}");
}

#[tokio::test]
async fn opensearch_py_reads_what_the_backend_wrote() {
    let Some(server) = server_with_clients(Product::OpenSearch) else { return };
    fill(&server).await;
    let info = run_python(&server, "print(json.dumps(osc.info()))".to_owned()).await;
    assert_eq!(info["version"]["distribution"], "opensearch");
    assert_eq!(info["version"]["number"], OPENSEARCH_VERSION);
    let wrong = run_python(
        &server,
        "try:\n    opensearchpy.OpenSearch(hosts=[URL], http_auth=('hush', 'wrong'), max_retries=0).info()\n\
         except opensearchpy.AuthenticationException as e:\n    print(json.dumps([e.status_code, e.error]))"
            .to_owned(),
    )
    .await;
    assert_eq!(wrong, json!([401, "security_exception"]));
    check_reads(Product::OpenSearch, &run_python(&server, reads("osc")).await);
    let errors = run_python(
        &server,
        format!(
            "out = {{}}\n\
             try:\n    osc.get(index='missing', id='x')\nexcept opensearchpy.NotFoundError as e:\n    out['missing'] = [e.status_code, e.error]\n\
             try:\n    osc.index(index='{INDEX}', id='hush:acme:company.team:DB_PASSWORD', routing='hush:acme:company.team:DB_PASSWORD', \
                 body={{'record': 'latest'}}, version=1, version_type='external')\n\
             except opensearchpy.ConflictError as e:\n    out['stale'] = [e.status_code, e.error]\n\
             try:\n    osc.index(index='{INDEX}', id='x', routing='x', body={{'version': 'not a number'}})\nexcept opensearchpy.RequestError as e:\n    out['parsing'] = e.error\n\
             deleted = osc.delete_by_query(index='{INDEX}', body={{'query': {{'term': {{'name': 'API_KEY'}}}}}}, conflicts='proceed', refresh=True)\n\
             out['deleted'] = deleted['deleted']\n\
             print(json.dumps(out))"
        ),
    )
    .await;
    assert_eq!(errors["missing"], json!([404, "index_not_found_exception"]));
    assert_eq!(errors["stale"], json!([409, "version_conflict_engine_exception"]));
    assert_eq!(errors["parsing"], "mapper_parsing_exception");
    assert_eq!(errors["deleted"], 2, "the latest and the version document of API_KEY");
    // The backend sees what the client removed.
    let b = backend(config(&server));
    let err = b.get(&scope("acme", "company.team"), &name("API_KEY"), None).await.unwrap_err();
    assert_eq!(err.kind(), hush_core::ErrorKind::NotFound);
}
