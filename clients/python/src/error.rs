//! hush's errors as `hush.HushError` (defined in Python, `python/hush/_errors.py`).

use hush_core::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

static HUSH_ERROR: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// `error` as a `hush.HushError(kind, message, temporary=..., context={...})`.
pub(crate) fn to_py(py: Python<'_>, error: Error) -> PyErr {
    build(py, &error).unwrap_or_else(|failed| failed)
}

/// A `hush.HushError` of `kind` with `message`.
pub(crate) fn hush_error(py: Python<'_>, kind: ErrorKind, message: impl Into<String>) -> PyErr {
    to_py(py, Error::new(kind, message))
}

fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    let class = HUSH_ERROR.import(py, "hush._errors", "HushError")?;
    let context = PyDict::new(py);
    for (key, value) in error.context() {
        context.set_item(key, value)?;
    }
    let options = PyDict::new(py);
    options.set_item("temporary", error.is_temporary())?;
    options.set_item("context", context)?;
    let instance = class.call((error.kind().as_str(), error.message()), Some(&options))?;
    Ok(PyErr::from_value(instance))
}
