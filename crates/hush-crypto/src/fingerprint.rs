//! Key ids: the first 8 bytes of SHA-256 of a public key, and their hex form.

use sha2::{Digest, Sha256};

/// The first 8 bytes of SHA-256 of `public`: how grants name their issuer and replies name
/// the resolver key that sealed them.
pub(crate) fn key_id_of(public: &[u8; 32]) -> [u8; 8] {
    let digest = Sha256::digest(public);
    let mut id = [0u8; 8];
    id.copy_from_slice(&digest[..8]);
    id
}

/// Lowercase hex of a key id, for logs, `hush keys show` and `Debug`.
pub fn key_id_hex(id: &[u8; 8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_is_a_sha256_prefix() {
        // SHA-256 of 32 zero bytes starts 66687aadf862bd77.
        assert_eq!(key_id_hex(&key_id_of(&[0u8; 32])), "66687aadf862bd77");
    }
}
