//! Making an increment: export the records new since the previous increment, copy the new
//! media files and the config, write the manifest, all in a `.partial` directory that is
//! renamed into place only when every file is durable.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::layout::{
    copy_durable, hash_file, increment_dir, inspect_root, join_rel, media_files, read_manifest,
    sync_dir, sync_tree, write_durable, FileEntry, Manifest, ManifestConfig, ManifestLog, Previous,
    RootMarker, RootState, BACKUP_VERSION, CONFIG_FILE, FILES_DIR, LOG_FILE, MANIFEST,
    MANIFEST_HASH, ROOT_MARKER,
};
use super::BackupError;
use crate::{ExportFormat, Store};

/// What a backup reads.
#[derive(Debug)]
pub struct BackupSource<'a> {
    /// The store (only exported from).
    pub store: &'a Store,
    /// The station's data directory (its `frames/` and `videos/` are carried).
    pub data_dir: &'a Path,
    /// The config file the station runs with, copied and hashed when given.
    pub config: Option<&'a Path>,
    /// Now, UTC µs (recorded in the manifest).
    pub now_us: i64,
}

/// The increment written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MadeIncrement {
    /// Its directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// BLAKE3 of the manifest, hex.
    pub manifest_hash: String,
    /// Bytes written (export, files, config, manifest).
    pub bytes: u64,
}

/// Write the next increment of the backup root `root` (a new or empty directory gets the
/// full first one). Refuses a directory that is neither empty nor a backup root, a store
/// whose keying differs from the root's, and a store that does not continue the chain the
/// previous increment ended with.
pub fn make_backup(root: &Path, src: &BackupSource<'_>) -> Result<MadeIncrement, BackupError> {
    let keyed = src.store.is_keyed();
    let increments = match inspect_root(root)? {
        RootState::New => {
            fs::create_dir_all(root).map_err(BackupError::io(root))?;
            let marker = RootMarker {
                vigil_backup: BACKUP_VERSION,
                keyed,
            };
            let text = serde_json::to_vec_pretty(&marker).map_err(|e| BackupError::Io {
                path: root.join(ROOT_MARKER),
                error: e.into(),
            })?;
            let tmp = root.join(format!(".{ROOT_MARKER}.partial"));
            write_durable(&tmp, &text)?;
            fs::rename(&tmp, root.join(ROOT_MARKER)).map_err(BackupError::io(root))?;
            sync_dir(root)?;
            Vec::new()
        }
        RootState::Root(marker, incs) => {
            if marker.keyed != keyed {
                return Err(BackupError::Mismatch {
                    path: root.join(ROOT_MARKER),
                    what: if marker.keyed {
                        "this backup root holds a keyed store's backups but the store is not keyed"
                            .into()
                    } else {
                        "this backup root holds an unkeyed store's backups but the store is keyed"
                            .into()
                    },
                });
            }
            incs
        }
    };
    remove_partials(root)?;

    // What the previous increments hold: the chain's end and the files already carried.
    let mut known: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<(String, Manifest, String)> = None;
    for (_, _, dir) in &increments {
        let (m, hash) = read_manifest(dir)?;
        for f in &m.files {
            known.insert(f.path.clone(), f.blake3.clone());
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        last = Some((name, m, hash));
    }
    let n = last.as_ref().map_or(1, |(_, m, _)| m.increment + 1);
    let full = last.is_none();
    let from_seq = last.as_ref().map_or(1, |(_, m, _)| m.log.last_seq + 1);
    if let Some((name, m, _)) = &last {
        if src.store.last_seq() < m.log.last_seq {
            return Err(BackupError::Mismatch {
                path: root.join(name),
                what: format!(
                    "the backup holds records up to seq {} but the store ends at seq {}: this \
                     is not the store the backup root was made of (use a new backup root)",
                    m.log.last_seq,
                    src.store.last_seq()
                ),
            });
        }
    }

    let final_dir = root.join(increment_dir(n, full));
    let tmp = root.join(format!(".{}.partial", increment_dir(n, full)));
    fs::create_dir_all(&tmp).map_err(BackupError::io(&tmp))?;
    let result = write_increment(&tmp, src, n, full, from_seq, &last, &known);
    let (manifest, manifest_hash, bytes) = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    sync_tree(&tmp)?;
    fs::rename(&tmp, &final_dir).map_err(BackupError::io(&final_dir))?;
    sync_dir(root)?;
    Ok(MadeIncrement {
        dir: final_dir,
        manifest,
        manifest_hash,
        bytes,
    })
}

/// Remove what an interrupted backup left (`.NNNN-KIND.partial`): never accepted by verify.
fn remove_partials(root: &Path) -> Result<(), BackupError> {
    for entry in fs::read_dir(root).map_err(BackupError::io(root))? {
        let entry = entry.map_err(BackupError::io(root))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.ends_with(".partial") {
            let p = entry.path();
            if p.is_dir() {
                fs::remove_dir_all(&p).map_err(BackupError::io(&p))?;
            } else {
                fs::remove_file(&p).map_err(BackupError::io(&p))?;
            }
        }
    }
    Ok(())
}

fn write_increment(
    tmp: &Path,
    src: &BackupSource<'_>,
    n: u32,
    full: bool,
    from_seq: u64,
    last: &Option<(String, Manifest, String)>,
    known: &BTreeMap<String, String>,
) -> Result<(Manifest, String, u64), BackupError> {
    let log_path = tmp.join(LOG_FILE);
    let summary = src
        .store
        .export(ExportFormat::Msgpack, &log_path, from_seq)?;
    if let Some((name, m, _)) = last {
        if hex::encode(summary.anchor) != m.log.head {
            return Err(BackupError::Mismatch {
                path: tmp.with_file_name(name),
                what: format!(
                    "the store's record before seq {from_seq} does not hash to the backup's head \
                     {}: the store does not continue this backup's chain (use a new backup root)",
                    m.log.head
                ),
            });
        }
    }
    let (log_hash, log_size) = hash_file(&log_path)?;
    let mut bytes = log_size;

    let mut files = Vec::new();
    for rel in media_files(src.data_dir)? {
        let from = join_rel(src.data_dir, &rel);
        let (hash, size) = hash_file(&from)?;
        if known.get(&rel) == Some(&hash) {
            continue;
        }
        copy_durable(&from, &join_rel(&tmp.join(FILES_DIR), &rel))?;
        bytes += size;
        files.push(FileEntry {
            path: rel,
            size,
            blake3: hash,
        });
    }

    let config = match src.config {
        None => None,
        Some(p) => {
            let to = tmp.join(CONFIG_FILE);
            copy_durable(p, &to)?;
            let (hash, size) = hash_file(&to)?;
            bytes += size;
            Some(ManifestConfig {
                file: CONFIG_FILE.into(),
                source: p.display().to_string(),
                size,
                blake3: hash,
            })
        }
    };

    let manifest = Manifest {
        vigil_backup_increment: BACKUP_VERSION,
        increment: n,
        full,
        created_us: src.now_us,
        previous: last.as_ref().map(|(name, _, hash)| Previous {
            dir: name.clone(),
            manifest_blake3: hash.clone(),
        }),
        log: ManifestLog {
            file: LOG_FILE.into(),
            size: log_size,
            blake3: log_hash,
            first_seq: summary.first_seq,
            last_seq: summary.last_seq,
            count: summary.count,
            anchor: hex::encode(summary.anchor),
            head: hex::encode(summary.head),
        },
        config,
        files,
    };
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Io {
        path: tmp.join(MANIFEST),
        error: e.into(),
    })?;
    let hash = blake3::hash(&text).to_hex().to_string();
    write_durable(&tmp.join(MANIFEST), &text)?;
    write_durable(&tmp.join(MANIFEST_HASH), format!("{hash}\n").as_bytes())?;
    bytes += text.len() as u64;
    Ok((manifest, hash, bytes))
}
