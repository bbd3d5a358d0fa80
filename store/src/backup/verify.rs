//! Checking a backup root on its own (no store): every manifest against its hash, every
//! export's chain and trailer, the chain from one increment to the next, every file and the
//! config against the manifest. The first problem is named by file (and seq).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::layout::{
    hash_file, inspect_root, join_rel, read_manifest, safe_rel, Manifest, RootState, FILES_DIR,
    ROOT_MARKER,
};
use super::BackupError;
use crate::export::ExportReader;
use crate::{Key, StoreError};

/// One checked increment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncrementReport {
    /// Its directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// BLAKE3 of the manifest, hex.
    pub manifest_hash: String,
}

/// A backup root that checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupReport {
    /// The root.
    pub root: PathBuf,
    /// Whether the chain is keyed.
    pub keyed: bool,
    /// Every increment, in order.
    pub increments: Vec<IncrementReport>,
}

impl BackupReport {
    /// Last seq the backup holds (0 when empty).
    pub fn last_seq(&self) -> u64 {
        self.increments
            .last()
            .map_or(0, |i| i.manifest.log.last_seq)
    }

    /// Records held over all increments.
    pub fn records(&self) -> u64 {
        self.increments.iter().map(|i| i.manifest.log.count).sum()
    }

    /// Files held over all increments.
    pub fn files(&self) -> usize {
        self.increments.iter().map(|i| i.manifest.files.len()).sum()
    }
}

fn check(path: impl Into<PathBuf>, seq: Option<u64>, what: impl Into<String>) -> BackupError {
    BackupError::Check {
        path: path.into(),
        seq,
        what: what.into(),
    }
}

/// Check the backup root `root`. `key` is the chain key of a keyed backup (required for one;
/// refused for an unkeyed one). A root with no increment is [`BackupError::NoBackup`].
pub fn verify_backup(root: &Path, key: Option<&Key>) -> Result<BackupReport, BackupError> {
    let (marker, incs) = match inspect_root(root)? {
        RootState::New => {
            return Err(BackupError::NoBackup {
                path: root.to_path_buf(),
            })
        }
        RootState::Root(m, incs) => (m, incs),
    };
    if marker.keyed != key.is_some() {
        return Err(BackupError::Mismatch {
            path: root.join(ROOT_MARKER),
            what: if marker.keyed {
                "the backup is of a keyed store: give its key file (--key-file)".into()
            } else {
                "the backup is of an unkeyed store: give no key file".into()
            },
        });
    }
    if incs.is_empty() {
        return Err(BackupError::NoBackup {
            path: root.to_path_buf(),
        });
    }
    let mut out: Vec<IncrementReport> = Vec::new();
    for (i, (n, full, dir)) in incs.iter().enumerate() {
        let name = dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let want_n = i as u32 + 1;
        if *n != want_n || *full != (want_n == 1) {
            return Err(check(
                dir,
                None,
                format!("expected increment {want_n} here: an increment is missing or misnamed"),
            ));
        }
        let (m, hash) = read_manifest(dir)?;
        if m.increment != *n || m.full != *full {
            return Err(check(
                dir.join(super::MANIFEST),
                None,
                format!(
                    "the manifest says increment {} (full: {}) but its directory is {name}",
                    m.increment, m.full
                ),
            ));
        }
        match (out.last(), &m.previous) {
            (None, None) => {}
            (Some(prev), Some(link)) => {
                let prev_name = prev
                    .dir
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if link.dir != prev_name || link.manifest_blake3 != prev.manifest_hash {
                    return Err(check(
                        dir.join(super::MANIFEST),
                        None,
                        format!(
                            "the link to the previous increment ({} {}) is not {prev_name} {}",
                            link.dir, link.manifest_blake3, prev.manifest_hash
                        ),
                    ));
                }
                let p = &prev.manifest.log;
                if m.log.first_seq != p.last_seq + 1 || m.log.anchor != p.head {
                    return Err(check(
                        dir.join(&m.log.file),
                        Some(m.log.first_seq),
                        format!(
                            "does not continue {prev_name}, which ends at seq {} with head {}",
                            p.last_seq, p.head
                        ),
                    ));
                }
            }
            (None, Some(_)) => {
                return Err(check(
                    dir.join(super::MANIFEST),
                    None,
                    "the first increment links to a previous one",
                ))
            }
            (Some(_), None) => {
                return Err(check(
                    dir.join(super::MANIFEST),
                    None,
                    "a later increment has no link to the previous one",
                ))
            }
        }
        check_log(dir, &m, key)?;
        for f in &m.files {
            if !safe_rel(&f.path) {
                return Err(check(
                    dir.join(super::MANIFEST),
                    None,
                    format!("file path {:?} is not inside frames/ or videos/", f.path),
                ));
            }
            let p = join_rel(&dir.join(FILES_DIR), &f.path);
            check_file(&p, f.size, &f.blake3)?;
        }
        if let Some(c) = &m.config {
            check_file(&dir.join(&c.file), c.size, &c.blake3)?;
        }
        out.push(IncrementReport {
            dir: dir.clone(),
            manifest: m,
            manifest_hash: hash,
        });
    }
    Ok(BackupReport {
        root: root.to_path_buf(),
        keyed: marker.keyed,
        increments: out,
    })
}

/// A file must exist with the manifest's size and BLAKE3.
fn check_file(p: &Path, size: u64, blake3: &str) -> Result<(), BackupError> {
    if !p.is_file() {
        return Err(check(p, None, "missing (listed in the manifest)"));
    }
    let (got, got_size) = hash_file(p)?;
    if got_size != size {
        return Err(check(
            p,
            None,
            format!("{got_size} bytes but the manifest says {size}"),
        ));
    }
    if got != blake3 {
        return Err(check(
            p,
            None,
            format!("BLAKE3 is {got} but the manifest says {blake3}"),
        ));
    }
    Ok(())
}

/// The export: its hash against the manifest, then every record's chain and the trailer,
/// and its range against the manifest.
fn check_log(dir: &Path, m: &Manifest, key: Option<&Key>) -> Result<(), BackupError> {
    let path = dir.join(&m.log.file);
    if !path.is_file() {
        return Err(check(&path, None, "missing (listed in the manifest)"));
    }
    let summary = read_export(&path, key, |_, _, _, _| Ok(()))?;
    let (got, size) = hash_file(&path)?;
    if size != m.log.size || got != m.log.blake3 {
        return Err(check(
            &path,
            None,
            format!(
                "{size} bytes with BLAKE3 {got} but the manifest says {} bytes with {}",
                m.log.size, m.log.blake3
            ),
        ));
    }
    let same = summary.first_seq == m.log.first_seq
        && summary.last_seq == m.log.last_seq
        && summary.count == m.log.count
        && hex::encode(summary.anchor) == m.log.anchor
        && hex::encode(summary.head) == m.log.head;
    if !same {
        return Err(check(
            &path,
            None,
            format!(
                "holds seq {}..={} ({} records, head {}) but the manifest says {}..={} ({}, head {})",
                summary.first_seq,
                summary.last_seq,
                summary.count,
                hex::encode(summary.head),
                m.log.first_seq,
                m.log.last_seq,
                m.log.count,
                m.log.head
            ),
        ));
    }
    Ok(())
}

/// Read the export at `path`, every record checked (chain, density, trailer), each handed to
/// `each(seq, prev, hash, bytes)`. A broken export is a failed check naming the file and seq.
pub(crate) fn read_export(
    path: &Path,
    key: Option<&Key>,
    mut each: impl FnMut(u64, &[u8; 32], &[u8; 32], &[u8]) -> Result<(), BackupError>,
) -> Result<crate::ExportSummary, BackupError> {
    let file = File::open(path).map_err(BackupError::io(path))?;
    let to_check = |e: StoreError| match e {
        StoreError::BadExport { path, seq, what } => BackupError::Check { path, seq, what },
        e => BackupError::Store(e),
    };
    let mut reader =
        ExportReader::new(BufReader::with_capacity(1 << 20, file), path, key).map_err(to_check)?;
    let mut prev = reader.summary().anchor;
    let mut seq = reader.summary().first_seq;
    while let Some(p) = reader.next_record().map_err(to_check)? {
        each(seq, &prev, &p.hash, &p.bytes)?;
        prev = p.hash;
        seq += 1;
    }
    let summary = reader.summary();
    if !summary.trailer {
        return Err(check(
            path,
            None,
            "a version 1 export without a trailer: a backup's exports always have one",
        ));
    }
    Ok(summary)
}
