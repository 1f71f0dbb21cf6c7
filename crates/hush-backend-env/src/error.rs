//! Turns the backend's one vendor error, a base64 decoding failure, into a hush error
//! that names the variable and never shows its content.

use base64::DecodeError;
use hush_core::{Error, ErrorKind};

/// The error for variable `variable` whose value is not base64.
///
/// `base64`'s own message quotes the offending byte, part of the secret: it is replaced by
/// the byte's offset only.
pub(crate) fn parse_error(variable: &str, err: &DecodeError) -> Error {
    let why = match err {
        DecodeError::InvalidByte(offset, _) => format!("a character outside the base64 alphabet at offset {offset}"),
        DecodeError::InvalidLength(_) => "a length no base64 text has".to_owned(),
        DecodeError::InvalidLastSymbol(offset, _) => format!("an impossible last character at offset {offset}"),
        DecodeError::InvalidPadding => "wrong padding".to_owned(),
    };
    Error::new(ErrorKind::InvalidInput, format!("environment variable {variable} does not hold base64: it has {why}"))
        .set_temporary(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_variable_not_the_content() {
        let e = parse_error("SECRET_DB", &DecodeError::InvalidByte(3, b'%'));
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(!e.is_temporary());
        assert!(e.to_string().contains("SECRET_DB"));
        assert!(e.to_string().contains("offset 3"));
        assert!(!e.to_string().contains('%'));
        assert!(!e.to_string().contains("37"));
    }
}
