//! The connection to the resolvers: NATS, the process's key pair, the pinned resolver key.

use std::sync::Arc;
use std::time::Duration;

use async_nats::{RequestErrorKind, Subject};
use hush_config::HushConfig;
use hush_core::{Error, ErrorKind, Result};
use hush_crypto::{
    ClientKeyPair, ReplyAad, SealedGrant, TransportKey, load_public_key, random_request_id, resolver_key_id,
};
use hush_proto::codec::CodecError;
use hush_proto::message::{RequestBody, RequestEnvelope, ResponseBody, ResponseEnvelope, SealedItemsRef};

use crate::session::Session;
use hush_nats::NatsOptions;

/// How to reach the resolvers: NATS, the pinned resolver keys, and this client's key pair.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// The NATS connection.
    pub nats: NatsOptions,
    /// Pinned resolver public keys; values are sealed to the first.
    pub resolver_public_keys: Vec<[u8; 32]>,
    /// This client's persistent key pair (`hush keys client PATH`), so grants can be bound to
    /// it before the client starts; `None`: a fresh key pair for this process.
    pub client_key: Option<Arc<ClientKeyPair>>,
}

impl ClientOptions {
    /// Options with defaults: 5 s request and connect timeouts, a fresh key pair.
    pub fn new(nats_url: impl Into<String>, resolver_public_keys: Vec<[u8; 32]>) -> Self {
        Self { nats: NatsOptions::new(nats_url), resolver_public_keys, client_key: None }
    }

    /// With a persistent key pair.
    pub fn with_client_key(mut self, key: ClientKeyPair) -> Self {
        self.client_key = Some(Arc::new(key));
        self
    }

    /// Options from hush's config: `[nats]`, the pinned key `keys.resolver_public_key`, and
    /// the key pair `keys.client_key` when set.
    pub fn from_config(config: &HushConfig, connection_name: &str) -> Result<Self> {
        let path = config.keys.resolver_public_key.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::ConfigInvalid,
                "keys.resolver_public_key is not set: the client cannot pin the resolver",
            )
        })?;
        let key = load_public_key(path)
            .map_err(|e| Error::new(ErrorKind::ConfigInvalid, format!("keys.resolver_public_key: {e}")))?;
        let client_key = match &config.keys.client_key {
            Some(path) => Some(Arc::new(
                ClientKeyPair::load(path)
                    .map_err(|e| Error::new(ErrorKind::ConfigInvalid, format!("keys.client_key: {e}")))?,
            )),
            None => None,
        };
        Ok(Self {
            nats: NatsOptions::from_config(&config.nats, connection_name),
            resolver_public_keys: vec![key],
            client_key,
        })
    }
}

/// A connection to the resolvers. Cheap to clone; share one per process.
#[derive(Clone, Debug)]
pub struct HushClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    nats: async_nats::Client,
    keys: Arc<ClientKeyPair>,
    resolver_key_id: [u8; 8],
    transport: TransportKey,
    request_timeout: Duration,
}

fn unix_now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

fn unavailable(e: impl std::fmt::Display) -> Error {
    Error::unavailable(e.to_string())
}

impl HushClient {
    /// Connects to NATS and derives the transport key with the first pinned resolver key.
    pub async fn connect(options: ClientOptions) -> Result<HushClient> {
        let nats = options.nats.connect().await?;
        let keys = options.client_key.clone().unwrap_or_else(|| Arc::new(ClientKeyPair::generate()));
        Self::with_nats_and_key(nats, &options.resolver_public_keys, keys, options.nats.request_timeout)
    }

    /// A client over an existing NATS connection, with a fresh key pair.
    pub fn with_nats(
        nats: async_nats::Client,
        resolver_public_keys: &[[u8; 32]],
        request_timeout: Duration,
    ) -> Result<HushClient> {
        Self::with_nats_and_key(nats, resolver_public_keys, Arc::new(ClientKeyPair::generate()), request_timeout)
    }

    /// A client over an existing NATS connection, with the given key pair.
    pub fn with_nats_and_key(
        nats: async_nats::Client,
        resolver_public_keys: &[[u8; 32]],
        keys: Arc<ClientKeyPair>,
        request_timeout: Duration,
    ) -> Result<HushClient> {
        let resolver_public = resolver_public_keys
            .first()
            .ok_or_else(|| Error::new(ErrorKind::ConfigInvalid, "no resolver public key is pinned"))?;
        let transport = keys.transport_key(resolver_public).map_err(|e| {
            Error::new(ErrorKind::ConfigInvalid, format!("the pinned resolver public key is unusable: {e}"))
        })?;
        Ok(HushClient {
            inner: Arc::new(Inner {
                nats,
                keys,
                resolver_key_id: resolver_key_id(resolver_public),
                transport,
                request_timeout,
            }),
        })
    }

    /// This process's X25519 public key: mint grants bound to it (`cnf`) so a leaked grant
    /// is useless elsewhere.
    pub fn public_key(&self) -> [u8; 32] {
        self.inner.keys.public()
    }

    /// A session for one grant: one tenant, one namespace, one execution.
    pub fn session(&self, grant: impl Into<String>) -> Result<Session> {
        Session::new(self.clone(), grant.into())
    }

    /// The underlying NATS connection.
    pub fn nats(&self) -> &async_nats::Client {
        &self.inner.nats
    }

    pub(crate) fn transport(&self) -> &TransportKey {
        &self.inner.transport
    }

    /// Sends one request and returns the resolver's reply to it.
    pub(crate) async fn request(&self, subject: Subject, grant: &SealedGrant, body: RequestBody) -> Result<Reply> {
        self.request_with(subject, grant, |_| body).await
    }

    /// A read (get or list): sent once more, as a new request, when no resolver answered the
    /// first (none subscribed, or the one that took it died or timed out), so a replica that
    /// goes away does not fail the reads it held. Writes are never sent twice.
    pub(crate) async fn read(&self, subject: Subject, grant: &SealedGrant, body: RequestBody) -> Result<Reply> {
        match self.send(subject.clone(), grant, |_| body).await {
            Sent::Answered(answer) => answer,
            Sent::Unanswered(_, body) => match self.send(subject, grant, |_| body).await {
                Sent::Answered(answer) => answer,
                Sent::Unanswered(error, _) => Err(error),
            },
        }
    }

    /// Like [`request`](Self::request), building the body from the request id (to seal to it).
    pub(crate) async fn request_with(
        &self,
        subject: Subject,
        grant: &SealedGrant,
        body: impl FnOnce(&[u8; 16]) -> RequestBody,
    ) -> Result<Reply> {
        match self.send(subject, grant, body).await {
            Sent::Answered(answer) => answer,
            Sent::Unanswered(error, _) => Err(error),
        }
    }

    /// Sends one request, with a new id, and says whether a resolver answered it.
    async fn send(&self, subject: Subject, grant: &SealedGrant, body: impl FnOnce(&[u8; 16]) -> RequestBody) -> Sent {
        let request_id = random_request_id();
        let body = body(&request_id);
        let mut envelope =
            RequestEnvelope::new(request_id, self.inner.keys.public(), self.inner.resolver_key_id, unix_now_ms(), body);
        let payload = match self.inner.transport.authenticate_and_encode(&mut envelope, &subject, grant) {
            Ok(payload) => payload,
            Err(e) => return Sent::Answered(Err(Error::invalid_input(e.to_string()))),
        };
        // A `Subject` clone shares its bytes: a session builds its read subject once.
        let reply = match self.inner.nats.request(subject.clone(), payload.into()).await {
            Ok(reply) => reply,
            Err(e) => {
                let unanswered = match e.kind() {
                    RequestErrorKind::NoResponders => {
                        Error::unavailable(format!("no hush resolver is serving {subject}"))
                    }
                    RequestErrorKind::TimedOut => Error::unavailable(format!(
                        "no hush resolver answered within {}s",
                        self.inner.request_timeout.as_secs_f32()
                    )),
                    RequestErrorKind::InvalidSubject | RequestErrorKind::MaxPayloadExceeded => {
                        return Sent::Answered(Err(Error::invalid_input(format!("NATS refused the request: {e}"))));
                    }
                    _ => return Sent::Answered(Err(unavailable(e))),
                };
                return Sent::Unanswered(unanswered, envelope.body);
            }
        };
        let request = SentRequest { id: request_id, mac: envelope.mac };
        Sent::Answered(Ok(Reply { message: reply, request, sent: envelope.body }))
    }
}

/// The request a reply answers: its id and MAC, which a read reply's sealed items are bound to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SentRequest {
    pub id: [u8; 16],
    pub mac: [u8; 32],
}

impl SentRequest {
    /// What the reply to this request, sent to `subject`, is sealed with.
    pub(crate) fn reply_aad<'a>(&'a self, subject: &'a str) -> ReplyAad<'a> {
        ReplyAad { request_id: &self.id, subject, request_mac: &self.mac }
    }
}

/// Whether a resolver answered a request. (A request that never left, or that NATS refused,
/// counts as answered: sending it again would fail the same way.)
enum Sent {
    /// It did: its reply.
    Answered(Result<Reply>),
    /// None did (no responders, or the request timed out): the error to report, and the body,
    /// to send again under a new id.
    Unanswered(Error, RequestBody),
}

/// A resolver's reply to a request, as it came: decoded by what asked, into owned parts
/// ([`body`](Self::body)) or borrowing a read's sealed items ([`sealed_items`](Self::sealed_items)).
pub(crate) struct Reply {
    message: async_nats::Message,
    /// The request it answers.
    pub request: SentRequest,
    /// That request's body, handed back: a read's names, for the errors that name them.
    pub sent: RequestBody,
}

impl Reply {
    /// The answer's body, or the error the resolver answered.
    pub(crate) fn body(&self) -> Result<ResponseBody> {
        self.checked(ResponseEnvelope::decode(&self.message.payload))
    }

    /// A read's sealed items, borrowed from the reply: opened from there, not copied first.
    pub(crate) fn sealed_items(&self) -> Result<&[u8]> {
        match self.checked(ResponseEnvelope::decode_borrowed(&self.message.payload))? {
            ResponseBody::Get(SealedItemsRef(sealed)) => Ok(sealed),
            _ => Err(Error::new(ErrorKind::Internal, "the resolver answered with another operation")),
        }
    }

    /// The body of `response`, once it is known to answer this request.
    fn checked<S>(&self, response: Result<ResponseEnvelope<S>, CodecError>) -> Result<ResponseBody<S>> {
        let response = response
            .map_err(|e| Error::new(ErrorKind::Internal, format!("unreadable reply from the resolver: {e}")))?;
        let body = response.body.map_err(Error::from)?;
        if response.request_id != self.request.id {
            return Err(Error::new(ErrorKind::Internal, "the resolver answered a different request"));
        }
        Ok(body)
    }
}
