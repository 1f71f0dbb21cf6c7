//! Exit codes, one per error kind a user acts on differently.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | ok |
//! | 1 | internal error |
//! | 2 | usage: bad arguments or flags |
//! | 3 | not found |
//! | 4 | unauthorized (grant refused, or the backend refused hush's credentials) |
//! | 5 | read-only or unsupported |
//! | 6 | backend unavailable (down, slow, rate limited), or no resolver answering |
//! | 7 | invalid input (bad name, path, value, config) |

use hush_core::ErrorKind;

/// Success.
pub const OK: u8 = 0;
/// An internal error.
pub const FAILURE: u8 = 1;
/// Bad arguments or flags.
pub const USAGE: u8 = 2;
/// Not found.
pub const NOT_FOUND: u8 = 3;
/// Unauthorized.
pub const UNAUTHORIZED: u8 = 4;
/// Read-only or unsupported.
pub const READ_ONLY: u8 = 5;
/// Backend unavailable.
pub const UNAVAILABLE: u8 = 6;
/// Invalid input.
pub const INVALID: u8 = 7;

/// A usage error found after parsing (conflicting flags, a missing value).
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// The exit code for a failed command.
pub fn code_for(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<Usage>().is_some() {
        return USAGE;
    }
    match error.downcast_ref::<hush_core::Error>().map(|e| e.kind()) {
        Some(ErrorKind::NotFound) => NOT_FOUND,
        Some(ErrorKind::Unauthorized | ErrorKind::PermissionDenied) => UNAUTHORIZED,
        Some(ErrorKind::ReadOnly | ErrorKind::Unsupported) => READ_ONLY,
        Some(ErrorKind::Unavailable | ErrorKind::RateLimited | ErrorKind::Conflict) => UNAVAILABLE,
        Some(ErrorKind::InvalidInput | ErrorKind::ConfigInvalid) => INVALID,
        Some(_) | None => FAILURE,
    }
}

/// The error and its causes on one line.
pub fn one_line(error: &anyhow::Error) -> String {
    let text = format!("{error:#}");
    text.replace('\n', " ")
}
