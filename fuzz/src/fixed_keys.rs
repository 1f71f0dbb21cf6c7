//! The keys every target and the seed corpus share: built from fixed bytes, so a request or a
//! grant the seed writer made is authentic to the targets too (its MAC checks, its signature
//! verifies) and a crashing input replays the same way in a new process.
//!
//! hush loads keys from files only (`ResolverKeyPair::load`, `GrantIssuer::load`, ...), so the
//! fixed bytes are written to key files in a temporary directory and loaded from there.

use ed25519_dalek::SigningKey;
use hush_crypto::{ClientKeyPair, GrantIssuer, GrantVerifier, ResolverKeyPair, write_key32};

/// The X25519 secret of the resolver.
const RESOLVER_SECRET: [u8; 32] = [0x11; 32];
/// The X25519 secret of the client.
const CLIENT_SECRET: [u8; 32] = [0x22; 32];
/// The Ed25519 seed of the default grant issuer.
const ISSUER_SEED: [u8; 32] = [0x33; 32];
/// The Ed25519 seed of the issuer that alone may mint grants for [`OWN_ISSUER_TENANT`].
const TENANT_ISSUER_SEED: [u8; 32] = [0x44; 32];

/// The tenant whose grants only [`FixedKeys::tenant_issuer`] may mint.
pub const OWN_ISSUER_TENANT: &str = "globex";

/// The resolver's, the client's and the issuers' keys, from the fixed bytes above.
#[derive(Debug)]
pub struct FixedKeys {
    /// The resolver's key pair.
    pub resolver: ResolverKeyPair,
    /// The client's key pair.
    pub client: ClientKeyPair,
    /// The default issuer.
    pub issuer: GrantIssuer,
    /// The issuer of [`OWN_ISSUER_TENANT`]'s grants.
    pub tenant_issuer: GrantIssuer,
    /// The key files, kept for [`resolver_key`](Self::resolver_key).
    dir: tempfile::TempDir,
}

impl FixedKeys {
    /// The grant verifier hushd builds from these keys: the default issuer for every tenant,
    /// and [`OWN_ISSUER_TENANT`]'s own issuer for that tenant, accepting grants of at most
    /// `max_lifetime`.
    ///
    /// # Panics
    ///
    /// When the fixed issuer keys are refused.
    pub fn verifier(&self, max_lifetime: std::time::Duration) -> GrantVerifier {
        GrantVerifier::new(&[self.issuer.public()], max_lifetime)
            .and_then(|v| {
                v.with_tenant_issuers(
                    OWN_ISSUER_TENANT.parse().expect("a valid tenant id"),
                    &[self.tenant_issuer.public()],
                )
            })
            .expect("the fixed issuer keys are valid")
    }

    /// Loads the fixed keys through hush's own key files.
    ///
    /// # Panics
    ///
    /// When the temporary directory or a key file cannot be written or read back.
    pub fn load() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory for the fixed key files");
        let file = |name: &str, bytes: &[u8; 32]| {
            let path = dir.path().join(name);
            write_key32(&path, bytes, true).expect("the key file is written");
            path
        };
        Self {
            resolver: ResolverKeyPair::load(&file("resolver.key", &RESOLVER_SECRET)).expect("the resolver key loads"),
            client: ClientKeyPair::load(&file("client.key", &CLIENT_SECRET)).expect("the client key loads"),
            issuer: GrantIssuer::load(&file("issuer.key", &ISSUER_SEED)).expect("the issuer key loads"),
            tenant_issuer: GrantIssuer::load(&file("tenant-issuer.key", &TENANT_ISSUER_SEED))
                .expect("the tenant issuer key loads"),
            dir,
        }
    }

    /// The resolver's key pair once more, for a new resolver (a key pair is not `Clone`).
    ///
    /// # Panics
    ///
    /// When the key file cannot be read back.
    pub fn resolver_key(&self) -> ResolverKeyPair {
        ResolverKeyPair::load(&self.dir.path().join("resolver.key")).expect("the resolver key loads")
    }

    /// The default issuer's Ed25519 key, to sign claims bytes that [`GrantIssuer::issue`] would
    /// never write (the grant target signs whatever the fuzzer made of the claims).
    pub fn issuer_signing_key() -> SigningKey {
        SigningKey::from_bytes(&ISSUER_SEED)
    }
}
