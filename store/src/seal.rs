//! Encryption at rest of `core` class payloads: XChaCha20-Poly1305 with a random 24-byte nonce
//! per record, under the key of `[store] encryption_key_file`, and the keyring of retired keys
//! that keeps older records readable after `vigil key rotate --encryption`.
//!
//! Only the payload is sealed (record element 7 becomes `ext` type 1: key id ‖ nonce ‖
//! ciphertext with tag, see `vigil_events::RecordHeader`); the header stays clear and the chain
//! hashes the stored bytes, so indexes, queries, `verify` and a stranger's export check work
//! without the key.
//!
//! Why XChaCha20-Poly1305: an AEAD (tampering is detected, not only hidden), constant-time in
//! software without AES instructions (the Raspberry Pi's Cortex-A53/A72 lack them), and its
//! 192-bit nonce can be drawn at random for every record without a counter to persist across
//! crashes: the chance of a repeat stays negligible far beyond the 2^32 records a key may
//! seal before `vigil key rotate --encryption` is due.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use vigil_events::{Envelope, Event, RecordHeader, SealedPayload, SEALED_KEY_ID};

use crate::StoreError;

/// Bytes of the nonce after the key id in a sealed payload.
pub const NONCE_BYTES: usize = 24;

/// Bytes of the AEAD tag at the end of a sealed payload.
pub const TAG_BYTES: usize = 16;

/// An 8-byte key id: names a key in records and events without revealing it.
pub type KeyId = [u8; SEALED_KEY_ID];

/// The id of an encryption key: the first 8 bytes of BLAKE3 in key-derivation mode over the
/// key (a one-way fingerprint, so records and `KeyRotated` events can name the key).
pub fn key_id(key: &[u8; 32]) -> KeyId {
    let d = blake3::derive_key("vigil encryption key id v1", key);
    let mut id = [0u8; SEALED_KEY_ID];
    id.copy_from_slice(&d[..SEALED_KEY_ID]);
    id
}

/// The uid the process runs as (the owner of `/proc/self`), to refuse key files owned by
/// someone else.
fn running_uid() -> Option<u32> {
    fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Read a secret file (a key file or a keyring) after checking that it is a regular file,
/// owned by the running user and not accessible to group or others.
fn read_secret(path: &Path, what: &str) -> Result<Vec<u8>, StoreError> {
    let problem = |p: String| StoreError::KeyFile {
        path: path.to_path_buf(),
        problem: p,
        needed_by: None,
    };
    let meta = fs::metadata(path).map_err(|e| problem(e.to_string()))?;
    if !meta.is_file() {
        return Err(problem("not a regular file".into()));
    }
    if let Some(uid) = running_uid() {
        if meta.uid() != uid {
            return Err(problem(format!(
                "owned by uid {}, but vigil runs as uid {uid}; a {what} must belong to the \
                 user that runs vigil (`chown` it)",
                meta.uid()
            )));
        }
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(problem(format!(
            "mode {mode:03o} lets group or others access it; run `chmod 600 {}`",
            path.display()
        )));
    }
    fs::read(path).map_err(|e| problem(e.to_string()))
}

/// Read and check a 32-byte key file (chain key or encryption key): a regular file owned by the
/// running user, mode 600 (no access for group or others), exactly 32 raw bytes.
pub fn read_key_file(path: &Path) -> Result<[u8; 32], StoreError> {
    let bytes = read_secret(path, "key file")?;
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::KeyFile {
            path: path.to_path_buf(),
            problem: format!(
                "{} bytes; a key file holds exactly 32 raw bytes (e.g. `head -c 32 /dev/urandom`)",
                bytes.len()
            ),
            needed_by: None,
        })
}

/// The keyring file beside an encryption key file: `KEYFILE.keyring`.
pub fn keyring_path(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_owned();
    name.push(".keyring");
    PathBuf::from(name)
}

struct RingKey {
    id: KeyId,
    key: [u8; 32],
    cipher: XChaCha20Poly1305,
}

impl RingKey {
    fn new(key: [u8; 32]) -> Self {
        RingKey {
            id: key_id(&key),
            cipher: XChaCha20Poly1305::new((&key).into()),
            key,
        }
    }
}

/// The encryption keys of a store: the current key (seals new `core` payloads) and the retired
/// ones of its keyring file (open older records).
///
/// The keyring file (`KEYFILE.keyring`, mode 600, owned by the running user) holds one line per
/// retired key: `retired <key id hex> <key hex> from-seq <first seq sealed after it>`, oldest
/// first; `#` lines are comments.
pub struct Keyring {
    key_file: PathBuf,
    current: RingKey,
    retired: Vec<(RingKey, u64)>,
}

impl std::fmt::Debug for Keyring {
    // Never print a key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("key_file", &self.key_file)
            .field("current", &hex::encode(self.current.id))
            .field(
                "retired",
                &self
                    .retired
                    .iter()
                    .map(|(k, s)| (hex::encode(k.id), *s))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Keyring {
    /// Load the key file and, when present, its keyring file; both are checked like key files.
    pub fn load(key_file: &Path) -> Result<Keyring, StoreError> {
        let current = RingKey::new(read_key_file(key_file)?);
        let ring = keyring_path(key_file);
        let mut retired = Vec::new();
        if ring.exists() {
            let bytes = read_secret(&ring, "keyring file")?;
            let bad = |line: usize, what: &str| StoreError::KeyFile {
                path: ring.clone(),
                problem: format!("line {line}: {what}"),
                needed_by: None,
            };
            let text = String::from_utf8(bytes).map_err(|_| bad(1, "not text"))?;
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let f: Vec<&str> = line.split_whitespace().collect();
                let [tag, id_hex, key_hex, from_tag, from] = f.as_slice() else {
                    return Err(bad(
                        i + 1,
                        "expected `retired <key id> <key> from-seq <seq>`",
                    ));
                };
                if *tag != "retired" || *from_tag != "from-seq" {
                    return Err(bad(
                        i + 1,
                        "expected `retired <key id> <key> from-seq <seq>`",
                    ));
                }
                let mut key = [0u8; 32];
                hex::decode_to_slice(key_hex, &mut key)
                    .map_err(|_| bad(i + 1, "the key is not 64 hex digits"))?;
                let k = RingKey::new(key);
                if hex::encode(k.id) != *id_hex {
                    return Err(bad(
                        i + 1,
                        "the key id does not match the key (the file was altered)",
                    ));
                }
                let from: u64 = from
                    .parse()
                    .map_err(|_| bad(i + 1, "from-seq is not a number"))?;
                retired.push((k, from));
            }
        }
        Ok(Keyring {
            key_file: key_file.to_path_buf(),
            current,
            retired,
        })
    }

    /// The key file this keyring was loaded from.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// Id of the current key.
    pub fn current_id(&self) -> KeyId {
        self.current.id
    }

    /// Ids of the retired keys with the first seq sealed after each was retired, oldest first.
    pub fn retired_ids(&self) -> Vec<(KeyId, u64)> {
        self.retired.iter().map(|(k, s)| (k.id, *s)).collect()
    }

    /// Seal `clear` for the record whose associated data is `aad`: key id ‖ nonce ‖ ciphertext
    /// with tag.
    pub fn seal(&self, seq: u64, aad: &[u8], clear: &[u8]) -> Result<Vec<u8>, StoreError> {
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|e| StoreError::Sealing {
                path: self.key_file.clone(),
                seq,
                problem: format!("no random nonce from the OS: {e}"),
            })?;
        let ct = self
            .current
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: clear, aad })
            .map_err(|_| StoreError::Sealing {
                path: self.key_file.clone(),
                seq,
                problem: "the payload could not be sealed".into(),
            })?;
        let mut out = Vec::with_capacity(SEALED_KEY_ID + NONCE_BYTES + ct.len());
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        Ok(out)
    }

    /// Open the sealed payload of the record `h` (its `sealed` flag set): the clear payload
    /// bytes. A key id this keyring does not hold, or a body that does not authenticate, is an
    /// error naming the key file and the seq.
    pub fn open(&self, h: &RecordHeader<'_>) -> Result<Vec<u8>, StoreError> {
        self.open_body(h.seq, &h.aad(), h.payload)
    }

    fn open_body(&self, seq: u64, aad: &[u8], body: &[u8]) -> Result<Vec<u8>, StoreError> {
        let fail = |problem: String| StoreError::Unsealable {
            path: self.key_file.clone(),
            seq,
            problem,
        };
        if body.len() < SEALED_KEY_ID + NONCE_BYTES + TAG_BYTES {
            return Err(fail(format!(
                "its sealed payload is {} bytes, shorter than any sealed payload",
                body.len()
            )));
        }
        let (id, rest) = body.split_at(SEALED_KEY_ID);
        let (nonce, ct) = rest.split_at(NONCE_BYTES);
        let key = std::iter::once(&self.current)
            .chain(self.retired.iter().map(|(k, _)| k))
            .find(|k| k.id == id)
            .ok_or_else(|| {
                fail(format!(
                    "it was sealed with encryption key {}, which neither this key file (key {}) \
                     nor its keyring {} holds: wrong key file?",
                    hex::encode(id),
                    hex::encode(self.current.id),
                    keyring_path(&self.key_file).display()
                ))
            })?;
        key.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| {
                fail(format!(
                    "its sealed payload does not authenticate under key {} (altered)",
                    hex::encode(key.id)
                ))
            })
    }

    /// The typed payload of an envelope read sealed ([`vigil_events::Event::Sealed`]); any
    /// other envelope's payload as it is.
    pub fn open_envelope(&self, env: &Envelope) -> Result<Event, OpenError> {
        let Event::Sealed(p) = &env.payload else {
            return Ok(env.payload.clone());
        };
        let aad = vigil_events::seal_aad(env.seq, env.kind, env.schema);
        let clear = self
            .open_body(env.seq, &aad, &p.sealed)
            .map_err(OpenError::Key)?;
        vigil_events::decode_payload(env.kind, env.schema, &clear).map_err(OpenError::Decode)
    }

    /// The keyring with the current key retired (from `from_seq` on, records are sealed with
    /// `new_key`), as the text of its keyring file.
    pub fn rotated_keyring_text(&self, from_seq: u64) -> String {
        let mut s = String::from(
            "# vigil encryption keyring: retired keys that still open older records.\n\
             # Keep it mode 600 and back it up with the key file; never edit it by hand.\n",
        );
        let all = self
            .retired
            .iter()
            .map(|(k, f)| (k, *f))
            .chain(std::iter::once((&self.current, from_seq)));
        for (k, f) in all {
            s.push_str(&format!(
                "retired {} {} from-seq {f}\n",
                hex::encode(k.id),
                hex::encode(k.key)
            ));
        }
        s
    }
}

/// Why a sealed record could not be opened.
#[derive(Debug)]
pub enum OpenError {
    /// The record (or its opened payload) does not decode.
    Decode(vigil_events::DecodeError),
    /// The key does not open it.
    Key(StoreError),
}

/// Write `bytes` to `path` atomically and durably with mode 600: a temporary file beside it,
/// fsynced, renamed over `path`, and the directory fsynced.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |e| StoreError::io(p, e)
    };
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    // The mode of an existing temporary file is not changed by `open`.
    f.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(io(path))?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    crate::open::sync_dir(dir)
}

/// A fresh random 32-byte key.
pub fn generate_key(path: &Path) -> Result<[u8; 32], StoreError> {
    let mut k = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut k)
        .map_err(|e| StoreError::KeyFile {
            path: path.to_path_buf(),
            problem: format!("no random key from the OS: {e}"),
            needed_by: None,
        })?;
    Ok(k)
}

/// The sealed payload's key id, for messages.
pub fn sealed_key_id(p: &SealedPayload) -> String {
    p.key_id().map(hex::encode).unwrap_or_else(|| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_events::kinds::LoadGenerated;
    use vigil_events::{DataClass, NewEvent, Source};

    fn key_file(dir: &Path, name: &str, key: [u8; 32]) -> PathBuf {
        let p = dir.join(name);
        write_secret_file(&p, &key).expect("write key");
        p
    }

    fn open_record(ring: &Keyring, bytes: &[u8]) -> Result<Event, OpenError> {
        ring.open_envelope(
            &vigil_events::Envelope::decode(bytes, [0; 32], [0; 32]).expect("decodes"),
        )
    }

    fn event(filler: &[u8]) -> NewEvent {
        NewEvent::new(
            7,
            Source::Ops,
            LoadGenerated {
                n: 3,
                filler: filler.to_vec(),
            },
        )
    }

    #[test]
    fn sealed_record_opens_with_its_key_and_hides_the_payload() {
        let dir = tempfile::tempdir().expect("tmp");
        let ring = Keyring::load(&key_file(dir.path(), "enc.key", [7; 32])).expect("ring");
        let ev = event(b"MARKER-SECRET");
        let bytes = ev
            .encode_sealed(5, DataClass::Core, |aad, clear| ring.seal(5, aad, clear))
            .expect("seal");
        assert!(!bytes.windows(13).any(|w| w == b"MARKER-SECRET"));
        let h = RecordHeader::decode(&bytes).expect("header");
        assert!(h.sealed);
        assert!(matches!(h.decode_event(), Ok(Event::Sealed(_))));
        assert_eq!(open_record(&ring, &bytes).expect("opens"), ev.event);
        // Two seals of the same payload differ (random nonce).
        let again = ev
            .encode_sealed(5, DataClass::Core, |aad, clear| ring.seal(5, aad, clear))
            .expect("seal");
        assert_ne!(bytes, again);
    }

    #[test]
    fn wrong_key_names_the_file_and_the_seq() {
        let dir = tempfile::tempdir().expect("tmp");
        let ring = Keyring::load(&key_file(dir.path(), "enc.key", [7; 32])).expect("ring");
        let other_path = key_file(dir.path(), "other.key", [8; 32]);
        let other = Keyring::load(&other_path).expect("ring");
        let bytes = event(b"x")
            .encode_sealed(42, DataClass::Core, |aad, clear| ring.seal(42, aad, clear))
            .expect("seal");
        let h = RecordHeader::decode(&bytes).expect("header");
        let err = other.open(&h).expect_err("wrong key").to_string();
        assert!(err.contains("other.key") && err.contains("seq 42"), "{err}");
        assert!(err.contains(&hex::encode(key_id(&[7; 32]))), "{err}");
    }

    #[test]
    fn a_payload_moved_to_another_seq_or_altered_does_not_open() {
        let dir = tempfile::tempdir().expect("tmp");
        let ring = Keyring::load(&key_file(dir.path(), "enc.key", [7; 32])).expect("ring");
        let ev = event(b"payload");
        let body = ring
            .seal(1, &vigil_events::seal_aad(1, ev.kind(), 1), b"clear")
            .expect("seal");
        // The same body under seq 2 (another associated data).
        let moved = ev
            .encode_sealed(2, DataClass::Core, |_, _| Ok::<_, StoreError>(body.clone()))
            .expect("encode");
        let h = RecordHeader::decode(&moved).expect("header");
        assert!(ring.open(&h).is_err());
        let mut bytes = ev
            .encode_sealed(3, DataClass::Core, |aad, clear| ring.seal(3, aad, clear))
            .expect("seal");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let h = RecordHeader::decode(&bytes).expect("header");
        let err = ring.open(&h).expect_err("altered").to_string();
        assert!(err.contains("does not authenticate"), "{err}");
    }

    #[test]
    fn the_keyring_keeps_retired_keys_readable() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = key_file(dir.path(), "enc.key", [1; 32]);
        let old = Keyring::load(&path).expect("ring");
        let bytes = event(b"old")
            .encode_sealed(1, DataClass::Core, |aad, clear| old.seal(1, aad, clear))
            .expect("seal");
        write_secret_file(&keyring_path(&path), old.rotated_keyring_text(2).as_bytes())
            .expect("ring file");
        write_secret_file(&path, &[2; 32]).expect("new key");
        let new = Keyring::load(&path).expect("ring");
        assert_eq!(new.current_id(), key_id(&[2; 32]));
        assert_eq!(new.retired_ids(), vec![(key_id(&[1; 32]), 2)]);
        assert_eq!(
            open_record(&new, &bytes).expect("old record opens"),
            event(b"old").event
        );
        // Without the keyring the old record is refused, naming the keyring.
        fs::remove_file(keyring_path(&path)).expect("rm");
        let bare = Keyring::load(&path).expect("ring");
        let h = RecordHeader::decode(&bytes).expect("header");
        let err = bare.open(&h).expect_err("no old key").to_string();
        assert!(err.contains("enc.key.keyring"), "{err}");
    }

    #[test]
    fn key_files_with_loose_mode_wrong_length_or_owner_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = key_file(dir.path(), "k", [1; 32]);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = read_key_file(&p).expect_err("mode").to_string();
        assert!(err.contains("mode 644") && err.contains(&p.display().to_string()));
        let short = dir.path().join("short");
        write_secret_file(&short, &[1; 31]).expect("write");
        let err = read_key_file(&short).expect_err("length").to_string();
        assert!(err.contains("31 bytes") && err.contains("short"), "{err}");
        if running_uid() == Some(0) {
            let theirs = key_file(dir.path(), "theirs", [1; 32]);
            std::os::unix::fs::chown(&theirs, Some(65534), None).expect("chown");
            let err = read_key_file(&theirs).expect_err("owner").to_string();
            assert!(
                err.contains("owned by uid 65534") && err.contains("theirs"),
                "{err}"
            );
        }
        let ring = keyring_path(&p);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).expect("chmod");
        fs::write(&ring, "retired 00 11 from-seq 1\n").expect("write");
        fs::set_permissions(&ring, fs::Permissions::from_mode(0o640)).expect("chmod");
        let err = Keyring::load(&p).expect_err("ring mode").to_string();
        assert!(
            err.contains("k.keyring") && err.contains("mode 640"),
            "{err}"
        );
    }
}
