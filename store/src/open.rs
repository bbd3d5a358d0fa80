//! Opening a store directory: what may be in it, the marker file, the key file and the lock.
//! Everything here checks before it touches: a refused directory is left as it was.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use fs2::FileExt;

use crate::chain::{key_check, Key};
use crate::StoreError;

/// Marker file that makes a directory a vigil store.
pub const MARKER: &str = "VIGIL-STORE";
/// Lock file held (flock, exclusive) while a process has the store open.
pub const LOCK: &str = "vigil.lock";
/// sled's directory.
pub const SLED: &str = "sled";
/// Watermark file: the last acknowledged seq and hash, written after every commit, so that a
/// log tail sled silently drops at recovery is detected.
pub const WATERMARK: &str = "vigil.acked";
const MARKER_TMP: &str = "VIGIL-STORE.tmp";
const MAGIC: &str = "vigil-store 1";

/// What the marker file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// Keyed BLAKE3 check of the key, when the store is keyed.
    pub key_check: Option<[u8; 32]>,
}

impl Marker {
    fn render(&self) -> String {
        match &self.key_check {
            None => format!("{MAGIC}\nkeyed false\n"),
            Some(c) => format!("{MAGIC}\nkeyed true\nkey-check {}\n", hex::encode(c)),
        }
    }

    fn parse(path: &Path, text: &str) -> Result<Self, StoreError> {
        let bad = |detail: String| StoreError::NotAStore {
            path: path.to_path_buf(),
            detail,
        };
        let mut lines = text.lines();
        if lines.next() != Some(MAGIC) {
            return Err(bad(format!("first line is not `{MAGIC}`")));
        }
        match lines.next() {
            Some("keyed false") => Ok(Marker { key_check: None }),
            Some("keyed true") => {
                let line = lines.next().unwrap_or_default();
                let hexed = line
                    .strip_prefix("key-check ")
                    .ok_or_else(|| bad("missing `key-check` line".into()))?;
                let mut c = [0u8; 32];
                hex::decode_to_slice(hexed.trim(), &mut c)
                    .map_err(|e| bad(format!("bad key-check: {e}")))?;
                Ok(Marker { key_check: Some(c) })
            }
            other => Err(bad(format!(
                "second line is {other:?}, expected `keyed true|false`"
            ))),
        }
    }
}

/// Read and check a key file: a regular file owned by the running user, not accessible to
/// group or others, exactly 32 bytes (see [`crate::seal::read_key_file`]).
pub fn read_key(path: &Path) -> Result<Key, StoreError> {
    crate::seal::read_key_file(path)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::io(path, e)
}

/// Entries of `dir` that the store does not own, first one found.
fn check_entries(dir: &Path) -> Result<bool, StoreError> {
    let mut has_marker = false;
    let mut others: Vec<PathBuf> = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        match name.to_str() {
            Some(MARKER) => has_marker = true,
            Some(LOCK)
            | Some(SLED)
            | Some(MARKER_TMP)
            | Some(WATERMARK)
            | Some(crate::journal::JOURNAL) => {}
            _ => others.push(entry.path()),
        }
    }
    others.sort();
    if let Some(first) = others.into_iter().next() {
        if has_marker {
            return Err(StoreError::Foreign { path: first });
        }
        return Err(StoreError::NotAStore {
            path: dir.to_path_buf(),
            detail: format!(
                "it holds {} but no {MARKER} marker; use an empty or new directory",
                first.display()
            ),
        });
    }
    Ok(has_marker)
}

fn read_marker(dir: &Path) -> Result<Marker, StoreError> {
    let path = dir.join(MARKER);
    let bytes = fs::read(&path).map_err(io(&path))?;
    let text = String::from_utf8(bytes).map_err(|_| StoreError::NotAStore {
        path: path.clone(),
        detail: "marker is not text".into(),
    })?;
    Marker::parse(&path, &text)
}

fn check_key(dir: &Path, marker: &Marker, key: Option<(&Path, &Key)>) -> Result<(), StoreError> {
    match (&marker.key_check, key) {
        (None, None) => Ok(()),
        (Some(c), Some((path, k))) => {
            if key_check(k) == *c {
                Ok(())
            } else {
                Err(StoreError::KeyFile {
                    path: path.to_path_buf(),
                    problem: format!("not the key the store {} was created with", dir.display()),
                    needed_by: None,
                })
            }
        }
        (Some(_), None) => Err(StoreError::KeyFile {
            path: dir.join(MARKER),
            problem: "this store is keyed; pass its key file (--key-file, or the config's key \
                      file setting)"
                .into(),
            needed_by: Some(dir.to_path_buf()),
        }),
        (None, Some((path, _))) => Err(StoreError::KeyFile {
            path: path.to_path_buf(),
            problem: format!(
                "the store {} was created without a key; remove the key file setting",
                dir.display()
            ),
            needed_by: None,
        }),
    }
}

/// fsync a directory so that new entries in it survive power loss.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Whether the store directory `dir` exists: `false` when it does not, an error when the
/// path is something other than a directory or cannot be read.
fn dir_exists(dir: &Path) -> Result<bool, StoreError> {
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(true),
        Ok(_) => Err(StoreError::NotAStore {
            path: dir.to_path_buf(),
            detail: "not a directory".into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StoreError::io(dir, e)),
    }
}

/// Check `dir`, take its lock, and create the marker of a new store when `create` is set.
/// Returns the held lock.
pub fn prepare(dir: &Path, create: bool, key: Option<(&Path, &Key)>) -> Result<File, StoreError> {
    if !dir_exists(dir)? {
        if !create {
            return Err(StoreError::NotFound {
                path: dir.to_path_buf(),
            });
        }
        fs::create_dir_all(dir).map_err(io(dir))?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
    }
    // Read-only checks first, so that a refused directory is not touched.
    let had_marker = check_entries(dir)?;
    if had_marker {
        check_key(dir, &read_marker(dir)?, key)?;
    } else if !create {
        return Err(StoreError::NotAStore {
            path: dir.to_path_buf(),
            detail: format!("no {MARKER} marker"),
        });
    }
    let lock_path = dir.join(LOCK);
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(io(&lock_path))?;
    lock.try_lock_exclusive()
        .map_err(|_| StoreError::Locked { path: lock_path })?;
    // Under the lock: another process may have created the store meanwhile.
    if dir.join(MARKER).exists() {
        let marker = read_marker(dir)?;
        check_key(dir, &marker, key)?;
        return Ok(lock);
    }
    let marker = Marker {
        key_check: key.map(|(_, k)| key_check(k)),
    };
    let tmp = dir.join(MARKER_TMP);
    let mut f = File::create(&tmp).map_err(io(&tmp))?;
    f.write_all(marker.render().as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(io(&tmp))?;
    fs::rename(&tmp, dir.join(MARKER)).map_err(io(dir))?;
    sync_dir(dir)?;
    Ok(lock)
}

/// Check `dir` for a read-only open: it must be a store (marker present, nothing foreign),
/// the key must match, and its lock must be free. Creates nothing: the lock is taken only
/// when `vigil.lock` already exists (opened read-only; `flock` does not change the file).
pub fn prepare_read_only(
    dir: &Path,
    key: Option<(&Path, &Key)>,
) -> Result<Option<File>, StoreError> {
    if !dir_exists(dir)? {
        return Err(StoreError::NotFound {
            path: dir.to_path_buf(),
        });
    }
    if !check_entries(dir)? {
        return Err(StoreError::NotAStore {
            path: dir.to_path_buf(),
            detail: format!("no {MARKER} marker"),
        });
    }
    check_key(dir, &read_marker(dir)?, key)?;
    let lock_path = dir.join(LOCK);
    let lock = match File::open(&lock_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(&lock_path, e)),
    };
    lock.try_lock_exclusive()
        .map_err(|_| StoreError::Locked { path: lock_path })?;
    Ok(Some(lock))
}

/// A store whose sled log is gone must not open as an empty store: the journal and the
/// watermark are written only once sled exists, so either of them without `sled/db` means
/// the log was deleted or moved.
pub fn check_sled_present(dir: &Path) -> Result<(), StoreError> {
    let sled_dir = dir.join(SLED);
    if sled_dir.join("db").exists() {
        return Ok(());
    }
    let witnesses: Vec<&str> = [crate::journal::JOURNAL, WATERMARK]
        .into_iter()
        .filter(|f| dir.join(f).exists())
        .collect();
    if witnesses.is_empty() {
        return Ok(());
    }
    Err(StoreError::Corrupt {
        path: sled_dir.join("db"),
        seq: 1,
        what: format!(
            "the store's sled log is missing, but {} say{} the store held records: its log was \
             deleted or moved; put sled/ back or restore it from a backup (or import an export \
             into a new directory); the store is not opened as an empty one",
            witnesses.join(" and "),
            if witnesses.len() == 1 { "s" } else { "" }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trips() {
        let p = Path::new("m");
        for m in [
            Marker { key_check: None },
            Marker {
                key_check: Some([7; 32]),
            },
        ] {
            assert_eq!(Marker::parse(p, &m.render()).expect("parses"), m);
        }
        assert!(Marker::parse(p, "sqlite format 3\n").is_err());
        assert!(Marker::parse(p, "vigil-store 1\nkeyed true\n").is_err());
    }
}
