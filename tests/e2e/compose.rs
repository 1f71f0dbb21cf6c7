//! The local stack, `docker-compose.yml` and the `Dockerfile`, checked without a container
//! engine (none runs where the tests run): the compose file against the Compose
//! Specification's JSON schema, every host path it mounts, the hush config it mounts, and that
//! the image builds and ships what `scripts/dev.sh` builds. The nats-server.conf it mounts is
//! started by a real nats-server and its permissions enforced in `permissions.rs`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use hush_e2e::{skip, write_keys};
use serde_yaml_ng::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn compose() -> Value {
    serde_yaml_ng::from_str(&read("docker-compose.yml")).expect("docker-compose.yml is YAML")
}

/// Every bind mount of every service, as (service, host path as written, path in the container).
fn bind_mounts(compose: &Value) -> Vec<(String, String, String)> {
    let services = compose["services"].as_mapping().expect("a services mapping");
    let mut mounts = Vec::new();
    for (name, service) in services {
        let name = name.as_str().expect("a service name").to_owned();
        for volume in service["volumes"].as_sequence().into_iter().flatten() {
            // Short syntax `SOURCE:TARGET[:MODE]`; a source that is not a path is a named volume.
            let volume = volume.as_str().expect("volumes in the short syntax");
            let mut parts = volume.split(':');
            let (source, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
            if source.starts_with('.') || source.starts_with('/') {
                mounts.push((name.clone(), source.to_owned(), target.to_owned()));
            }
        }
    }
    mounts
}

/// Validates `file` with check-jsonschema (the python-jsonschema project's CLI, installed by
/// `scripts/services.sh`) against the Compose Specification's schema it ships; `None` when the
/// tool is not installed.
fn validate(file: &Path) -> Option<std::process::Output> {
    Command::new("check-jsonschema").args(["--builtin-schema", "vendor.compose-spec"]).arg(file).output().ok()
}

#[test]
fn the_compose_file_follows_the_compose_specification() {
    let Some(output) = validate(&root().join("docker-compose.yml")) else {
        return skip("check-jsonschema is not installed (scripts/services.sh compose installs it)");
    };
    let text = |o: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    };
    assert!(output.status.success(), "docker-compose.yml breaks the Compose Specification:\n{}", text(&output));

    // The check can fail: a misspelt key of a service is refused.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("docker-compose.yml");
    let misspelt = read("docker-compose.yml").replacen("    depends_on:", "    depend_on:", 1);
    assert_ne!(misspelt, read("docker-compose.yml"), "hushd's depends_on was found to misspell");
    std::fs::write(&broken, misspelt).unwrap();
    let output = validate(&broken).expect("check-jsonschema ran a moment ago");
    assert!(!output.status.success(), "a misspelt key passed the schema:\n{}", text(&output));
    assert!(text(&output).contains("depend_on"), "{}", text(&output));
}

#[test]
fn every_path_the_compose_file_mounts_exists() {
    let compose = compose();
    let mounts = bind_mounts(&compose);
    assert!(mounts.len() >= 2, "the stack mounts nats-server.conf and hushd's config: {mounts:?}");
    for (service, source, _) in &mounts {
        assert!(root().join(source).is_file(), "service {service} mounts {source}, which does not exist");
    }
    for (name, service) in compose["services"].as_mapping().unwrap() {
        if let Some(context) = service["build"].as_str() {
            let dockerfile = root().join(context).join("Dockerfile");
            assert!(dockerfile.is_file(), "service {name:?} builds {}, which does not exist", dockerfile.display());
        }
    }
}

#[test]
fn the_config_hushd_mounts_passes_the_offline_check() {
    let mounts = bind_mounts(&compose());
    let (_, source, _) = mounts
        .iter()
        .find(|(service, _, target)| service == "hushd" && target == "/etc/hush/hush.toml")
        .expect("hushd mounts its config at /etc/hush/hush.toml, where the image's CMD reads it");
    // The config as hushd's container sees it: the hush-keys volume at /keys, filled by the
    // `keys` service's `hush keys init /keys`; here a directory of its own stands for it.
    let volume = tempfile::tempdir().unwrap();
    let keys = volume.path().join("keys");
    write_keys(&keys).unwrap();
    let config_path = volume.path().join("hush.toml");
    let mounted = read(source.trim_start_matches("./"));
    assert!(mounted.contains("\"/keys/"), "{source} reads its keys from the hush-keys volume");
    std::fs::write(&config_path, mounted.replace("\"/keys/", &format!("\"{}/", keys.display()))).unwrap();
    // What `hush config check --offline` does: load (no HUSH_ overrides here) and check.
    let config = hush_config::HushConfig::load_with_env(&config_path, std::iter::empty::<(String, String)>())
        .unwrap_or_else(|e| panic!("{source}: {e}"));
    let problems = hush_backends::problems(&config);
    assert!(problems.is_empty(), "{source}: {problems:?}");
    assert!(
        read("Dockerfile").contains(r#"CMD ["--config", "/etc/hush/hush.toml"]"#),
        "the image reads the mounted config"
    );

    // The NATS config the stack mounts is the one permissions.rs starts a real server with.
    let nats = mounts.iter().find(|(service, _, _)| service == "nats").expect("nats mounts its config");
    assert_eq!(nats.1, "./config/nats-server.conf");
}

/// The packages a `cargo build` line of `text` builds (`-p NAME`).
fn built_packages(text: &str) -> BTreeSet<String> {
    let line = text.lines().find(|l| l.contains("cargo build")).expect("a cargo build line");
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).filter(|w| w[0] == "-p").map(|w| w[1].to_owned()).collect()
}

#[test]
fn the_image_builds_and_ships_what_dev_sh_builds() {
    let dev = built_packages(&read("scripts/dev.sh"));
    let dockerfile = read("Dockerfile");
    let image = built_packages(&dockerfile);
    assert!(!dev.is_empty());
    assert_eq!(image, dev, "the Dockerfile and scripts/dev.sh build different packages");
    let copy = dockerfile.lines().find(|l| l.starts_with("COPY --from=build")).expect("the image copies the binaries");
    for package in &dev {
        let manifest: toml::Table = read(&format!("crates/{package}/Cargo.toml")).parse().unwrap();
        let bins = manifest.get("bin").and_then(|b| b.as_array()).expect("each package built names its binary");
        for bin in bins {
            let name = bin["name"].as_str().unwrap();
            assert!(copy.contains(&format!("/src/target/release/{name} ")), "the image does not ship {name}: {copy}");
        }
    }
}
