//! A stand-in for the Kubernetes API server's TokenReview endpoint
//! (`POST /apis/authentication.k8s.io/v1/tokenreviews`), which OpenBao's kubernetes auth
//! method calls to check a service-account token.
//!
//! It authenticates exactly one token, as the service account `<namespace>:<name>`, and
//! answers `authenticated: false` for any other, as Kubernetes does. It records the
//! reviewer token OpenBao sent (`Authorization: Bearer ...`) and the tokens it reviewed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// What the stand-in saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// `(path, authorization header, reviewed token)` of each request.
    pub reviews: Vec<(String, String, String)>,
}

/// A running TokenReview stand-in.
pub struct TokenReviewServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// What it saw.
    pub seen: Arc<Mutex<Seen>>,
}

impl TokenReviewServer {
    /// Starts it on a free loopback port; it authenticates `token` as
    /// `system:serviceaccount:<namespace>:<account>`.
    pub fn start(token: &str, namespace: &str, account: &str) -> TokenReviewServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the TokenReview stand-in");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (token, user) = (token.to_owned(), format!("system:serviceaccount:{namespace}:{account}"));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = answer(stream, &token, &user, &record);
            }
        });
        TokenReviewServer { url, seen }
    }
}

fn answer(stream: TcpStream, token: &str, user: &str, seen: &Mutex<Seen>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let path = request_line.split(' ').nth(1).unwrap_or_default().to_owned();
    let (mut length, mut authorization) = (0usize, String::new());
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            match key.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "authorization" => authorization = value.trim().to_owned(),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let reviewed = review["spec"]["token"].as_str().unwrap_or_default().to_owned();
    let (status, answer) = if path != "/apis/authentication.k8s.io/v1/tokenreviews" {
        ("404 Not Found", json!({"kind": "Status", "status": "Failure", "code": 404}))
    } else {
        let status = if reviewed == token {
            json!({
                "authenticated": true,
                "user": {"username": user, "uid": "hush-test-uid", "groups": ["system:serviceaccounts"]},
                "audiences": review["spec"]["audiences"].clone(),
            })
        } else {
            json!({"authenticated": false, "error": "invalid bearer token"})
        };
        let body = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status});
        ("201 Created", body)
    };
    seen.lock().unwrap().reviews.push((path, authorization, reviewed));
    let body = answer.to_string();
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}

/// An unsigned service-account JWT with the claims OpenBao reads before the review
/// (OpenBao checks the signature through the TokenReview, not itself).
pub fn service_account_jwt(namespace: &str, account: &str) -> String {
    use base64::Engine as _;
    let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let header = b64(json!({"alg": "RS256", "typ": "JWT"}));
    let claims = b64(json!({
        "iss": "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/service-account.name": account,
        "kubernetes.io/serviceaccount/service-account.uid": "hush-test-uid",
        "sub": format!("system:serviceaccount:{namespace}:{account}"),
    }));
    format!("{header}.{claims}.c2lnbmF0dXJl")
}
