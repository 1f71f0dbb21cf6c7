//! `hush keys`: creating the key files, rotating the at-rest key ring.

use std::path::Path;

use anyhow::Context;
use hush_core::{Error, ErrorKind};
use hush_crypto::{ClientKeyPair, GrantIssuer, KeyRing, ResolverKeyPair};

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

/// Writes a persistent client key pair: `PATH.key` (0600) and `PATH.pub` (base64).
pub fn client(path: &Path) -> anyhow::Result<()> {
    let with_suffix = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    let (secret, public) = (with_suffix(".key"), with_suffix(".pub"));
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

/// Adds a key to the configured at-rest key ring, atomically.
pub fn rotate_at_rest(config_path: &Path) -> anyhow::Result<()> {
    let config = setup::load_config(config_path)?;
    let path =
        config.keys.at_rest.as_ref().ok_or_else(|| Error::new(ErrorKind::ConfigInvalid, "keys.at_rest is not set"))?;
    let mut ring = KeyRing::load(path).map_err(Error::from)?;
    let id = ring.rotate();
    ring.save_replace(path).map_err(Error::from)?;
    println!(
        "added key {id} to {}; run `hush rekey` to re-seal stored values under it (running hushd \
         replicas read the new key when they meet it; restart them to also write under it)",
        path.display()
    );
    Ok(())
}
