//! `hush keys`: creating the key files; rotating the at-rest key ring and retiring its keys,
//! each under an exclusive lock on the sidecar file `<ring>.lock`.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use anyhow::Context;
use hush_core::{AtRestCipher, Error, ErrorKind};
use hush_crypto::{ClientKeyPair, GrantIssuer, KeyRing, ResolverKeyPair, RetireError, key_id_hex};

use crate::setup;

const FILES: [&str; 5] = ["resolver.key", "resolver.pub", "issuer.key", "issuer.pub", "at-rest.keyring"];

/// Writes every key file into `dir`, or nothing when one already exists.
pub fn init(dir: &Path) -> anyhow::Result<()> {
    let existing: Vec<String> =
        FILES.iter().map(|f| dir.join(f)).filter(|p| p.exists()).map(|p| p.display().to_string()).collect();
    if !existing.is_empty() {
        return Err(
            Error::invalid_input(format!("refusing to overwrite existing key files: {}", existing.join(", "))).into()
        );
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", dir.display()))?;
    }
    ResolverKeyPair::generate().save_new(&dir.join("resolver.key"), &dir.join("resolver.pub")).map_err(Error::from)?;
    GrantIssuer::generate().save_new(&dir.join("issuer.key"), &dir.join("issuer.pub")).map_err(Error::from)?;
    KeyRing::generate().save_new(&dir.join("at-rest.keyring")).map_err(Error::from)?;
    let shown = dir.display();
    println!("wrote {shown}/{{{}}}", FILES.join(","));
    println!();
    println!("[keys]");
    println!("resolver_key = \"{shown}/resolver.key\"");
    println!("resolver_public_key = \"{shown}/resolver.pub\"");
    println!("issuer_public_keys = [\"{shown}/issuer.pub\"]");
    println!("issuer_key = \"{shown}/issuer.key\"");
    println!("at_rest = \"{shown}/at-rest.keyring\"");
    Ok(())
}

/// `PATH.key` and `PATH.pub`: where a key pair command writes.
fn key_pair_paths(path: &Path) -> (PathBuf, PathBuf) {
    let with_suffix = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    (with_suffix(".key"), with_suffix(".pub"))
}

/// Writes a new resolver key pair for a rotation and says how to roll it out.
pub fn rotate_resolver(path: &Path) -> anyhow::Result<()> {
    let (secret, public) = key_pair_paths(path);
    let key = ResolverKeyPair::generate();
    key.save_new(&secret, &public).map_err(Error::from)?;
    println!(
        "wrote {} (private, 0600) and {}, key id {}",
        secret.display(),
        public.display(),
        key_id_hex(&key.key_id())
    );
    println!();
    println!("# 1. every hushd replica (then restart them one by one): the new key answers, the old one still does");
    println!("[keys]");
    println!("resolver_key = \"{}\"", secret.display());
    println!("previous_resolver_keys = [\"<the resolver_key it had until now>\"]");
    println!();
    println!("# 2. every worker and CLI, once all replicas run step 1:");
    println!("resolver_public_key = \"{}\"", public.display());
    println!();
    println!("# 3. when requests_with_previous_keys in `nats req '$SRV.STATS.hush' ''` stays 0,");
    println!("#    remove previous_resolver_keys from hushd's config and restart the replicas.");
    Ok(())
}

/// Writes a persistent client key pair: `PATH.key` (0600) and `PATH.pub` (base64).
pub fn client(path: &Path) -> anyhow::Result<()> {
    let (secret, public) = key_pair_paths(path);
    ClientKeyPair::generate().save_new(&secret, &public).map_err(Error::from)?;
    println!("wrote {} (private, 0600) and {}", secret.display(), public.display());
    println!();
    println!("# in the worker's (or the CLI's) config:");
    println!("[keys]");
    println!("client_key = \"{}\"", secret.display());
    println!();
    println!("# and bind its grants to it:");
    println!("hush grant -t TENANT -n NAMESPACE --bind-key \"$(cat {})\"", public.display());
    Ok(())
}

/// The configured at-rest key ring file.
fn ring_path(config: &hush_config::HushConfig) -> anyhow::Result<&Path> {
    Ok(config.keys.at_rest.as_deref().ok_or_else(|| Error::new(ErrorKind::ConfigInvalid, "keys.at_rest is not set"))?)
}

/// The lock file beside the ring: `<ring>.lock`.
fn lock_path(ring: &Path) -> PathBuf {
    let mut name = ring.file_name().map(ToOwned::to_owned).unwrap_or_default();
    name.push(".lock");
    ring.with_file_name(name)
}

/// An exclusive lock on `<ring>.lock`, held until dropped. The ring itself is replaced by
/// rename, so it cannot carry the lock; the sidecar is created 0600 and never removed.
#[derive(Debug)]
pub struct RingLock {
    file: File,
}

impl Drop for RingLock {
    fn drop(&mut self) {
        // Closing the file releases the lock as well; unlocking first says so explicitly.
        let _ = self.file.unlock();
    }
}

/// Takes the ring's lock, waiting (and saying so on stderr) while another command holds it.
pub fn lock_ring(ring: &Path) -> anyhow::Result<RingLock> {
    let path = lock_path(ring);
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path).with_context(|| format!("cannot open the key ring lock {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            eprintln!("waiting for another `hush keys` command, which holds {}", path.display());
            file.lock().with_context(|| format!("cannot lock {}", path.display()))?;
        }
        Err(TryLockError::Error(e)) => {
            return Err(anyhow::Error::new(e).context(format!("cannot lock {}", path.display())));
        }
    }
    Ok(RingLock { file })
}

/// Adds a key to the configured at-rest key ring, under the ring's lock: the ring is read
/// after the lock is taken, so a concurrent rotation's key is kept.
pub fn rotate_at_rest(config_path: &Path) -> anyhow::Result<()> {
    let config = setup::load_config(config_path)?;
    let path = ring_path(&config)?;
    let lock = lock_ring(path)?;
    let mut ring = KeyRing::load(path).map_err(Error::from)?;
    let id = ring.rotate();
    ring.save_replace(path).map_err(Error::from)?;
    drop(lock);
    println!(
        "added key {id} to {}; run `hush rekey` to re-seal stored values under it (running hushd \
         replicas write under it from their next write and read what is re-sealed under it)",
        path.display()
    );
    Ok(())
}

/// Removes key `key_id` from the configured at-rest key ring, under the ring's lock, when it
/// is not the newest and no backend that seals at rest stores a row under it.
pub async fn retire_at_rest(config_path: &Path, key_id: u32) -> anyhow::Result<()> {
    let config = setup::load_config(config_path)?;
    let path = ring_path(&config)?;
    let shown = path.display();
    let lock = lock_ring(path)?;
    let ring = KeyRing::load(path).map_err(Error::from)?;
    let newest = ring.newest_key_id();
    let mut retired = ring.clone();
    retired.retire(key_id).map_err(|e| match e {
        RetireError::NotInRing(id) => Error::not_found(format!(
            "key {id} is not in the at-rest key ring {shown} (its keys: {:?})",
            ring.key_ids()
        )),
        RetireError::Newest(id) => Error::invalid_input(format!(
            "key {id} is the newest key of {shown} and seals new writes: run `hush keys rotate-at-rest` first"
        )),
        other => Error::from(other),
    })?;

    let context = hush_backends::BackendContext::from_config(&config)?;
    let mut in_use = Vec::new();
    let mut rows = 0u64;
    for (backend, usage) in hush_backends::key_usage_all(&config, &context).await {
        match usage {
            Ok(usage) => {
                if let Some(&count) = usage.get(&key_id).filter(|count| **count > 0) {
                    rows += count;
                    in_use.push(format!("{backend}: {count}"));
                }
            }
            Err(e) => {
                return Err(Error::new(
                    e.kind(),
                    format!("key {key_id} stays: cannot count the rows of backend {backend} under it: {e}"),
                )
                .into());
            }
        }
    }
    if rows > 0 {
        return Err(Error::invalid_input(format!(
            "key {key_id} still seals {rows} stored row(s) ({}): run `hush rekey` to re-seal them under key \
             {newest}, then retire it",
            in_use.join(", ")
        ))
        .into());
    }
    retired.save_replace(path).map_err(Error::from)?;
    drop(lock);
    println!("removed key {key_id} from {shown}: no stored row uses it; keys left {:?}", retired.key_ids());
    Ok(())
}
