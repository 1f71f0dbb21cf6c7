//! The tokio runtime behind a client, and how a Python thread waits on it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hush_core::ErrorKind;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

use crate::error::{hush_error, to_py};

/// How often a waiting call looks for a signal (Ctrl-C) while the network is slow.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// A runtime for one client: one worker thread keeps the NATS connection alive (pings,
/// reconnects) between calls.
pub(crate) fn new_runtime(py: Python<'_>) -> PyResult<Arc<Runtime>> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("hush-client")
        .enable_all()
        .build()
        .map(Arc::new)
        .map_err(|e| hush_error(py, ErrorKind::Internal, format!("cannot start the client's runtime: {e}")))
}

/// Runs `work` on `runtime` and waits for it with the GIL released. Every 100 ms the wait
/// looks for a pending signal: a `KeyboardInterrupt` cancels the work and is raised.
pub(crate) fn wait<T, F>(py: Python<'_>, runtime: &Runtime, work: F) -> PyResult<T>
where
    T: Send + 'static,
    F: Future<Output = hush_core::Result<T>> + Send + 'static,
{
    let mut task = runtime.spawn(work);
    loop {
        let done = py.detach(|| runtime.block_on(async { tokio::time::timeout(SIGNAL_POLL, &mut task).await }));
        match done {
            Ok(Ok(result)) => return result.map_err(|e| to_py(py, e)),
            Ok(Err(failed)) => {
                return Err(hush_error(py, ErrorKind::Internal, format!("the hush client task failed: {failed}")));
            }
            Err(_still_running) => {
                if let Err(signal) = py.check_signals() {
                    task.abort();
                    return Err(signal);
                }
            }
        }
    }
}
