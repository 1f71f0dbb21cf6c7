//! An Elasticsearch 8 / OpenSearch 2 contract server, written from the REST API reference and
//! checked with the official Python clients (`elasticsearch` 8.19.x and `opensearch-py`,
//! `official_client.rs`): exactly the calls hush and those clients' `info`, `indices.create`,
//! `indices.exists`, `indices.get_mapping`, `get`, `index`, `create`, `delete`, `search`,
//! `delete_by_query` and `indices.refresh` use:
//!
//! - `GET /` → the cluster info: Elasticsearch 8.19.3 (`"tagline": "You Know, for Search"`) or
//!   OpenSearch 2.19.1 (`"distribution": "opensearch"`);
//! - `PUT /{index}` with `{"mappings", "settings"}` (400 `resource_already_exists_exception`
//!   when it exists), `HEAD /{index}`, `GET /{index}/_mapping`, `DELETE /{index}`;
//! - `GET|PUT|POST|DELETE /{index}/_doc/{id}` and `PUT|POST /{index}/_create/{id}`, with
//!   `routing` (required when the mappings say `_routing.required`), `op_type=create`,
//!   `version` + `version_type=external`, `if_seq_no` + `if_primary_term` (409
//!   `version_conflict_engine_exception`) and `refresh` (`true`, `wait_for`); a write to a
//!   missing index creates it without mappings (`action.auto_create_index`); `dynamic:
//!   strict` mappings refuse unknown fields (400 `strict_dynamic_mapping_exception`);
//! - `GET|POST /{index}/_search` with `query` (`match_all`, `term`, `terms`, `range`, `ids`,
//!   `exists`, `bool` with `must`/`filter`/`should`/`must_not`), `sort`, `search_after`,
//!   `size`, `from`, `_source` and `track_total_hits`; unknown keys are a 400
//!   `parsing_exception`;
//! - `POST /{index}/_delete_by_query` (`conflicts=proceed`, `routing`, `refresh`) and
//!   `POST /{index}/_refresh`.
//!
//! Searches see documents as of the last refresh (a write with `refresh=true|wait_for`, or
//! `_refresh`); `GET` by id is real-time, as in the products. The index is one shard, so
//! routing only has to be given where required.
//!
//! Errors are `{"error": {"root_cause": [{"type", "reason"}], "type", "reason"}, "status"}`.
//! Requests need `Authorization: Basic` of [`USER`] or [`READER`] (who may read and search but
//! not write, and lacks the `monitor` cluster privilege), or, in Elasticsearch mode only,
//! `ApiKey` [`API_KEY`]; 401 `security_exception` otherwise. In Elasticsearch mode every
//! answer carries `X-Elastic-Product: Elasticsearch` and the clients' `application/
//! vnd.elasticsearch+json; compatible-with=8` media type is accepted; OpenSearch sends no
//! such header and answers that media type with 406.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use hush_backend_behavior::contract_server::{ContractReply, ContractRequest, ContractServer, HttpFault};
use serde_json::{Map, Value, json};

/// The user with every index privilege on the index.
pub const USER: &str = "hush";
/// [`USER`]'s password.
pub const PASSWORD: &str = "es-password-0123SECRET";
/// A user who may read and search but not write, and may not call `GET /`.
pub const READER: &str = "reader";
/// [`READER`]'s password.
pub const READER_PASSWORD: &str = "reader-password-SECRET";
/// An API key (encoded form, base64 of `id:key`), accepted in Elasticsearch mode.
pub const API_KEY: &str = "aHVzaC1rZXk6a2V5LTAxMjNTRUNSRVQ=";

/// Which product the server plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    /// Elasticsearch 8.19.3: `X-Elastic-Product: Elasticsearch` on every answer.
    Elasticsearch,
    /// OpenSearch 2.19.1: no such header, `"distribution": "opensearch"`.
    OpenSearch,
}

/// The version `GET /` reports in Elasticsearch mode.
pub const ELASTICSEARCH_VERSION: &str = "8.19.3";
/// The version `GET /` reports in OpenSearch mode.
pub const OPENSEARCH_VERSION: &str = "2.19.1";

/// Scripted failures with the products' error body.
pub struct Fault;

impl Fault {
    /// Requests with `method` whose path and query contain `path_contains` get `status` with an
    /// error of `error_type` saying `reason`.
    pub fn status(method: &str, path_contains: &str, status: u16, error_type: &str, reason: &str) -> HttpFault {
        HttpFault::reply(method, path_contains, es_error(status, error_type, reason))
    }

    /// Such requests get nothing for `delay`.
    pub fn silent(method: &str, path_contains: &str, delay: Duration) -> HttpFault {
        HttpFault::silent(method, path_contains, delay)
    }
}

/// One stored document.
#[derive(Debug, Clone)]
struct Doc {
    source: Value,
    version: u64,
    seq_no: u64,
    routing: Option<String>,
}

/// One index: its mappings, its documents (real-time) and what searches see.
#[derive(Debug, Default)]
struct Index {
    mappings: Value,
    docs: BTreeMap<String, Arc<Doc>>,
    searchable: BTreeMap<String, Arc<Doc>>,
    next_seq_no: u64,
}

impl Index {
    fn refresh(&mut self) {
        self.searchable = self.docs.clone();
    }

    fn routing_required(&self) -> bool {
        self.mappings.pointer("/_routing/required") == Some(&Value::Bool(true))
    }
}

#[derive(Debug)]
struct Cluster {
    product: Product,
    indices: BTreeMap<String, Index>,
}

/// The running contract server.
pub struct Contract {
    /// `http(s)://127.0.0.1:PORT`: the backend's `url` and the clients' host.
    pub url: String,
    /// Which product it plays.
    pub product: Product,
    cluster: Arc<Mutex<Cluster>>,
    server: ContractServer,
}

impl Contract {
    /// Starts a server playing `product` on a free loopback port (plain HTTP).
    pub fn start(product: Product) -> Contract {
        Self::start_with(product, false)
    }

    /// Starts a server playing `product` over HTTPS with the test CA.
    pub fn start_https(product: Product) -> Contract {
        Self::start_with(product, true)
    }

    fn start_with(product: Product, https: bool) -> Contract {
        super::install_tls_provider();
        let cluster = Arc::new(Mutex::new(Cluster { product, indices: BTreeMap::new() }));
        let served = Arc::clone(&cluster);
        let behaviour = move |request: ContractRequest| {
            let reply = handle(&mut served.lock().unwrap(), &request);
            match product {
                Product::Elasticsearch => reply.with_header("x-elastic-product", "Elasticsearch"),
                Product::OpenSearch => reply,
            }
        };
        let server = if https { ContractServer::start_https(behaviour) } else { ContractServer::start(behaviour) };
        Contract { url: server.url.clone(), product, cluster, server }
    }

    /// Every document of `index` as `(id, _source)`, in id order.
    pub fn documents(&self, index: &str) -> Vec<(String, Value)> {
        let cluster = self.cluster.lock().unwrap();
        cluster
            .indices
            .get(index)
            .map(|i| i.docs.iter().map(|(id, d)| (id.clone(), d.source.clone())).collect())
            .unwrap_or_default()
    }

    /// The `_source` of document `id` of `index`.
    pub fn document(&self, index: &str, id: &str) -> Option<Value> {
        self.documents(index).into_iter().find(|(d, _)| d == id).map(|(_, source)| source)
    }

    /// Replaces (or adds) document `id` of `index` with `source`, as someone with write access
    /// to the cluster could; the index must exist.
    pub fn set_document(&self, index: &str, id: &str, source: Value, routing: &str) {
        let mut cluster = self.cluster.lock().unwrap();
        let index = cluster.indices.get_mut(index).expect("the index exists");
        let version = index.docs.get(id).map_or(1, |d| d.version + 1);
        let seq_no = index.next_seq_no;
        index.next_seq_no += 1;
        index.docs.insert(id.to_owned(), Arc::new(Doc { source, version, seq_no, routing: Some(routing.to_owned()) }));
        index.refresh();
    }

    /// The mappings of `index`, if it exists.
    pub fn mappings(&self, index: &str) -> Option<Value> {
        self.cluster.lock().unwrap().indices.get(index).map(|i| i.mappings.clone())
    }

    /// Creates `index` with `mappings` (as another application might have).
    pub fn create_index(&self, index: &str, mappings: Value) {
        let mut cluster = self.cluster.lock().unwrap();
        cluster.indices.insert(index.to_owned(), Index { mappings, ..Index::default() });
    }

    /// Adds a fault.
    pub fn fail(&self, fault: HttpFault) {
        self.server.fail(fault);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        self.server.heal();
    }

    /// Every request so far, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.server.requests()
    }
}

/// The products' error answer.
pub fn es_error(status: u16, error_type: &str, reason: &str) -> ContractReply {
    let cause = json!({"type": error_type, "reason": reason});
    ContractReply::json(
        status,
        &json!({"error": {"root_cause": [cause], "type": error_type, "reason": reason}, "status": status}),
    )
}

fn index_error(status: u16, error_type: &str, reason: &str, index: &str) -> ContractReply {
    let cause = json!({"type": error_type, "reason": reason, "index": index, "index_uuid": "_na_"});
    let mut error = cause.clone();
    error["root_cause"] = json!([cause]);
    ContractReply::json(status, &json!({"error": error, "status": status}))
}

fn index_not_found(index: &str) -> ContractReply {
    let mut reply = index_error(404, "index_not_found_exception", &format!("no such index [{index}]"), index);
    let mut body: Value = serde_json::from_slice(&reply.body).unwrap();
    body["error"]["resource.type"] = json!("index_or_alias");
    body["error"]["resource.id"] = json!(index);
    reply.body = body.to_string().into_bytes();
    reply
}

fn info(product: Product) -> Value {
    match product {
        Product::Elasticsearch => json!({
            "name": "es-contract-0", "cluster_name": "hush-contract", "cluster_uuid": "c0ntract-c1uster-uu1d",
            "version": {
                "number": ELASTICSEARCH_VERSION, "build_flavor": "default", "build_type": "docker",
                "build_hash": "0123456789abcdef0123456789abcdef01234567", "build_date": "2025-08-01T00:00:00.000Z",
                "build_snapshot": false, "lucene_version": "9.12.2",
                "minimum_wire_compatibility_version": "7.17.0", "minimum_index_compatibility_version": "7.0.0"
            },
            "tagline": "You Know, for Search"
        }),
        Product::OpenSearch => json!({
            "name": "os-contract-0", "cluster_name": "hush-contract", "cluster_uuid": "c0ntract-c1uster-uu1d",
            "version": {
                "distribution": "opensearch", "number": OPENSEARCH_VERSION, "build_type": "tar",
                "build_hash": "0123456789abcdef0123456789abcdef01234567", "build_date": "2025-02-27T00:00:00.000Z",
                "build_snapshot": false, "lucene_version": "9.12.1",
                "minimum_wire_compatibility_version": "7.10.0", "minimum_index_compatibility_version": "7.0.0"
            },
            "tagline": "The OpenSearch Project: https://opensearch.org/"
        }),
    }
}

/// Who is asking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Writer,
    Reader,
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

fn caller(product: Product, request: &ContractRequest) -> Result<Caller, ContractReply> {
    let path = &request.path;
    let unauthorized = |reason: String| {
        es_error(401, "security_exception", &reason)
            .with_header("www-authenticate", "Basic realm=\"security\", charset=\"UTF-8\"")
    };
    match request.header("authorization") {
        Some(auth) if auth == basic(USER, PASSWORD) => Ok(Caller::Writer),
        Some(auth) if auth == basic(READER, READER_PASSWORD) => Ok(Caller::Reader),
        Some(auth) if product == Product::Elasticsearch && auth == format!("ApiKey {API_KEY}") => Ok(Caller::Writer),
        Some(auth) if auth.starts_with("Basic ") => {
            let user = base64::engine::general_purpose::STANDARD
                .decode(&auth[6..])
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|pair| pair.split_once(':').map(|(u, _)| u.to_owned()))
                .unwrap_or_default();
            Err(unauthorized(format!("unable to authenticate user [{user}] for REST request [{path}]")))
        }
        Some(_) => {
            Err(unauthorized(format!("unable to authenticate with provided credentials for REST request [{path}]")))
        }
        None => Err(unauthorized(format!("missing authentication credentials for REST request [{path}]"))),
    }
}

/// Whether `content_type` is a JSON media type `product` accepts.
fn accepted_media_type(product: Product, content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json"
        || (product == Product::Elasticsearch
            && essence == "application/vnd.elasticsearch+json"
            && content_type.replace(' ', "").contains("compatible-with=8"))
}

fn unauthorized_action(action: &str, index: &str) -> ContractReply {
    es_error(
        403,
        "security_exception",
        &format!(
            "action [{action}] is unauthorized for user [{READER}] with effective roles [hush_reader] on indices [{index}], \
             this action is granted by the index privileges [write,all]"
        ),
    )
}

fn handle(cluster: &mut Cluster, request: &ContractRequest) -> ContractReply {
    let product = cluster.product;
    let who = match caller(product, request) {
        Ok(who) => who,
        Err(reply) => return reply,
    };
    if !request.body.is_empty() {
        let content_type = request.header("content-type").unwrap_or_default();
        if !accepted_media_type(product, content_type) {
            return ContractReply::json(
                406,
                &json!({"error": format!("Content-Type header [{content_type}] is not supported"), "status": 406}),
            );
        }
    }
    let body = if request.body.is_empty() { Value::Null } else { request.json() };
    if !request.body.is_empty() && body.is_null() {
        return es_error(400, "parse_exception", "request body is required to be JSON");
    }
    let segments = request.segments();
    let method = request.method.as_str();
    let segments: Vec<&str> = segments.iter().map(String::as_str).filter(|s| !s.is_empty()).collect();
    match (method, segments.as_slice()) {
        ("GET" | "HEAD", []) => {
            if who == Caller::Reader {
                return es_error(
                    403,
                    "security_exception",
                    &format!(
                        "action [cluster:monitor/main] is unauthorized for user [{READER}] with effective roles [hush_reader], this action is granted by the cluster privileges [monitor,manage,all]"
                    ),
                );
            }
            if method == "HEAD" { ContractReply::empty(200) } else { ContractReply::json(200, &info(product)) }
        }
        (_, [index, ..]) if index.starts_with('_') => {
            es_error(400, "illegal_argument_exception", &format!("no handler for [{method} {}]", request.path))
        }
        (_, [index, rest @ ..]) => {
            let writes = !matches!((method, rest), (_, ["_search" | "_refresh"]) | ("GET" | "HEAD", _));
            if writes && who == Caller::Reader {
                let action = match rest {
                    [] => "indices:admin/create",
                    ["_delete_by_query"] => "indices:data/write/delete/byquery",
                    _ if method == "DELETE" => "indices:data/write/delete",
                    _ => "indices:data/write/index",
                };
                return unauthorized_action(action, index);
            }
            index_call(cluster, request, method, index, rest, &body)
        }
        _ => es_error(405, "illegal_argument_exception", "method not allowed"),
    }
}

fn index_call(
    cluster: &mut Cluster,
    request: &ContractRequest,
    method: &str,
    name: &str,
    rest: &[&str],
    body: &Value,
) -> ContractReply {
    match (method, rest) {
        ("PUT", []) => create_index(cluster, name, body),
        ("HEAD", []) => ContractReply::empty(if cluster.indices.contains_key(name) { 200 } else { 404 }),
        ("GET", []) => match cluster.indices.get(name) {
            Some(index) => ContractReply::json(
                200,
                &json!({name: {"aliases": {}, "mappings": index.mappings, "settings": {"index": {"number_of_shards": "1"}}}}),
            ),
            None => index_not_found(name),
        },
        ("DELETE", []) => match cluster.indices.remove(name) {
            Some(_) => ContractReply::json(200, &json!({"acknowledged": true})),
            None => index_not_found(name),
        },
        ("GET", ["_mapping"]) => match cluster.indices.get(name) {
            Some(index) => ContractReply::json(200, &json!({name: {"mappings": index.mappings}})),
            None => index_not_found(name),
        },
        ("GET" | "POST", ["_refresh"]) => match cluster.indices.get_mut(name) {
            Some(index) => {
                index.refresh();
                ContractReply::json(200, &json!({"_shards": {"total": 1, "successful": 1, "failed": 0}}))
            }
            None => index_not_found(name),
        },
        ("GET", ["_doc", id]) => match cluster.indices.get(name) {
            None => index_not_found(name),
            Some(index) => {
                if index.routing_required() && request.query("routing").is_none() {
                    return routing_missing(name, id);
                }
                match index.docs.get(*id) {
                    Some(doc) => {
                        let mut found = json!({
                            "_index": name, "_id": id, "_version": doc.version, "_seq_no": doc.seq_no,
                            "_primary_term": 1, "found": true, "_source": doc.source,
                        });
                        if let Some(routing) = &doc.routing {
                            found["_routing"] = json!(routing);
                        }
                        ContractReply::json(200, &found)
                    }
                    None => ContractReply::json(404, &json!({"_index": name, "_id": id, "found": false})),
                }
            }
        },
        ("PUT" | "POST", ["_doc", id]) => {
            let create = request.query("op_type") == Some("create");
            write_doc(cluster, request, name, id, body, create)
        }
        ("PUT" | "POST", ["_create", id]) => write_doc(cluster, request, name, id, body, true),
        ("DELETE", ["_doc", id]) => match cluster.indices.get_mut(name) {
            None => index_not_found(name),
            Some(index) => {
                if index.routing_required() && request.query("routing").is_none() {
                    return routing_missing(name, id);
                }
                let seq_no = index.next_seq_no;
                index.next_seq_no += 1;
                let removed = index.docs.remove(*id);
                refresh_if_asked(index, request);
                let (status, result, version) = match &removed {
                    Some(doc) => (200, "deleted", doc.version + 1),
                    None => (404, "not_found", 1),
                };
                ContractReply::json(
                    status,
                    &json!({"_index": name, "_id": id, "_version": version, "result": result,
                        "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": seq_no, "_primary_term": 1}),
                )
            }
        },
        ("GET" | "POST", ["_search"]) => match cluster.indices.get(name) {
            None => index_not_found(name),
            Some(index) => search(index, name, body),
        },
        ("POST", ["_delete_by_query"]) => match cluster.indices.get_mut(name) {
            None => index_not_found(name),
            Some(index) => delete_by_query(index, request, body),
        },
        _ => es_error(
            405,
            "illegal_argument_exception",
            &format!("Incorrect HTTP method for uri [{}] and method [{method}]", request.path),
        ),
    }
}

fn routing_missing(index: &str, id: &str) -> ContractReply {
    index_error(400, "routing_missing_exception", &format!("routing is required for [{index}]/[{id}]"), index)
}

fn refresh_if_asked(index: &mut Index, request: &ContractRequest) {
    if matches!(request.query("refresh"), Some("" | "true" | "wait_for")) {
        index.refresh();
    }
}

/// Index names as the products accept them.
fn valid_index_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(['-', '_', '+'])
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c.is_uppercase() || "\\/*?\"<>| ,#:".contains(c))
}

fn create_index(cluster: &mut Cluster, name: &str, body: &Value) -> ContractReply {
    if !valid_index_name(name) {
        return index_error(400, "invalid_index_name_exception", &format!("Invalid index name [{name}]"), name);
    }
    if cluster.indices.contains_key(name) {
        return index_error(
            400,
            "resource_already_exists_exception",
            &format!("index [{name}/c0ntract-uu1d] already exists"),
            name,
        );
    }
    if let Some(object) = body.as_object()
        && let Some(key) = object.keys().find(|k| !matches!(k.as_str(), "mappings" | "settings" | "aliases"))
    {
        return es_error(400, "parse_exception", &format!("unknown key [{key}] for create index"));
    }
    let mappings = body.get("mappings").cloned().unwrap_or_else(|| json!({}));
    if !mappings.is_object() {
        return es_error(400, "mapper_parsing_exception", "Failed to parse mapping: mappings must be an object");
    }
    cluster.indices.insert(name.to_owned(), Index { mappings, ..Index::default() });
    ContractReply::json(200, &json!({"acknowledged": true, "shards_acknowledged": true, "index": name}))
}

/// Whether `value` fits a field of mapping type `field_type`.
fn fits(field_type: &str, value: &Value) -> bool {
    match (field_type, value) {
        (_, Value::Null) => true,
        (_, Value::Array(items)) => items.iter().all(|item| !item.is_array() && fits(field_type, item)),
        ("keyword" | "text", v) => v.is_string() || v.is_number() || v.is_boolean(),
        ("long" | "integer", v) => v.is_i64() || v.is_u64(),
        ("boolean", v) => v.is_boolean(),
        ("binary", Value::String(text)) => base64::engine::general_purpose::STANDARD.decode(text).is_ok(),
        ("date", v) => v.is_number() || v.is_string(),
        ("object", v) => v.is_object(),
        _ => false,
    }
}

/// The mapping's objection to `source`, if any: unknown fields under `dynamic: strict`, values
/// that do not fit their field.
fn mapping_objection(product: Product, mappings: &Value, source: &Value) -> Option<ContractReply> {
    let Some(fields) = source.as_object() else {
        return Some(es_error(400, "mapper_parsing_exception", "failed to parse, document is empty"));
    };
    let properties = mappings.get("properties").and_then(Value::as_object);
    let parsing = match product {
        Product::Elasticsearch => "document_parsing_exception",
        Product::OpenSearch => "mapper_parsing_exception",
    };
    for (field, value) in fields {
        match properties.and_then(|p| p.get(field)) {
            Some(mapping) => {
                let field_type = mapping.get("type").and_then(Value::as_str).unwrap_or("object");
                if !fits(field_type, value) {
                    return Some(es_error(
                        400,
                        parsing,
                        &format!("[1:2] failed to parse field [{field}] of type [{field_type}] in document"),
                    ));
                }
            }
            None if mappings.get("dynamic").and_then(Value::as_str) == Some("strict") => {
                return Some(es_error(
                    400,
                    "strict_dynamic_mapping_exception",
                    &format!(
                        "[1:2] mapping set to strict, dynamic introduction of [{field}] within [_doc] is not allowed"
                    ),
                ));
            }
            None => {}
        }
    }
    None
}

fn conflict(index: &str, id: &str, reason: String) -> ContractReply {
    index_error(409, "version_conflict_engine_exception", &format!("[{id}]: version conflict, {reason}"), index)
}

fn write_doc(
    cluster: &mut Cluster,
    request: &ContractRequest,
    name: &str,
    id: &str,
    body: &Value,
    create: bool,
) -> ContractReply {
    let product = cluster.product;
    if !cluster.indices.contains_key(name) {
        if !valid_index_name(name) {
            return index_error(400, "invalid_index_name_exception", &format!("Invalid index name [{name}]"), name);
        }
        // action.auto_create_index: a write creates a missing index with dynamic mappings.
        cluster.indices.insert(name.to_owned(), Index { mappings: json!({}), ..Index::default() });
    }
    let index = cluster.indices.get_mut(name).expect("just ensured");
    let routing = request.query("routing").map(str::to_owned);
    if index.routing_required() && routing.is_none() {
        return routing_missing(name, id);
    }
    if id.len() > 512 {
        return es_error(400, "illegal_argument_exception", "id is too long, must be no longer than 512 bytes");
    }
    if let Some(objection) = mapping_objection(product, &index.mappings, body) {
        return objection;
    }
    let current = index.docs.get(id).cloned();
    let external = matches!(request.query("version_type"), Some("external" | "external_gt"));
    let requested: Option<u64> = request.query("version").and_then(|v| v.parse().ok());
    if request.query("version").is_some() && !external {
        return es_error(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead;",
        );
    }
    if create && let Some(doc) = &current {
        return conflict(name, id, format!("document already exists (current version [{}])", doc.version));
    }
    if let Some(if_seq_no) = request.query("if_seq_no") {
        let expected: Option<u64> = if_seq_no.parse().ok();
        let term_ok = request.query("if_primary_term") == Some("1");
        match &current {
            Some(doc) if Some(doc.seq_no) == expected && term_ok => {}
            Some(doc) => {
                return conflict(
                    name,
                    id,
                    format!(
                        "required seqNo [{if_seq_no}], primary term [1]. current document has seqNo [{}] and primary term [1]",
                        doc.seq_no
                    ),
                );
            }
            None => {
                return conflict(
                    name,
                    id,
                    format!("required seqNo [{if_seq_no}], primary term [1] but no document was found"),
                );
            }
        }
    }
    let version = if external {
        let Some(requested) = requested else {
            return es_error(400, "action_request_validation_exception", "Validation Failed: 1: version is missing;");
        };
        if let Some(doc) = &current
            && doc.version >= requested
        {
            return conflict(
                name,
                id,
                format!("current version [{}] is higher or equal to the one provided [{requested}]", doc.version),
            );
        }
        requested
    } else {
        current.as_ref().map_or(1, |d| d.version + 1)
    };
    let seq_no = index.next_seq_no;
    index.next_seq_no += 1;
    index.docs.insert(id.to_owned(), Arc::new(Doc { source: body.clone(), version, seq_no, routing }));
    refresh_if_asked(index, request);
    let (status, result) = if current.is_some() { (200, "updated") } else { (201, "created") };
    ContractReply::json(
        status,
        &json!({"_index": name, "_id": id, "_version": version, "result": result,
            "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": seq_no, "_primary_term": 1}),
    )
}

/// The value at `field` of `source` (a top-level key, else a dotted path).
fn field_value<'a>(source: &'a Value, field: &str) -> Option<&'a Value> {
    source.get(field).or_else(|| field.split('.').try_fold(source, |v, part| v.get(part)))
}

fn same_term(stored: &Value, wanted: &Value) -> bool {
    match (stored, wanted) {
        (Value::Array(items), _) => items.iter().any(|item| same_term(item, wanted)),
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Number(a), Value::String(b)) | (Value::String(b), Value::Number(a)) => {
            b.parse::<f64>().ok() == a.as_f64()
        }
        (Value::Bool(a), Value::String(b)) => b == if *a { "true" } else { "false" },
        _ => stored == wanted,
    }
}

/// A query clause or a list of them.
fn clauses(value: Option<&Value>) -> Vec<&Value> {
    match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
    }
}

/// Whether `doc` matches `query`, or why the query is not one the server knows.
fn matches(query: &Value, id: &str, source: &Value) -> Result<bool, String> {
    let Some((kind, spec)) = query.as_object().and_then(|o| (o.len() == 1).then(|| o.iter().next()).flatten()) else {
        return Err("query malformed, must start with start_object and hold one query".to_owned());
    };
    let single = |spec: &Value| -> Result<(String, Value), String> {
        let (field, value) = spec.as_object().and_then(|o| o.iter().next()).ok_or("[term] query malformed")?;
        let value = match value {
            Value::Object(o) => o.get("value").cloned().ok_or("[term] query does not support [value] missing")?,
            v => v.clone(),
        };
        Ok((field.clone(), value))
    };
    match kind.as_str() {
        "match_all" => Ok(true),
        "term" => {
            let (field, wanted) = single(spec)?;
            Ok(field_value(source, &field).is_some_and(|stored| same_term(stored, &wanted)))
        }
        "terms" => {
            let (field, wanted) = spec.as_object().and_then(|o| o.iter().next()).ok_or("[terms] query malformed")?;
            let wanted = wanted.as_array().ok_or("[terms] query requires an array")?;
            Ok(field_value(source, field).is_some_and(|stored| wanted.iter().any(|w| same_term(stored, w))))
        }
        "ids" => {
            let values = spec.get("values").and_then(Value::as_array).ok_or("[ids] query requires values")?;
            Ok(values.iter().any(|v| v.as_str() == Some(id)))
        }
        "exists" => {
            let field = spec.get("field").and_then(Value::as_str).ok_or("[exists] query requires field")?;
            Ok(field_value(source, field).is_some_and(|v| !v.is_null()))
        }
        "range" => {
            let (field, bounds) = spec.as_object().and_then(|o| o.iter().next()).ok_or("[range] query malformed")?;
            let Some(stored) = field_value(source, field).and_then(Value::as_f64) else { return Ok(false) };
            let mut inside = true;
            for (op, bound) in bounds.as_object().ok_or("[range] query malformed")? {
                let bound = bound.as_f64().ok_or_else(|| format!("[range] bound [{op}] is not a number"))?;
                inside &= match op.as_str() {
                    "gt" => stored > bound,
                    "gte" => stored >= bound,
                    "lt" => stored < bound,
                    "lte" => stored <= bound,
                    other => return Err(format!("[range] query does not support [{other}]")),
                };
            }
            Ok(inside)
        }
        "bool" => {
            let spec = spec.as_object().ok_or("[bool] query malformed")?;
            if let Some(key) = spec.keys().find(|k| {
                !matches!(k.as_str(), "must" | "filter" | "should" | "must_not" | "minimum_should_match" | "boost")
            }) {
                return Err(format!("[bool] query does not support [{key}]"));
            }
            let mut all = Vec::new();
            all.extend(clauses(spec.get("must")));
            all.extend(clauses(spec.get("filter")));
            for clause in &all {
                if !matches(clause, id, source)? {
                    return Ok(false);
                }
            }
            for clause in clauses(spec.get("must_not")) {
                if matches(clause, id, source)? {
                    return Ok(false);
                }
            }
            let should = clauses(spec.get("should"));
            if !should.is_empty() && all.is_empty() {
                let mut any = false;
                for clause in should {
                    any |= matches(clause, id, source)?;
                }
                return Ok(any);
            }
            Ok(true)
        }
        other => Err(format!("unknown query [{other}]")),
    }
}

/// `(field, descending)` of each sort entry.
fn sort_fields(sort: Option<&Value>) -> Result<Vec<(String, bool)>, String> {
    let mut fields = Vec::new();
    for entry in clauses(sort) {
        match entry {
            Value::String(field) => fields.push((field.clone(), false)),
            Value::Object(o) if o.len() == 1 => {
                let (field, order) = o.iter().next().expect("one entry");
                let order = match order {
                    Value::String(order) => order.clone(),
                    Value::Object(options) => options.get("order").and_then(Value::as_str).unwrap_or("asc").to_owned(),
                    _ => return Err(format!("malformed sort of [{field}]")),
                };
                match order.as_str() {
                    "asc" => fields.push((field.clone(), false)),
                    "desc" => fields.push((field.clone(), true)),
                    other => return Err(format!("unknown sort order [{other}]")),
                }
            }
            _ => return Err("malformed sort".to_owned()),
        }
    }
    Ok(fields)
}

/// The sort value of `doc` for `field`: a keyword sorts by its text, a number by its value;
/// `_doc` by index order.
fn sort_value(doc: &Doc, field: &str) -> Value {
    if field == "_doc" {
        return json!(doc.seq_no);
    }
    match field_value(&doc.source, field) {
        Some(Value::Array(items)) => items.iter().min_by(|a, b| compare(a, b)).cloned().unwrap_or(Value::Null),
        Some(v) => v.clone(),
        None => Value::Null,
    }
}

fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        // Missing values sort last.
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

fn compare_keys(a: &[Value], b: &[Value], fields: &[(String, bool)]) -> std::cmp::Ordering {
    for ((x, y), (_, descending)) in a.iter().zip(b).zip(fields) {
        let order = compare(x, y);
        let order = if *descending { order.reverse() } else { order };
        if order.is_ne() {
            return order;
        }
    }
    std::cmp::Ordering::Equal
}

/// `_source` as asked: everything, nothing, or the fields listed.
fn filtered_source(source: &Value, wanted: Option<&Value>) -> Option<Value> {
    match wanted {
        None | Some(Value::Bool(true)) => Some(source.clone()),
        Some(Value::Bool(false)) => None,
        Some(Value::String(field)) => filtered_source(source, Some(&json!([field]))),
        Some(Value::Array(fields)) => {
            let fields: Vec<&str> = fields.iter().filter_map(Value::as_str).collect();
            let kept: Map<String, Value> = source
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| fields.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            Some(Value::Object(kept))
        }
        Some(other) => Some(filtered_source(source, other.get("includes"))?),
    }
}

/// The documents of `docs` `query` matches, or the query's error.
fn matching<'a>(
    docs: &'a BTreeMap<String, Arc<Doc>>,
    query: &Value,
) -> Result<Vec<(&'a String, &'a Arc<Doc>)>, ContractReply> {
    let mut found = Vec::new();
    for (id, doc) in docs {
        match matches(query, id, &doc.source) {
            Ok(true) => found.push((id, doc)),
            Ok(false) => {}
            Err(reason) => return Err(es_error(400, "parsing_exception", &reason)),
        }
    }
    Ok(found)
}

fn search(index: &Index, name: &str, body: &Value) -> ContractReply {
    const KEYS: [&str; 9] = [
        "query",
        "size",
        "from",
        "sort",
        "search_after",
        "_source",
        "track_total_hits",
        "seq_no_primary_term",
        "version",
    ];
    if let Some(object) = body.as_object()
        && let Some(key) = object.keys().find(|k| !KEYS.contains(&k.as_str()))
    {
        return es_error(400, "parsing_exception", &format!("Unknown key for a START_OBJECT in [{key}]."));
    }
    let query = body.get("query").cloned().unwrap_or_else(|| json!({"match_all": {}}));
    let size = body.get("size").and_then(Value::as_u64).unwrap_or(10) as usize;
    let from = body.get("from").and_then(Value::as_u64).unwrap_or(0) as usize;
    let fields = match sort_fields(body.get("sort")) {
        Ok(fields) => fields,
        Err(reason) => return es_error(400, "parsing_exception", &reason),
    };
    let mut found = match matching(&index.searchable, &query) {
        Ok(found) => found,
        Err(reply) => return reply,
    };
    let keys = |doc: &Doc| -> Vec<Value> { fields.iter().map(|(f, _)| sort_value(doc, f)).collect() };
    found.sort_by(|a, b| compare_keys(&keys(a.1), &keys(b.1), &fields).then_with(|| a.1.seq_no.cmp(&b.1.seq_no)));
    let total = found.len();
    if let Some(after) = body.get("search_after") {
        let Some(after) = after.as_array().filter(|a| a.len() == fields.len() && !fields.is_empty()) else {
            return es_error(400, "illegal_argument_exception", "search_after has to have as many values as the sort");
        };
        found.retain(|(_, doc)| compare_keys(&keys(doc), after, &fields).is_gt());
    }
    let hits: Vec<Value> = found
        .iter()
        .skip(from)
        .take(size)
        .map(|(id, doc)| {
            let mut hit =
                json!({"_index": name, "_id": id, "_score": if fields.is_empty() { json!(0.0) } else { Value::Null }});
            if let Some(routing) = &doc.routing {
                hit["_routing"] = json!(routing);
            }
            if let Some(source) = filtered_source(&doc.source, body.get("_source")) {
                hit["_source"] = source;
            }
            if !fields.is_empty() {
                hit["sort"] = Value::Array(keys(doc));
            }
            hit
        })
        .collect();
    let mut answer = json!({
        "took": 1, "timed_out": false,
        "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
        "hits": {"max_score": Value::Null, "hits": hits},
    });
    if body.get("track_total_hits") != Some(&Value::Bool(false)) {
        answer["hits"]["total"] = json!({"value": total, "relation": "eq"});
    }
    ContractReply::json(200, &answer)
}

fn delete_by_query(index: &mut Index, request: &ContractRequest, body: &Value) -> ContractReply {
    let Some(query) = body.get("query") else {
        return es_error(400, "action_request_validation_exception", "Validation Failed: 1: query is missing;");
    };
    let routing = request.query("routing");
    let proceed = request.query("conflicts") == Some("proceed");
    // What the query matches as of the last refresh, by seq_no.
    let snapshot: Vec<(String, u64)> = match matching(&index.searchable, query) {
        Ok(found) => found
            .into_iter()
            .filter(|(_, doc)| routing.is_none() || doc.routing.as_deref() == routing)
            .map(|(id, doc)| (id.clone(), doc.seq_no))
            .collect(),
        Err(reply) => return reply,
    };
    let (mut deleted, mut conflicts) = (0, 0);
    for (id, seq_no) in &snapshot {
        match index.docs.get(id) {
            Some(doc) if doc.seq_no == *seq_no => {
                index.docs.remove(id);
                deleted += 1;
            }
            _ => {
                conflicts += 1;
                if !proceed {
                    return conflict("", id, "document changed since the search".to_owned());
                }
            }
        }
    }
    refresh_if_asked(index, request);
    ContractReply::json(
        200,
        &json!({"took": 1, "timed_out": false, "total": snapshot.len(), "deleted": deleted, "batches": 1,
            "version_conflicts": conflicts, "noops": 0, "retries": {"bulk": 0, "search": 0},
            "throttled_millis": 0, "requests_per_second": -1.0, "throttled_until_millis": 0, "failures": []}),
    )
}
