//! Restoring a backup root into a new data directory, and the recovery test that restores
//! the latest backup into a scratch directory and checks it.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::Instant;

use vigil_events::{kinds, ClassPolicy, NewEvent, Source};

use super::layout::{copy_durable, join_rel, sync_dir, sync_tree, FILES_DIR};
use super::verify::{read_export, verify_backup, BackupReport};
use super::BackupError;
use crate::export::{write_header, write_record, write_trailer};
use crate::{read_key, Store, StoreOptions};

/// Where a restore puts the config file of the latest increment, inside the new data dir.
pub const RESTORED_CONFIG: &str = "restored-config.toml";

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    /// The backup as verified before anything was written.
    pub backup: BackupReport,
    /// The new data directory.
    pub data_dir: PathBuf,
    /// Last seq of the restored records (before the `BackupRestored` event).
    pub last_seq: u64,
    /// Seq of the `BackupRestored` event recorded in the restored store.
    pub restored_seq: u64,
    /// Media files written.
    pub files: usize,
}

fn dir_is_empty(p: &Path) -> Result<bool, BackupError> {
    match fs::read_dir(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(BackupError::io(p)(e)),
        Ok(mut rd) => Ok(rd.next().is_none()),
    }
}

/// Restore the backup root `root` into the new data directory `data_dir` (missing or empty;
/// anything else is refused). The whole backup is verified first; the data directory is
/// built beside it (`.NAME.restoring`) and renamed into place only once the store imported
/// every record (through the store's import path) and every file is copied. Records
/// `BackupRestored` in the restored store. `key_file` is the chain key of a keyed backup.
pub fn restore_backup(
    root: &Path,
    data_dir: &Path,
    key_file: Option<&Path>,
    test_only: bool,
    now_us: i64,
) -> Result<RestoreReport, BackupError> {
    if !dir_is_empty(data_dir)? {
        return Err(BackupError::TargetNotEmpty {
            path: data_dir.to_path_buf(),
        });
    }
    let key = key_file.map(read_key).transpose()?;
    let backup = verify_backup(root, key.as_ref())?;

    let name = data_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| BackupError::Mismatch {
            path: data_dir.to_path_buf(),
            what: "name a directory".into(),
        })?;
    let parent = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(BackupError::io(parent))?;
    let tmp = parent.join(format!(".{name}.restoring"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(BackupError::io(&tmp))?;
    }
    fs::create_dir_all(&tmp).map_err(BackupError::io(&tmp))?;
    let built = build(
        root,
        &backup,
        &tmp,
        key_file,
        key.as_ref(),
        test_only,
        now_us,
    );
    let (last_seq, restored_seq, files) = match built {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    sync_tree(&tmp)?;
    if data_dir.exists() {
        fs::remove_dir(data_dir).map_err(BackupError::io(data_dir))?;
    }
    fs::rename(&tmp, data_dir).map_err(BackupError::io(data_dir))?;
    sync_dir(parent)?;
    Ok(RestoreReport {
        backup,
        data_dir: data_dir.to_path_buf(),
        last_seq,
        restored_seq,
        files,
    })
}

fn build(
    root: &Path,
    backup: &BackupReport,
    tmp: &Path,
    key_file: Option<&Path>,
    key: Option<&crate::Key>,
    test_only: bool,
    now_us: i64,
) -> Result<(u64, u64, usize), BackupError> {
    // One export of every increment's records in order (each checked again on the way),
    // imported through the store's import path, which checks them all once more.
    let combined = tmp.join(".restore.msgpack");
    {
        let file = File::create(&combined).map_err(BackupError::io(&combined))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        let first = &backup.increments[0].manifest.log;
        let anchor = hex_hash(&first.anchor, &combined)?;
        let rmp_err = |e: rmp::encode::ValueWriteError| BackupError::Io {
            path: combined.clone(),
            error: std::io::Error::other(e.to_string()),
        };
        write_header(&mut w, key.is_some(), first.first_seq, &anchor).map_err(rmp_err)?;
        let (mut count, mut last, mut head) = (0u64, first.first_seq - 1, anchor);
        for inc in &backup.increments {
            let path = inc.dir.join(&inc.manifest.log.file);
            read_export(&path, key, |seq, prev, hash, bytes| {
                write_record(&mut w, seq, prev, hash, bytes).map_err(rmp_err)?;
                count += 1;
                last = seq;
                head = *hash;
                Ok(())
            })?;
        }
        write_trailer(&mut w, count, last, &head).map_err(rmp_err)?;
        let file = w.into_inner().map_err(|e| BackupError::Io {
            path: combined.clone(),
            error: e.into_error(),
        })?;
        file.sync_all().map_err(BackupError::io(&combined))?;
    }
    let log = tmp.join("log");
    let opts = StoreOptions {
        key_file: key_file.map(Path::to_path_buf),
        ..StoreOptions::default()
    };
    let file = File::open(&combined).map_err(BackupError::io(&combined))?;
    let summary = Store::import_into(&log, opts.clone(), file, root)?;
    fs::remove_file(&combined).map_err(BackupError::io(&combined))?;

    let mut files = 0;
    for inc in &backup.increments {
        for f in &inc.manifest.files {
            let from = join_rel(&inc.dir.join(FILES_DIR), &f.path);
            copy_durable(&from, &join_rel(tmp, &f.path))?;
            files += 1;
        }
    }
    if let Some(inc) = backup
        .increments
        .iter()
        .rev()
        .find(|i| i.manifest.config.is_some())
    {
        if let Some(c) = &inc.manifest.config {
            copy_durable(&inc.dir.join(&c.file), &tmp.join(RESTORED_CONFIG))?;
        }
    }

    let store = Store::open(
        &log,
        StoreOptions {
            create: false,
            ..opts
        },
    )?;
    let ev = NewEvent::new(
        now_us,
        Source::Ops,
        kinds::BackupRestored {
            path: root.display().to_string(),
            last_seq: summary.last_seq,
            test_only,
            verified: true,
        },
    );
    let env = store.append(&[ev], &ClassPolicy::default())?;
    store.checkpoint()?;
    let restored_seq = env.first().map_or(0, |e| e.seq);
    Ok((summary.last_seq, restored_seq, files))
}

fn hex_hash(text: &str, path: &Path) -> Result<[u8; 32], BackupError> {
    let bytes = hex::decode(text).ok();
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| BackupError::Check {
            path: path.to_path_buf(),
            seq: None,
            what: format!("{text:?} is not a 32-byte hex hash"),
        })
}

/// The outcome of a recovery test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryTest {
    /// The latest increment's directory (empty when none was found).
    pub path: String,
    /// Its number (0 when none).
    pub increment: u32,
    /// Last seq of the restored records (0 when the restore failed).
    pub last_seq: u64,
    /// What failed, `None` when the test passed.
    pub failure: Option<String>,
    /// How long it took, ms.
    pub duration_ms: u64,
}

impl RecoveryTest {
    /// The `BackupTested` event that records it.
    pub fn event(&self) -> kinds::BackupTested {
        kinds::BackupTested {
            path: self.path.clone(),
            increment: self.increment,
            last_seq: self.last_seq,
            ok: self.failure.is_none(),
            failure: self.failure.clone(),
            duration_ms: self.duration_ms,
        }
    }
}

/// Restore the latest backup of `root` into a scratch directory under `scratch` (removed
/// afterwards), verify every manifest hash and file, the chain of every export and of the
/// restored store. Never fails: what went wrong is the test's `failure`.
pub fn recovery_test(
    root: &Path,
    key_file: Option<&Path>,
    scratch: &Path,
    now_us: i64,
) -> RecoveryTest {
    let started = Instant::now();
    let mut out = RecoveryTest {
        path: String::new(),
        increment: 0,
        last_seq: 0,
        failure: None,
        duration_ms: 0,
    };
    let dir = scratch.join(format!(
        "vigil-recovery-test-{}-{}",
        std::process::id(),
        now_us
    ));
    let result = restore_backup(root, &dir, key_file, true, now_us);
    match result {
        Err(e) => out.failure = Some(e.to_string()),
        Ok(r) => {
            if let Some(last) = r.backup.increments.last() {
                out.path = last.dir.display().to_string();
                out.increment = last.manifest.increment;
            }
            out.last_seq = r.last_seq;
            let opts = StoreOptions {
                key_file: key_file.map(Path::to_path_buf),
                ..StoreOptions::existing()
            };
            match Store::open(&dir.join("log"), opts) {
                Err(e) => out.failure = Some(e.to_string()),
                Ok(store) => {
                    let v = store.verify();
                    if let Some(p) = v.problem {
                        out.failure = Some(format!(
                            "{}: the restored store fails verification at seq {}: {}: {}",
                            dir.display(),
                            p.seq,
                            p.kind,
                            p.detail
                        ));
                    } else if v.last_seq != r.restored_seq {
                        out.failure = Some(format!(
                            "{}: the restored store ends at seq {}, expected {}",
                            dir.display(),
                            v.last_seq,
                            r.restored_seq
                        ));
                    }
                }
            }
        }
    }
    if out.path.is_empty() {
        // The restore failed: still name the latest increment on disk when there is one.
        if let Ok(super::layout::RootState::Root(_, incs)) = super::layout::inspect_root(root) {
            if let Some((n, _, d)) = incs.last() {
                out.path = d.display().to_string();
                out.increment = *n;
            }
        }
    }
    let _ = fs::remove_dir_all(&dir);
    out.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    out
}
