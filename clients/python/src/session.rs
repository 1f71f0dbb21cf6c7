//! `hush.Session` and `hush.Masker`: one grant's reads, and the masker that learned them.

use std::sync::Arc;

use hush_client::SecretRequest;
use hush_core::{ErrorKind, SecretValue};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString, PyTuple};
use tokio::runtime::Runtime;

use crate::error::hush_error;
use crate::runtime::wait;

/// A version as Python spells it: `"3"` or `3`.
#[derive(FromPyObject)]
pub(crate) enum Version {
    /// A version id.
    Text(String),
    /// A numeric version id.
    Number(u64),
}

impl Version {
    fn into_string(self) -> String {
        match self {
            Version::Text(text) => text,
            Version::Number(number) => number.to_string(),
        }
    }
}

fn request(name: String, path: Option<String>, version: Option<Version>) -> SecretRequest {
    SecretRequest { name, path, version: version.map(Version::into_string) }
}

/// Reads for one grant: one tenant, one namespace, one execution. Create it with
/// `Client.session(grant)`; its repr shows the grant as `hush1.***`.
#[pyclass(module = "hush", name = "Session", frozen)]
#[derive(Debug)]
pub struct Session {
    inner: hush_client::Session,
    runtime: Arc<Runtime>,
}

impl Session {
    pub(crate) fn new(inner: hush_client::Session, runtime: Arc<Runtime>) -> Self {
        Self { inner, runtime }
    }

    fn fetch(&self, py: Python<'_>, requests: Vec<SecretRequest>) -> PyResult<Vec<SecretValue>> {
        let session = self.inner.clone();
        wait(py, &self.runtime, async move { session.secrets(requests).await })
    }

    fn one(&self, py: Python<'_>, request: SecretRequest) -> PyResult<SecretValue> {
        let name = request.name.clone();
        self.fetch(py, vec![request])?
            .pop()
            .ok_or_else(|| hush_error(py, ErrorKind::Internal, format!("the resolver answered no item for {name}")))
    }
}

/// `value` as a Python `str`; `invalid_input` when it is not UTF-8. The Rust copy is wiped
/// when `value` drops; the Python copy lives as long as Python keeps it.
fn text<'py>(py: Python<'py>, name: &str, value: &SecretValue) -> PyResult<Bound<'py, PyString>> {
    match value.expose_str() {
        Some(text) => Ok(PyString::new(py, text)),
        None => Err(hush_error(
            py,
            ErrorKind::InvalidInput,
            format!("secret {name} is not UTF-8 text: read it with Session.secret_bytes()"),
        )),
    }
}

/// One item of `Session.secrets([...])`: a name, a tuple `(name, path[, version])`, or a
/// dict with `name` and optionally `path` and `version`.
fn item_request(item: &Bound<'_, PyAny>) -> PyResult<SecretRequest> {
    if let Ok(name) = item.cast::<PyString>() {
        return Ok(SecretRequest::new(name.to_cow()?.into_owned()));
    }
    if let Ok(tuple) = item.cast::<PyTuple>() {
        return match tuple.len() {
            1..=3 => {
                let get = |i: usize| tuple.get_item(i).ok().filter(|v| !v.is_none());
                let name: String = tuple.get_item(0)?.extract()?;
                let path: Option<String> = get(1).map(|v| v.extract()).transpose()?;
                let version: Option<Version> = get(2).map(|v| v.extract()).transpose()?;
                Ok(request(name, path, version))
            }
            n => Err(PyTypeError::new_err(format!("a secrets() tuple is (name, path[, version]), not {n} items"))),
        };
    }
    if let Ok(dict) = item.cast::<PyDict>() {
        for key in dict.keys() {
            let key: String = key.extract()?;
            if !matches!(key.as_str(), "name" | "path" | "version") {
                return Err(PyTypeError::new_err(format!("a secrets() dict has name, path, version; not {key:?}")));
            }
        }
        let get = |key: &str| dict.get_item(key).map(|v| v.filter(|v| !v.is_none()));
        let name: String =
            get("name")?.ok_or_else(|| PyTypeError::new_err("a secrets() dict needs a \"name\""))?.extract()?;
        let path: Option<String> = get("path")?.map(|v| v.extract()).transpose()?;
        let version: Option<Version> = get("version")?.map(|v| v.extract()).transpose()?;
        return Ok(request(name, path, version));
    }
    Err(PyTypeError::new_err(format!(
        "secrets() takes names (str), (name, path[, version]) tuples or dicts, not {}",
        item.get_type().name()?
    )))
}

#[pymethods]
impl Session {
    /// The grant's tenant.
    #[getter]
    fn tenant(&self) -> String {
        self.inner.tenant().to_string()
    }

    /// The grant's namespace (`company.team`).
    #[getter]
    fn namespace(&self) -> String {
        self.inner.namespace().to_string()
    }

    /// The value of `name` as `str`, from this namespace or the nearest ancestor that has it;
    /// `path` selects part of a JSON value (`credentials.password`), `version` pins a version.
    /// A value that is not UTF-8 raises `HushError(kind="invalid_input")`: use `secret_bytes`.
    #[pyo3(signature = (name, path = None, version = None))]
    fn secret<'py>(
        &self,
        py: Python<'py>,
        name: String,
        path: Option<String>,
        version: Option<Version>,
    ) -> PyResult<Bound<'py, PyString>> {
        let value = self.one(py, request(name.clone(), path, version))?;
        text(py, &name, &value)
    }

    /// Like `secret`, as `bytes`, for values that are not text.
    #[pyo3(signature = (name, path = None, version = None))]
    fn secret_bytes<'py>(
        &self,
        py: Python<'py>,
        name: String,
        path: Option<String>,
        version: Option<Version>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let value = self.one(py, request(name, path, version))?;
        Ok(PyBytes::new(py, value.expose()))
    }

    /// Several values in one round trip (per 64 items), as a list of `str` in request order.
    /// Items are names, `(name, path[, version])` tuples, or dicts with `name`, `path`,
    /// `version`. Raises the first item's error, naming it.
    fn secrets<'py>(&self, py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
        if items.is_instance_of::<PyString>() {
            return Err(PyTypeError::new_err("secrets() takes a list of items, not one str: use secret()"));
        }
        let requests: Vec<SecretRequest> =
            items.try_iter()?.map(|item| item_request(&item?)).collect::<PyResult<_>>()?;
        let names: Vec<String> = requests.iter().map(|r| r.name.clone()).collect();
        let values = self.fetch(py, requests)?;
        let list = PyList::empty(py);
        for (name, value) in names.iter().zip(&values) {
            list.append(text(py, name, value)?)?;
        }
        Ok(list)
    }

    /// Renders a minijinja template whose `secret("NAME")` / `secret("NAME", "json.path")`
    /// calls are all resolved in one round trip.
    fn render<'py>(&self, py: Python<'py>, template: String) -> PyResult<Bound<'py, PyString>> {
        let session = self.inner.clone();
        let rendered = wait(py, &self.runtime, async move { session.render(&template).await })?;
        text(py, "template", &rendered)
    }

    /// The masker holding every value this session resolved (shared: it keeps learning).
    fn masker(&self) -> Masker {
        Masker { inner: self.inner.masker().clone() }
    }

    fn __repr__(&self) -> String {
        format!("Session(tenant={:?}, namespace={:?}, grant='hush1.***')", self.tenant(), self.namespace())
    }
}

/// Replaces every value its session resolved, and their URL-encoded, base64 and
/// JSON-escaped forms, with `******`.
#[pyclass(module = "hush", name = "Masker", frozen)]
#[derive(Debug)]
pub struct Masker {
    inner: hush_client::Masker,
}

#[pymethods]
impl Masker {
    /// `text` with every known value replaced by `******`.
    fn mask(&self, py: Python<'_>, text: String) -> String {
        let masker = self.inner.clone();
        py.detach(move || masker.mask(&text))
    }

    fn __repr__(&self) -> String {
        format!("Masker(forms={})", self.inner.len())
    }
}
