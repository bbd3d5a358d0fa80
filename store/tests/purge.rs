//! Retention purge at the store level: redactions keep the chain verifiable, whole leading
//! segments go with a new base, reads skip redactions, a redaction without a destruction record
//! is a gap, exports before and after a purge verify.

use std::fs::File;
use std::path::Path;

use vigil_events::kinds::{LoadGenerated, RecordsDestroyed, SeqRange, WindowOpened};
use vigil_events::{ClassPolicy, EventKind, NewEvent, Source};
use vigil_store::{ExportFormat, Query, SeqStatus, Store, StoreOptions};

const T0: i64 = 1_780_286_400_000_000;
const MIN: i64 = 60_000_000;

/// seq n (1-based): a `WindowOpened` (audit) every 50th, `LoadGenerated` otherwise.
fn event(n: u64) -> NewEvent {
    let ts = T0 + n as i64 * MIN;
    if n.is_multiple_of(50) {
        NewEvent::new(
            ts,
            Source::Clock,
            WindowOpened {
                name: format!("w{n}"),
                start_us: ts,
                end_us: ts + MIN,
                local_start: String::new(),
                local_end: String::new(),
                timezone: "UTC".into(),
            },
        )
    } else {
        NewEvent::new(
            ts,
            Source::Ops,
            LoadGenerated {
                n,
                filler: vec![n as u8; 40],
            },
        )
    }
}

fn filled(dir: &Path, n: u64) -> Store {
    let s = Store::open(&dir.join("log"), StoreOptions::default()).expect("open");
    let policy = ClassPolicy::default();
    for chunk in (1..=n).collect::<Vec<_>>().chunks(100) {
        let batch: Vec<NewEvent> = chunk.iter().map(|&i| event(i)).collect();
        s.append(&batch, &policy).expect("append");
    }
    s
}

/// The `LoadGenerated` seqs up to `upto` as ranges.
fn load_ranges(upto: u64) -> Vec<SeqRange> {
    let mut out: Vec<SeqRange> = Vec::new();
    for seq in (1..=upto).filter(|s| !s.is_multiple_of(50)) {
        match out.last_mut() {
            Some(r) if r.to + 1 == seq => r.to = seq,
            _ => out.push(SeqRange { from: seq, to: seq }),
        }
    }
    out
}

/// Append the destruction record for `ranges`, then purge in small steps.
fn destroy(s: &Store, ranges: Vec<SeqRange>) -> u64 {
    let (base_seq, anchor) = s.purge_base(&ranges).expect("base");
    let count = ranges.iter().map(|r| r.to - r.from + 1).sum();
    let d = RecordsDestroyed {
        ranges,
        count,
        bytes: 0,
        classes: vec!["general".into()],
        kinds: vec!["LoadGenerated".into()],
        reason: "age".into(),
        policy: "general 1 d".into(),
        base_seq,
        anchor: anchor.to_vec(),
        files: Vec::new(),
    };
    let env = s
        .append(
            &[NewEvent::new(T0 + 10_000 * MIN, Source::Ops, d.clone())],
            &ClassPolicy::default(),
        )
        .expect("destruction record");
    let seq = env[0].seq;
    let done = s.purge(&d, seq, 2).expect("purge");
    assert_eq!(done.redacted, count);
    seq
}

#[test]
fn redactions_keep_the_chain_verifiable_and_reads_skip_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = filled(dir.path(), 1000);
    let before = dir.path().join("before.msgpack");
    s.export(ExportFormat::Msgpack, &before, 1)
        .expect("export before");
    // Every LoadGenerated up to 600: the audit events at 50, 100, ... stay, so only a first
    // segment ending before 50 can go whole; the rest become redactions.
    let dseq = destroy(&s, load_ranges(600));
    let r = s.verify();
    assert!(r.is_ok(), "{:?}", r.problem);
    let removed = r.first_seq - 1;
    assert!(removed < 50);
    assert_eq!(r.redacted + removed, 588);
    assert_eq!(r.destroyed_by, vec![(dseq, 588)]);
    assert_eq!(r.checked, 1001 - 588);
    assert_eq!(s.get(70).expect("get"), None);
    assert!(s.get(50).expect("get").is_some());
    match s.locate(70).expect("locate") {
        SeqStatus::Purged { by, in_log } => assert_eq!((by, in_log), (Some(dseq), true)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(s.locate(50).expect("locate"), SeqStatus::Held(_)));
    assert_eq!(s.locate(5000).expect("locate"), SeqStatus::NeverRecorded);
    let seqs: Vec<u64> = s.scan(1).map(|e| e.expect("scan").seq).collect();
    assert_eq!(seqs.len(), 1001 - 588);
    assert!(seqs.iter().all(|&q| q > 600 || q.is_multiple_of(50)));
    let q = Query {
        kind: Some(EventKind::LoadGenerated),
        limit: 10_000,
        ..Query::default()
    };
    let page = s.query(&q).expect("query");
    assert!(page.items.iter().all(|e| e.seq > 600));
    // A second run of the same purge does nothing more.
    assert_eq!(s.resume_purge(4).expect("resume"), None);
    // An export with redactions carries them as such and still chains to the same head.
    let after = dir.path().join("after.msgpack");
    let sum = s
        .export(ExportFormat::Msgpack, &after, 1)
        .expect("export after");
    assert_eq!((sum.count, sum.head), (1001 - removed, s.head()));
    // ... and the stranger's verifier (ops/tools/verify_export.py) accepts it.
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ops/tools/verify_export.py");
    let out = std::process::Command::new("python3")
        .arg(&tool)
        .arg(&after)
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains(&format!("({} redacted by retention)", 588 - removed)),
        "{text}"
    );
    // Reopened, the purge is still there and verifies.
    drop(s);
    let s = Store::open(&dir.path().join("log"), StoreOptions::default()).expect("reopen");
    let r = s.verify();
    assert!(r.is_ok() && r.redacted + removed == 588, "{r:?}");
    // The export taken before the purge imports into a new store and verifies.
    let new = tempfile::tempdir().expect("tmp");
    let target = new.path().join("log");
    let f = File::open(&before).expect("open export");
    Store::import_into(&target, StoreOptions::default(), f, &before).expect("import before");
    let imported = Store::open(&target, StoreOptions::default()).expect("open import");
    assert!(imported.verify().is_ok());
    assert_eq!(imported.last_seq(), 1000);
    // The export after the purge is refused by import, naming the redaction, nothing left.
    let target2 = new.path().join("log2");
    let f = File::open(&after).expect("open export");
    let err = Store::import_into(&target2, StoreOptions::default(), f, &after)
        .expect_err("redactions are not imported");
    assert!(err.to_string().contains("redaction"), "{err}");
    assert!(!target2.exists());
}

#[test]
fn whole_leading_segments_go_and_the_base_moves() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = filled(dir.path(), 1000);
    // Everything up to 400, audit events included (an operator purge of a test log).
    let ranges = vec![SeqRange { from: 1, to: 400 }];
    let (base, _) = s.purge_base(&ranges).expect("base");
    assert!(base > 300 && base <= 401, "base {base}");
    let dseq = destroy(&s, ranges);
    let r = s.verify();
    assert!(r.is_ok(), "{:?}", r.problem);
    assert_eq!(r.first_seq, base);
    assert_eq!(r.redacted, 401 - base);
    assert_eq!(r.destroyed_by, vec![(dseq, 400)]);
    assert_eq!(s.base().0, base);
    match s.locate(3).expect("locate") {
        SeqStatus::Purged { by, in_log } => assert_eq!((by, in_log), (Some(dseq), false)),
        other => panic!("{other:?}"),
    }
    let out = dir.path().join("x.msgpack");
    let sum = s.export(ExportFormat::Msgpack, &out, 1).expect("export");
    assert_eq!(sum.first_seq, base);
    drop(s);
    let s = Store::open(&dir.path().join("log"), StoreOptions::default()).expect("reopen");
    assert_eq!(s.base().0, base);
    assert!(s.verify().is_ok());
}

#[test]
fn a_redaction_without_a_destruction_record_is_a_gap() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = filled(dir.path(), 300);
    let ranges = vec![SeqRange { from: 120, to: 130 }];
    s.purge_step(&ranges, 1, 301, 120, 8).expect("step");
    let r = s.verify();
    let p = r
        .problem
        .expect("a redaction without a destruction record is reported");
    assert_eq!(p.seq, 120);
    assert!(p.detail.contains("no RecordsDestroyed"), "{p}");
    // A purge may not reach its own destruction record.
    assert!(s.purge_step(&ranges, 1, 125, 120, 8).is_err());
}

/// A crash after the destruction record was made durable but before (or during) the purge:
/// on reopen the record is there and `resume_purge` completes exactly that purge.
#[test]
fn a_purge_cut_after_its_destruction_record_is_completed_by_resume() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = filled(dir.path(), 600);
    let ranges = load_ranges(400);
    let (base_seq, anchor) = s.purge_base(&ranges).expect("base");
    let count: u64 = ranges.iter().map(|r| r.to - r.from + 1).sum();
    let d = RecordsDestroyed {
        ranges: ranges.clone(),
        count,
        bytes: 0,
        classes: vec!["general".into()],
        kinds: vec!["LoadGenerated".into()],
        reason: "age".into(),
        policy: "general 1 d".into(),
        base_seq,
        anchor: anchor.to_vec(),
        files: Vec::new(),
    };
    let env = s
        .append(
            &[NewEvent::new(T0 + 10_000 * MIN, Source::Ops, d.clone())],
            &ClassPolicy::default(),
        )
        .expect("destruction record");
    // Only the first step ran, then the process died (no checkpoint: sled unflushed).
    let first = s
        .purge_step(&d.ranges, d.base_seq, env[0].seq, 1, 1)
        .expect("one step");
    assert!(first.next.is_some());
    // What kill -9 leaves: the files as they are on disk now, without the lock.
    let crashed = tempfile::tempdir().expect("tmp");
    copy_dir(&dir.path().join("log"), &crashed.path().join("log"));
    std::fs::remove_file(crashed.path().join("log/vigil.lock")).ok();
    drop(s);
    let s = Store::open(&crashed.path().join("log"), StoreOptions::default()).expect("reopen");
    let (seq, _) = s
        .resume_purge(4)
        .expect("resume")
        .expect("something to finish");
    assert_eq!(seq, env[0].seq);
    let r = s.verify();
    assert!(r.is_ok(), "{:?}", r.problem);
    assert_eq!(r.redacted + (r.first_seq - 1), count);
    assert_eq!(s.resume_purge(4).expect("resume"), None);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}
