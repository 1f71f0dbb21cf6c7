//! Keys from Python arguments: pinned resolver public keys as base64 text (a `resolver.pub`
//! file's content), raw bytes or key file paths; the client key as a key file path.

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hush_core::ErrorKind;
use hush_crypto::{ClientKeyPair, load_public_key};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::error::hush_error;

/// One key, or a sequence of them: a `str` holding base64 (as `hush keys resolver` writes
/// `resolver.pub`) or a path, an `os.PathLike`, or 32 raw `bytes`.
pub(crate) fn resolver_public_keys(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Vec<[u8; 32]>> {
    let single = value.is_instance_of::<PyString>() || value.is_instance_of::<PyBytes>() || is_path_like(value)?;
    let items: Vec<Bound<'_, PyAny>> =
        if single { vec![value.clone()] } else { value.try_iter()?.collect::<PyResult<_>>()? };
    if items.is_empty() {
        return Err(hush_error(
            py,
            ErrorKind::ConfigInvalid,
            "resolver_public_keys is empty: pin at least one resolver key",
        ));
    }
    items.iter().enumerate().map(|(index, item)| resolver_public_key(py, index, item)).collect()
}

fn is_path_like(value: &Bound<'_, PyAny>) -> PyResult<bool> {
    value.hasattr("__fspath__")
}

fn resolver_public_key(py: Python<'_>, index: usize, item: &Bound<'_, PyAny>) -> PyResult<[u8; 32]> {
    let invalid =
        |reason: String| hush_error(py, ErrorKind::ConfigInvalid, format!("resolver_public_keys[{index}]: {reason}"));
    if let Ok(bytes) = item.cast::<PyBytes>() {
        let bytes = bytes.as_bytes();
        if let Ok(key) = <[u8; 32]>::try_from(bytes) {
            return Ok(key);
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| invalid(format!("{} bytes is neither a raw 32-byte key nor base64 text", bytes.len())))?;
        return from_text(text).ok_or_else(|| invalid("bytes that are not a base64 32-byte key".into()));
    }
    if let Ok(text) = item.cast::<PyString>() {
        let text = text.to_cow()?;
        if let Some(key) = from_text(&text) {
            return Ok(key);
        }
        return load_public_key(&PathBuf::from(text.as_ref()))
            .map_err(|e| invalid(format!("not a base64 32-byte key, and not a readable key file: {e}")));
    }
    if is_path_like(item)? {
        let path: PathBuf = item.extract()?;
        return load_public_key(&path).map_err(|e| invalid(e.to_string()));
    }
    Err(PyTypeError::new_err(format!(
        "resolver_public_keys[{index}] must be a str (base64 key or path), bytes or os.PathLike, not {}",
        item.get_type().name()?
    )))
}

/// A key written as one line of standard base64 (surrounding whitespace ignored).
fn from_text(text: &str) -> Option<[u8; 32]> {
    let bytes = STANDARD.decode(text.trim()).ok()?;
    <[u8; 32]>::try_from(bytes.as_slice()).ok()
}

/// The key pair in `path` (`hush keys client PATH`), refused when others may read it.
pub(crate) fn client_key(py: Python<'_>, path: PathBuf) -> PyResult<ClientKeyPair> {
    ClientKeyPair::load(&path).map_err(|e| hush_error(py, ErrorKind::ConfigInvalid, format!("client_key: {e}")))
}
