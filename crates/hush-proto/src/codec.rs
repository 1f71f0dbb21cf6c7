//! The codec: bincode 2 (standard configuration) with a size limit on every decode.
//!
//! This is the only file that names bincode. A move to a bincode-compatible successor
//! (wincode) or to postcard changes this file and nothing else.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest request hush accepts: 64 KiB.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;
/// Largest response hush sends or accepts: 1 MiB.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why a message could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The message is larger than its limit.
    #[error("message is {len} bytes, the limit is {limit}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The bytes are not a valid message.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// Bytes were left after the message.
    #[error("malformed message: {0} trailing bytes")]
    Trailing(usize),
}

/// What an encode starts with: a one-secret request or reply fits, so it is written without
/// regrowing (bincode's own `encode_to_vec` starts empty and regrows about seven times).
const ENCODE_CAPACITY: usize = 512;

/// Encodes `value`; fails when the result would exceed `limit` bytes.
pub fn encode<T: Serialize>(value: &T, limit: usize) -> Result<Vec<u8>, CodecError> {
    let mut bytes = Vec::with_capacity(ENCODE_CAPACITY);
    bincode::serde::encode_into_std_write(value, &mut bytes, bincode::config::standard())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if bytes.len() > limit {
        return Err(CodecError::TooLarge { len: bytes.len(), limit });
    }
    Ok(bytes)
}

/// Appends the encoding of `value` to `out`. A struct's encoding is its fields' encodings one
/// after the other, so a message can be written in parts; the caller checks the whole's size.
pub fn encode_into<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), CodecError> {
    bincode::serde::encode_into_std_write(value, out, bincode::config::standard())
        .map(|_| ())
        .map_err(|e| CodecError::Malformed(e.to_string()))
}

/// Appends what precedes a byte string of `len` bytes in an encoding (its length), so that a
/// message ending in a byte string can be written as its head, then the bytes themselves.
pub fn byte_string_prefix(len: usize, out: &mut Vec<u8>) {
    // A length is a u64 (varint); writing an integer into a Vec cannot fail.
    let _ = encode_into(&(len as u64), out);
}

/// The length of `value`'s encoding, without writing it: what a buffer that must never grow
/// (it is encrypted in place, and a regrown buffer would leave a plaintext copy) is sized to.
pub fn encoded_len<T: Serialize + ?Sized>(value: &T) -> Result<usize, CodecError> {
    let mut size = bincode::enc::write::SizeWriter::default();
    bincode::serde::encode_into_writer(value, &mut size, bincode::config::standard())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    Ok(size.bytes_written)
}

/// Decodes a `T` that borrows its strings and byte strings from exactly `bytes`; refuses input
/// over `limit` bytes before reading it.
pub fn decode_borrowed<'de, T: serde::Deserialize<'de>>(bytes: &'de [u8], limit: usize) -> Result<T, CodecError> {
    if bytes.len() > limit {
        return Err(CodecError::TooLarge { len: bytes.len(), limit });
    }
    let (value, read) = bincode::serde::borrow_decode_from_slice(bytes, decode_config())
        .map_err(|e| CodecError::Malformed(e.to_string()))?;
    if read != bytes.len() {
        return Err(CodecError::Trailing(bytes.len() - read));
    }
    Ok(value)
}

/// Decodes a `T` from exactly `bytes`; refuses input over `limit` bytes before reading it.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, CodecError> {
    let (value, read) = decode_prefix(bytes, limit)?;
    if read != bytes.len() {
        return Err(CodecError::Trailing(bytes.len() - read));
    }
    Ok(value)
}

/// Decodes a `T` from the start of `bytes` and says how many bytes it took; refuses input
/// over `limit` bytes before reading it.
pub fn decode_prefix<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<(T, usize), CodecError> {
    if bytes.len() > limit {
        return Err(CodecError::TooLarge { len: bytes.len(), limit });
    }
    bincode::serde::decode_from_slice(bytes, decode_config()).map_err(|e| CodecError::Malformed(e.to_string()))
}

/// Every decode's configuration: no inner length prefix may claim more than 2 MiB, so a
/// forged length cannot make a decode allocate more than that.
fn decode_config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<{ 2 * 1024 * 1024 }>()
}
