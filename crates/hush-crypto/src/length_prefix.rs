//! Length-prefixed concatenation: each field is its length (u32 little-endian) then its bytes.
//!
//! DESIGN.md 4b: every byte string fed to a signature, an AAD or a KDF is built this way,
//! so no two different field lists produce the same input.

/// Appends `field` to `out`, preceded by its length as u32 little-endian.
///
/// Fields here are labels, ids, names and grant claims, all far below 4 GiB (NATS and the
/// codec cap messages at a few MiB); a longer field would saturate its prefix.
pub(crate) fn push(out: &mut Vec<u8>, field: &[u8]) {
    let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(field);
}

/// Concatenates `fields`, each length-prefixed.
pub(crate) fn concat(fields: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(fields.iter().map(|f| 4 + f.len()).sum());
    for field in fields {
        push(&mut out, field);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_boundaries_change_the_output() {
        assert_eq!(concat(&[b"ab", b"c"]), [2, 0, 0, 0, b'a', b'b', 1, 0, 0, 0, b'c']);
        assert_ne!(concat(&[b"ab", b"c"]), concat(&[b"a", b"bc"]));
        assert_ne!(concat(&[b"", b"x"]), concat(&[b"x", b""]));
    }
}
