//! Vendors' own Python clients, which contract-server tests drive: importable, or installed
//! with pip once per test process when missing.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

fn importable(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether `python3` can import `module`, installing the PyPI `package` with pip (once per
/// test process) when it cannot. A test that gets `false` calls [`print_skip`](crate::print_skip).
pub fn python_client(module: &str, package: &str) -> bool {
    static READY: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    let mut ready = READY.get_or_init(Mutex::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *ready.entry(module.to_owned()).or_insert_with(|| {
        if importable(module) {
            return true;
        }
        let installed = Command::new("python3")
            .args(["-m", "pip", "install", "-q", package])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        installed && importable(module)
    })
}
