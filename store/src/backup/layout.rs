//! The on-disk layout of a backup root: the root marker, increment directories, manifests,
//! and the file helpers (BLAKE3 of a file, durable writes and copies) the other parts share.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::BackupError;

/// The root marker file: `{"vigil_backup": 1, "keyed": bool}`.
pub const ROOT_MARKER: &str = "vigil-backup.json";
/// An increment's manifest.
pub const MANIFEST: &str = "manifest.json";
/// BLAKE3 of the manifest's bytes, hex.
pub const MANIFEST_HASH: &str = "manifest.blake3";
/// An increment's export of the log.
pub const LOG_FILE: &str = "log.msgpack";
/// An increment's copy of the config file.
pub const CONFIG_FILE: &str = "config.toml";
/// Where an increment keeps the frame and video files (paths relative to the data dir).
pub const FILES_DIR: &str = "files";
/// The media directories of a data directory that a backup carries.
pub const MEDIA_DIRS: [&str; 2] = ["frames", "videos"];
/// Layout version of the root marker and manifests.
pub const BACKUP_VERSION: u32 = 1;

/// The root marker's contents.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RootMarker {
    /// Layout version ([`BACKUP_VERSION`]).
    pub vigil_backup: u32,
    /// Whether the store's chain is keyed (a keyed backup is checked with the key).
    pub keyed: bool,
}

/// One frame or video file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path relative to the data directory (`frames/2026-06-01/04-00-00.jpg`), `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3, hex.
    pub blake3: String,
}

/// The increment's export.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ManifestLog {
    /// File name inside the increment ([`LOG_FILE`]).
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3 of the file, hex.
    pub blake3: String,
    /// First seq (the previous increment's last seq + 1).
    pub first_seq: u64,
    /// Last seq (`first_seq - 1` when the increment holds no record).
    pub last_seq: u64,
    /// Records held.
    pub count: u64,
    /// Hash before the first record (the previous increment's head), hex.
    pub anchor: String,
    /// Hash of the last record (the anchor when none), hex.
    pub head: String,
}

/// The config file as it was when the increment was made.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ManifestConfig {
    /// File name inside the increment ([`CONFIG_FILE`]).
    pub file: String,
    /// Where it was read from.
    pub source: String,
    /// Size in bytes.
    pub size: u64,
    /// BLAKE3, hex.
    pub blake3: String,
}

/// The link to the previous increment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Previous {
    /// Its directory name (`0001-full`).
    pub dir: String,
    /// Its manifest's BLAKE3, hex.
    pub manifest_blake3: String,
}

/// An increment's manifest (`manifest.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Layout version ([`BACKUP_VERSION`]).
    pub vigil_backup_increment: u32,
    /// Increment number, 1 for the full one.
    pub increment: u32,
    /// True for the first, full increment.
    pub full: bool,
    /// When it was made, UTC µs.
    pub created_us: i64,
    /// The previous increment (`None` for the full one).
    pub previous: Option<Previous>,
    /// The export.
    pub log: ManifestLog,
    /// The config file, when one was given.
    pub config: Option<ManifestConfig>,
    /// Frame and video files new in this increment.
    pub files: Vec<FileEntry>,
}

/// The directory name of increment `n`.
pub fn increment_dir(n: u32, full: bool) -> String {
    format!("{n:04}-{}", if full { "full" } else { "incr" })
}

/// Parse an increment directory name: `(n, full)`.
pub fn parse_increment_dir(name: &str) -> Option<(u32, bool)> {
    let (num, kind) = name.split_once('-')?;
    if num.len() != 4 || !num.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = num.parse().ok()?;
    match kind {
        "full" => Some((n, true)),
        "incr" => Some((n, false)),
        _ => None,
    }
}

/// What a backup root's directory is.
pub enum RootState {
    /// Missing or empty: a new root.
    New,
    /// A backup root: its marker and complete increments in order `(n, full, dir)`.
    Root(RootMarker, Vec<(u32, bool, PathBuf)>),
}

/// Look at `root`: new, or a backup root (a directory with anything else is refused).
pub fn inspect_root(root: &Path) -> Result<RootState, BackupError> {
    let rd = match fs::read_dir(root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RootState::New),
        Err(e) => return Err(BackupError::io(root)(e)),
        Ok(rd) => rd,
    };
    let mut names = Vec::new();
    for entry in rd {
        let entry = entry.map_err(BackupError::io(root))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    if names.is_empty() {
        return Ok(RootState::New);
    }
    let marker_path = root.join(ROOT_MARKER);
    if !names.iter().any(|n| n == ROOT_MARKER) {
        return Err(BackupError::NotABackupRoot {
            path: root.to_path_buf(),
        });
    }
    let text = fs::read_to_string(&marker_path).map_err(BackupError::io(&marker_path))?;
    let marker: RootMarker = serde_json::from_str(&text).map_err(|e| BackupError::Check {
        path: marker_path.clone(),
        seq: None,
        what: format!("not a vigil backup root marker: {e}"),
    })?;
    if marker.vigil_backup != BACKUP_VERSION {
        return Err(BackupError::Mismatch {
            path: marker_path,
            what: format!(
                "backup layout version {}; this vigil reads version {BACKUP_VERSION}",
                marker.vigil_backup
            ),
        });
    }
    let mut incs: Vec<(u32, bool, PathBuf)> = names
        .iter()
        .filter_map(|n| parse_increment_dir(n).map(|(i, f)| (i, f, root.join(n))))
        .collect();
    incs.sort_by_key(|(n, _, _)| *n);
    Ok(RootState::Root(marker, incs))
}

/// BLAKE3 and size of the file at `path`.
pub fn hash_file(path: &Path) -> Result<(String, u64), BackupError> {
    let mut f = File::open(path).map_err(BackupError::io(path))?;
    let mut h = blake3::Hasher::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(BackupError::io(path))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((h.finalize().to_hex().to_string(), size))
}

/// Write `bytes` to `path` and fsync it.
pub fn write_durable(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut f = File::create(path).map_err(BackupError::io(path))?;
    f.write_all(bytes).map_err(BackupError::io(path))?;
    f.sync_all().map_err(BackupError::io(path))
}

/// Copy `from` to `to` (parents created) and fsync the copy.
pub fn copy_durable(from: &Path, to: &Path) -> Result<u64, BackupError> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(BackupError::io(parent))?;
    }
    let n = fs::copy(from, to).map_err(BackupError::io(from))?;
    File::open(to)
        .and_then(|f| f.sync_all())
        .map_err(BackupError::io(to))?;
    Ok(n)
}

/// fsync a directory (its entries are then durable).
pub fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(BackupError::io(dir))
}

/// fsync every directory under `dir` and `dir` itself, deepest first.
pub fn sync_tree(dir: &Path) -> Result<(), BackupError> {
    for entry in fs::read_dir(dir).map_err(BackupError::io(dir))? {
        let entry = entry.map_err(BackupError::io(dir))?;
        if entry.file_type().map_err(BackupError::io(dir))?.is_dir() {
            sync_tree(&entry.path())?;
        }
    }
    sync_dir(dir)
}

/// Every regular file under the data directory's media directories, as `/`-separated paths
/// relative to the data directory, sorted.
pub fn media_files(data_dir: &Path) -> Result<Vec<String>, BackupError> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), BackupError> {
        let rd = match fs::read_dir(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(BackupError::io(dir)(e)),
            Ok(rd) => rd,
        };
        for entry in rd {
            let entry = entry.map_err(BackupError::io(dir))?;
            let path = entry.path();
            let ft = entry.file_type().map_err(BackupError::io(&path))?;
            let name = entry.file_name();
            // Files a writer is still building (`.name.tmp`, `x.partial`) are not media yet.
            let hidden = name.to_string_lossy().starts_with('.');
            if ft.is_dir() {
                walk(base, &path, out)?;
            } else if ft.is_file() && !hidden {
                if let Ok(rel) = path.strip_prefix(base) {
                    let parts: Vec<String> = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    out.push(parts.join("/"));
                }
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for media in MEDIA_DIRS {
        walk(data_dir, &data_dir.join(media), &mut out)?;
    }
    out.sort();
    Ok(out)
}

/// A manifest path is a relative path inside the increment's `files/` under one media
/// directory: no `..`, no absolute path (a crafted manifest must not write elsewhere).
pub fn safe_rel(rel: &str) -> bool {
    let mut parts = rel.split('/');
    let first_ok = parts.next().is_some_and(|p| MEDIA_DIRS.contains(&p));
    first_ok
        && rel
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != ".." && !p.contains('\\'))
}

/// The path of `rel` (a `/`-separated relative path) under `base`.
pub fn join_rel(base: &Path, rel: &str) -> PathBuf {
    rel.split('/').fold(base.to_path_buf(), |p, c| p.join(c))
}

/// Read an increment's manifest and check it against its `manifest.blake3`: the manifest and
/// its hash (hex).
pub fn read_manifest(inc: &Path) -> Result<(Manifest, String), BackupError> {
    let path = inc.join(MANIFEST);
    let hash_path = inc.join(MANIFEST_HASH);
    let bytes = fs::read(&path).map_err(|e| BackupError::Check {
        path: path.clone(),
        seq: None,
        what: format!("cannot read the manifest: {e}"),
    })?;
    let want = fs::read_to_string(&hash_path).map_err(|e| BackupError::Check {
        path: hash_path.clone(),
        seq: None,
        what: format!("cannot read the manifest hash: {e}"),
    })?;
    let got = blake3::hash(&bytes).to_hex().to_string();
    if want.trim() != got {
        return Err(BackupError::Check {
            path,
            seq: None,
            what: format!(
                "BLAKE3 of the manifest is {got} but {MANIFEST_HASH} says {} (altered)",
                want.trim()
            ),
        });
    }
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| BackupError::Check {
        path: path.clone(),
        seq: None,
        what: format!("not a vigil backup manifest: {e}"),
    })?;
    Ok((manifest, got))
}
