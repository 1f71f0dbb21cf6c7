//! `parse_error`: sqlx errors to hush errors with a kind and a temporary flag.
//!
//! Messages keep the database's own text where it helps (it never holds a value: only
//! sealed bytes reach the database) but never a source chain, whose text could quote a
//! connection URL; connect-time messages are scrubbed of URL passwords by the caller.

use hush_core::{Error, ErrorKind};
use sqlx::error::DatabaseError;

/// The hush error for a sqlx error.
pub(crate) fn parse_error(err: &sqlx::Error) -> Error {
    use sqlx::Error as E;
    match err {
        E::Configuration(e) => Error::new(ErrorKind::ConfigInvalid, format!("invalid database configuration: {e}")),
        E::InvalidArgument(e) => Error::invalid_input(format!("invalid database argument: {e}")),
        E::Database(db) => database_error(db.as_ref()),
        E::Io(e) => Error::unavailable(format!("database I/O error: {e}")),
        E::Tls(e) => Error::unavailable(format!("database TLS error: {e}")).set_temporary(false),
        E::Protocol(e) => Error::unavailable(format!("database protocol error: {e}")),
        E::PoolTimedOut => Error::unavailable("timed out waiting for a database connection"),
        E::PoolClosed => Error::unavailable("the database connection pool is closed").set_temporary(false),
        E::WorkerCrashed => Error::unavailable("the database worker thread crashed"),
        E::RowNotFound => Error::not_found("no such row"),
        other => Error::new(ErrorKind::Internal, format!("unexpected database answer: {other}")),
    }
}

/// What a database error means, across dialects.
#[derive(Debug, PartialEq, Eq)]
enum Class {
    /// Unique violation, deadlock, serialization failure, lock wait timeout.
    Race,
    /// SQLite busy or locked.
    Busy,
    Denied,
    NoDatabase,
    Down,
    TooLarge,
    Other,
}

fn classify(db: &dyn DatabaseError) -> Class {
    if db.is_unique_violation() {
        return Class::Race;
    }
    if let Some(mysql) = db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>() {
        return match mysql.number() {
            1062 | 1213 | 1205 => Class::Race,
            1044 | 1045 | 1142 | 1143 | 1227 => Class::Denied,
            1049 => Class::NoDatabase,
            1040 | 1053 | 1927 => Class::Down,
            1153 | 1406 | 1118 => Class::TooLarge,
            _ => Class::Other,
        };
    }
    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        let code: i64 = db.code().and_then(|c| c.parse().ok()).unwrap_or(0);
        return match code & 0xff {
            5 | 6 => Class::Busy,
            8 | 23 => Class::Denied,
            18 => Class::TooLarge,
            13 | 14 => Class::Down,
            _ => Class::Other,
        };
    }
    // PostgreSQL: SQLSTATE.
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    match code.as_str() {
        "40001" | "40P01" | "55P03" => Class::Race,
        "28000" | "28P01" | "42501" => Class::Denied,
        "3D000" => Class::NoDatabase,
        "53300" | "57P01" | "57P02" | "57P03" | "53100" => Class::Down,
        "22001" | "54000" => Class::TooLarge,
        c if c.starts_with("08") => Class::Down,
        _ => Class::Other,
    }
}

fn database_error(db: &dyn DatabaseError) -> Error {
    let text = db.message();
    match classify(db) {
        Class::Race => Error::new(ErrorKind::Conflict, format!("a concurrent write won: {text}")),
        Class::Busy => Error::unavailable(format!("the database is busy: {text}")),
        Class::Denied => Error::new(ErrorKind::PermissionDenied, format!("the database refused access: {text}")),
        Class::NoDatabase => Error::new(ErrorKind::ConfigInvalid, format!("the database does not exist: {text}")),
        Class::Down => Error::unavailable(format!("the database is unavailable: {text}")),
        Class::TooLarge => Error::invalid_input(format!("the database refused the size of a value: {text}")),
        Class::Other => Error::new(ErrorKind::Internal, format!("database error: {text}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_errors_are_temporary_unavailable() {
        let io = sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"));
        let e = parse_error(&io);
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(e.is_temporary());
        assert_eq!(parse_error(&sqlx::Error::PoolTimedOut).kind(), ErrorKind::Unavailable);
        assert!(!parse_error(&sqlx::Error::PoolClosed).is_temporary());
        assert_eq!(parse_error(&sqlx::Error::RowNotFound).kind(), ErrorKind::NotFound);
    }

    #[test]
    fn configuration_errors_are_config_invalid() {
        let e = parse_error(&sqlx::Error::Configuration("unknown option".into()));
        assert_eq!(e.kind(), ErrorKind::ConfigInvalid);
        assert!(!e.is_temporary());
    }
}
