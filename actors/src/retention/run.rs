//! The executor: reads the index the planner needs from the store, plans, and carries the plan
//! out — for each purge the `RecordsDestroyed` record is appended (durable) *before* anything
//! is deleted, then the store purges in bounded steps (appends wait for at most one step), then
//! the media files go. A purge cut by a crash is completed first thing by the next run
//! ([`vigil_store::Store::resume_purge`], and its files deleted). Ends with `RetentionRan`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use vigil_config::RetentionConfig;
use vigil_events::kinds::{DestroyedFile, RecordsDestroyed, RetentionRan, StorageExhausted};
use vigil_events::{ClassPolicy, Event, EventKind, NewEvent, Source, UtcMicros};
use vigil_store::{IndexedRecord, Store, StoreError};

use super::plan::{plan, DiskState, Media, Plan, PlanInput};

/// Where free space comes from: the real file system, or a simulated small disk in tests.
pub trait FreeSpace {
    /// Free bytes for unprivileged writers on the file system holding `path`.
    fn free_bytes(&self, path: &Path) -> std::io::Result<u64>;
}

/// The real free space (`statvfs`, through `fs2`).
#[derive(Debug, Clone, Copy, Default)]
pub struct StatvfsFreeSpace;

impl FreeSpace for StatvfsFreeSpace {
    fn free_bytes(&self, path: &Path) -> std::io::Result<u64> {
        fs2::available_space(path)
    }
}

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The data directory (frames and videos are relative to it).
    pub data_dir: PathBuf,
    /// Plan only: delete nothing, append nothing.
    pub dry_run: bool,
    /// Now, UTC µs (the station clock).
    pub now: UtcMicros,
    /// Segments per purge step (each step holds the writer lock once).
    pub step_segments: usize,
}

/// What a run did (or, for a dry run, would do).
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The plan.
    pub plan: Plan,
    /// Seqs of the destruction records appended.
    pub destruction_seqs: Vec<u64>,
    /// A purge cut by an earlier crash that this run completed: its record's seq.
    pub resumed: Option<u64>,
    /// Records purged.
    pub purged: u64,
    /// Media files deleted.
    pub files_deleted: u64,
    /// Record and file bytes freed.
    pub bytes_freed: u64,
    /// Seq of the `StorageExhausted` appended, if any.
    pub exhausted_seq: Option<u64>,
    /// Seq of `RetentionRan` (none for a dry run).
    pub ran_seq: Option<u64>,
    /// Wall time.
    pub duration_ms: u64,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A media file could not be read or deleted.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
}

fn blake3_of(path: &Path) -> std::io::Result<Option<String>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(blake3::hash(&b).to_hex().to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn remove(data_dir: &Path, files: &[DestroyedFile]) -> Result<u64, RunError> {
    let mut n = 0;
    for f in files {
        let path = data_dir.join(&f.path);
        match fs::remove_file(&path) {
            Ok(()) => n += 1,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(RunError::File { path, source }),
        }
    }
    Ok(n)
}

/// The planner's index: records held, media files, times of person detections.
type Index = (Vec<IndexedRecord>, Vec<Media>, Vec<UtcMicros>);

/// Read the planner's index from the store.
fn index(store: &Store) -> Result<Index, StoreError> {
    let mut records = Vec::new();
    let mut interesting = Vec::new();
    store.retention_index(1, |r| {
        if matches!(
            r.kind,
            EventKind::FrameCaptured | EventKind::TimelapseBuilt | EventKind::Detection
        ) {
            interesting.push(r.seq);
        }
        records.push(r);
        Ok(())
    })?;
    let mut media = Vec::new();
    let mut person = Vec::new();
    for seq in interesting {
        let Some(env) = store.get(seq)? else { continue };
        match env.payload {
            Event::FrameCaptured(f) => media.push(Media {
                seq,
                path: f.path,
                bytes: f.bytes,
            }),
            Event::TimelapseBuilt(t) => media.push(Media {
                seq,
                path: t.path,
                bytes: t.bytes,
            }),
            Event::Detection(d) if d.person_present => person.push(env.ts),
            _ => {}
        }
    }
    Ok((records, media, person))
}

/// One retention run (see the module docs).
pub fn run(
    store: &Store,
    policy: &RetentionConfig,
    classes: &ClassPolicy,
    free: &dyn FreeSpace,
    opts: &RunOptions,
) -> Result<RunReport, RunError> {
    let started = Instant::now();
    let mut report = RunReport {
        plan: Plan {
            purges: Vec::new(),
            exhausted: false,
            protected_bytes: 0,
            rules: 0,
            policy: String::new(),
        },
        destruction_seqs: Vec::new(),
        resumed: None,
        purged: 0,
        files_deleted: 0,
        bytes_freed: 0,
        exhausted_seq: None,
        ran_seq: None,
        duration_ms: 0,
    };
    if !opts.dry_run {
        if let Some((seq, step)) = store.resume_purge(opts.step_segments)? {
            report.resumed = Some(seq);
            report.purged += step.redacted;
            report.bytes_freed += step.bytes;
        }
        // Files of the latest purge that a crash left behind.
        if let Some((_, d)) = store.destruction_records()?.pop() {
            report.files_deleted += remove(&opts.data_dir, &d.files)?;
        }
    }
    let (records, media, person) = index(store)?;
    let disk = match policy.disk_floor_mb {
        Some(floor) => {
            let free_bytes = free
                .free_bytes(&opts.data_dir)
                .map_err(|source| RunError::File {
                    path: opts.data_dir.clone(),
                    source,
                })?;
            Some(DiskState {
                free_bytes,
                floor_bytes: floor << 20,
                target_bytes: policy.disk_target_mb.unwrap_or(floor) << 20,
            })
        }
        None => None,
    };
    let planned = plan(&PlanInput {
        policy,
        now: opts.now,
        records: &records,
        media: &media,
        person_at: &person,
        disk,
    });
    report.plan = planned.clone();
    if opts.dry_run {
        report.duration_ms = started.elapsed().as_millis() as u64;
        return Ok(report);
    }
    for p in &planned.purges {
        let (base_seq, anchor) = store.purge_base(&p.ranges)?;
        let mut files = Vec::with_capacity(p.files.len());
        for m in &p.files {
            let path = opts.data_dir.join(&m.path);
            let hash = blake3_of(&path).map_err(|source| RunError::File {
                path: path.clone(),
                source,
            })?;
            files.push(DestroyedFile {
                path: m.path.clone(),
                bytes: m.bytes,
                blake3: hash.unwrap_or_default(),
                seq: m.seq,
            });
        }
        let d = RecordsDestroyed {
            ranges: p.ranges.clone(),
            count: p.count,
            bytes: p.bytes,
            classes: p.classes.iter().map(|c| c.as_str().to_string()).collect(),
            kinds: p.kinds.iter().map(|k| k.name().to_string()).collect(),
            reason: p.reason.as_str().into(),
            policy: planned.policy.clone(),
            base_seq,
            anchor: anchor.to_vec(),
            files,
        };
        // Durable before anything is deleted: append returns only after the fsync.
        let env = store.append(&[NewEvent::new(opts.now, Source::Ops, d.clone())], classes)?;
        let seq = env.first().map_or(0, |e| e.seq);
        report.destruction_seqs.push(seq);
        let step = store.purge(&d, seq, opts.step_segments)?;
        report.purged += step.redacted;
        report.bytes_freed += step.bytes;
        let before = report.files_deleted;
        report.files_deleted += remove(&opts.data_dir, &d.files)?;
        report.bytes_freed += d
            .files
            .iter()
            .take((report.files_deleted - before) as usize)
            .map(|f| f.bytes)
            .sum::<u64>();
    }
    if planned.exhausted {
        if let Some(disk) = disk {
            let env = store.append(
                &[NewEvent::new(
                    opts.now,
                    Source::Ops,
                    StorageExhausted {
                        free_bytes: free.free_bytes(&opts.data_dir).unwrap_or(disk.free_bytes),
                        floor_bytes: disk.floor_bytes,
                        target_bytes: disk.target_bytes,
                        protected_bytes: planned.protected_bytes,
                    },
                )],
                classes,
            )?;
            report.exhausted_seq = env.first().map(|e| e.seq);
        }
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    let ran = RetentionRan {
        purged: report.purged,
        rules: planned.rules,
        dry_run: false,
        destruction_records: report.destruction_seqs.len() as u32,
        files_deleted: report.files_deleted,
        bytes_freed: report.bytes_freed,
        duration_ms: report.duration_ms,
    };
    let env = store.append(&[NewEvent::new(opts.now, Source::Ops, ran)], classes)?;
    report.ran_seq = env.first().map(|e| e.seq);
    Ok(report)
}
