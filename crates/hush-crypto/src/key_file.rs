//! Key files: created once and never overwritten, private ones with mode 0600, and refused
//! when group or others may access them (as OpenSSH refuses a private key it finds so).
//!
//! A text key file (X25519 or Ed25519 key, secret or public) is one line: the 32 key bytes
//! in standard base64 with padding, then `\n`. The at-rest key ring is binary (see
//! [`KeyRing`](crate::KeyRing)). Reads go through zeroizing buffers.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand_core::{OsRng, RngCore};
use zeroize::Zeroizing;

use crate::error::CryptoError;

/// Longest text key file read: a 44-character line with some slack for `\r\n` and spaces.
const MAX_TEXT_KEY_FILE_BYTES: u64 = 256;

/// Creates `path` holding `bytes`; fails with [`CryptoError::Exists`] when it exists.
///
/// The file is created with mode 0600 when `private`, 0644 otherwise (the process umask
/// can only narrow these), written, and synced. A partly written file is removed.
pub fn write_new_file(path: &Path, bytes: &[u8], private: bool) -> Result<(), CryptoError> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(CryptoError::Exists(path.to_owned())),
        Err(source) => return Err(CryptoError::Write { path: path.to_owned(), source }),
    };
    if let Err(source) = file.write_all(bytes).and_then(|()| file.sync_all()) {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(CryptoError::Write { path: path.to_owned(), source });
    }
    Ok(())
}

/// Replaces `path` atomically with `bytes`, mode 0600: writes a new temporary file in the
/// same directory, syncs it, renames it over `path`, then syncs the directory.
pub(crate) fn replace_private_file(path: &Path, bytes: &[u8]) -> Result<(), CryptoError> {
    let file_name = path
        .file_name()
        .ok_or_else(|| CryptoError::KeyFile { path: path.to_owned(), reason: "path has no file name".into() })?;
    let mut suffix = [0u8; 8];
    OsRng.fill_bytes(&mut suffix);
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".tmp-{}", crate::fingerprint::key_id_hex(&suffix)));
    let temp = path.with_file_name(temp_name);
    write_new_file(&temp, bytes, true)?;
    if let Err(source) = fs::rename(&temp, path) {
        let _ = fs::remove_file(&temp);
        return Err(CryptoError::Write { path: path.to_owned(), source });
    }
    sync_parent_dir(path);
    Ok(())
}

/// Syncs the directory holding `path` so a rename survives a crash; best effort.
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Reads at most `cap` bytes of `path` into a zeroizing buffer; a longer file is an error.
pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let file = File::open(path)
        .map_err(|e| CryptoError::KeyFile { path: path.to_owned(), reason: format!("cannot read: {e}") })?;
    read_open_capped(path, file, cap)
}

/// Like [`read_capped`] for a private key file: refused with [`CryptoError::KeyFileMode`] when
/// group or others have any access to it. The mode is read from the opened file, so it is the
/// mode of the file actually read.
pub(crate) fn read_private_capped(path: &Path, cap: u64) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let file = File::open(path)
        .map_err(|e| CryptoError::KeyFile { path: path.to_owned(), reason: format!("cannot read: {e}") })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file
            .metadata()
            .map_err(|e| CryptoError::KeyFile { path: path.to_owned(), reason: format!("cannot read: {e}") })?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(CryptoError::KeyFileMode { path: path.to_owned(), mode: mode & 0o7777 });
        }
    }
    read_open_capped(path, file, cap)
}

fn read_open_capped(path: &Path, file: File, cap: u64) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let key_file = |reason: String| CryptoError::KeyFile { path: path.to_owned(), reason };
    let capacity = usize::try_from(cap + 1).unwrap_or(usize::MAX);
    let mut buf = Zeroizing::new(Vec::with_capacity(capacity));
    file.take(cap + 1).read_to_end(&mut buf).map_err(|e| key_file(format!("cannot read: {e}")))?;
    if buf.len() as u64 > cap {
        return Err(key_file(format!("larger than {cap} bytes")));
    }
    Ok(buf)
}

/// Reads a public text key file: one line of standard base64 holding exactly 32 bytes.
///
/// Surrounding whitespace (the trailing `\n`) is ignored. Anything else is a
/// [`CryptoError::KeyFile`] whose reason says what is wrong, never what the file holds.
pub fn read_key32(path: &Path) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    parse_key32(path, &read_capped(path, MAX_TEXT_KEY_FILE_BYTES)?)
}

/// Reads a private text key file like [`read_key32`], refusing it first when group or others
/// may access it ([`CryptoError::KeyFileMode`]).
pub fn read_private_key32(path: &Path) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    parse_key32(path, &read_private_capped(path, MAX_TEXT_KEY_FILE_BYTES)?)
}

fn parse_key32(path: &Path, text: &[u8]) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let key_file = |reason: &str| CryptoError::KeyFile { path: path.to_owned(), reason: reason.to_owned() };
    let trimmed = text.trim_ascii();
    if trimmed.is_empty() {
        return Err(key_file("empty"));
    }
    let bytes = Zeroizing::new(STANDARD.decode(trimmed).map_err(|_| key_file("not one line of standard base64"))?);
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != key.len() {
        return Err(key_file(&format!("holds {} bytes, expected 32", bytes.len())));
    }
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// Writes a new text key file: `key` in standard base64, then `\n`. See [`write_new_file`].
pub fn write_key32(path: &Path, key: &[u8; 32], private: bool) -> Result<(), CryptoError> {
    let mut text = Zeroizing::new(STANDARD.encode(key));
    text.push('\n');
    write_new_file(path, text.as_bytes(), private)
}

/// Writes a secret key file and its public key file; when the second cannot be created,
/// the first is removed again, so a failed save leaves nothing behind.
pub(crate) fn write_key_pair(
    secret_path: &Path,
    secret: &[u8; 32],
    public_path: &Path,
    public: &[u8; 32],
) -> Result<(), CryptoError> {
    if public_path.exists() {
        return Err(CryptoError::Exists(public_path.to_owned()));
    }
    write_key32(secret_path, secret, true)?;
    if let Err(e) = write_key32(public_path, public, false) {
        let _ = fs::remove_file(secret_path);
        return Err(e);
    }
    Ok(())
}

/// Copies a 32-byte key out of a slice (a public key off the wire); any other length is
/// [`CryptoError::BadKeyLength`].
pub fn key32_from_slice(bytes: &[u8]) -> Result<[u8; 32], CryptoError> {
    bytes.try_into().map_err(|_| CryptoError::BadKeyLength)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn key_text_round_trips_and_private_files_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = [7u8; 32];
        write_key32(&path, &key, true).unwrap();
        assert_eq!(*read_key32(&path).unwrap(), key);
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{}\n", STANDARD.encode(key)));
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn private_key_files_others_may_read_are_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("resolver.key");
        write_key32(&path, &[7u8; 32], true).unwrap();
        assert_eq!(*read_private_key32(&path).unwrap(), [7u8; 32]);
        for loose in [0o644, 0o640, 0o604, 0o620, 0o601, 0o610] {
            fs::set_permissions(&path, fs::Permissions::from_mode(loose)).unwrap();
            let err = read_private_key32(&path).unwrap_err();
            assert!(matches!(err, CryptoError::KeyFileMode { mode, .. } if mode == loose), "{loose:o}: {err:?}");
            let shown = err.to_string();
            assert!(shown.contains(&format!("mode {loose:04o}")), "{shown}");
            assert!(shown.contains(&format!("run `chmod 600 {}`", path.display())), "{shown}");
            // A public key file may be world-readable.
            assert_eq!(*read_key32(&path).unwrap(), [7u8; 32]);
        }
        fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
        assert_eq!(*read_private_key32(&path).unwrap(), [7u8; 32], "0400 is private too");
    }

    #[test]
    fn public_files_are_at_most_0644() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pub");
        write_key32(&path, &[1u8; 32], false).unwrap();
        #[cfg(unix)]
        {
            assert_eq!(mode(&path) & !0o644, 0);
            assert_ne!(mode(&path) & 0o600, 0);
        }
        assert_eq!(*read_key32(&path).unwrap(), [1u8; 32]);
    }

    #[test]
    fn never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        write_new_file(&path, b"first", true).unwrap();
        assert!(matches!(write_new_file(&path, b"second", true), Err(CryptoError::Exists(p)) if p == path));
        assert_eq!(fs::read(&path).unwrap(), b"first");
    }

    #[test]
    fn bad_key_files_say_why_without_content() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&str, &[u8], &str); 5] = [
            ("empty", b"\n", "empty"),
            ("short", b"AAAA\n", "holds 3 bytes, expected 32"),
            ("garbage", b"not base64 at all!\n", "not one line of standard base64"),
            ("long", &[b'A'; 300], "larger than 256 bytes"),
            ("two", b"AAAA\nAAAA\n", "not one line of standard base64"),
        ];
        for (name, content, want) in cases {
            let path = dir.path().join(name);
            fs::write(&path, content).unwrap();
            match read_key32(&path) {
                Err(CryptoError::KeyFile { reason, .. }) => assert_eq!(reason, want, "{name}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        let missing = read_key32(&dir.path().join("missing")).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
    }

    #[test]
    fn replace_is_atomic_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring");
        write_new_file(&path, b"old", false).unwrap();
        replace_private_file(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn key_pair_save_leaves_nothing_when_public_exists() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public) = (dir.path().join("s"), dir.path().join("p"));
        fs::write(&public, b"x").unwrap();
        assert!(matches!(write_key_pair(&secret, &[1; 32], &public, &[2; 32]), Err(CryptoError::Exists(_))));
        assert!(!secret.exists());
    }

    #[test]
    fn slices_must_be_32_bytes() {
        assert_eq!(key32_from_slice(&[3u8; 32]).unwrap(), [3u8; 32]);
        assert!(matches!(key32_from_slice(&[3u8; 31]), Err(CryptoError::BadKeyLength)));
    }
}
