//! Encryption at rest through the store: what reaches the disk, what reads show with and
//! without the key, and that the chain verifies without it.

use std::fs;
use std::path::{Path, PathBuf};

use vigil_events::kinds::LoadGenerated;
use vigil_events::{ClassPolicy, DataClass, Event, EventKind, NewEvent, Source};

use crate::seal::{key_id, write_secret_file};
use crate::*;

const MARKER: &[u8] = b"MARKER-clear-payload-7f3a";
const T0: i64 = 1_780_286_400_000_000;

fn core_policy() -> ClassPolicy {
    let mut p = ClassPolicy::default();
    p.raise(EventKind::LoadGenerated, DataClass::Core)
        .expect("raise");
    p
}

fn marked(n: u64) -> NewEvent {
    let mut filler = MARKER.to_vec();
    filler.extend_from_slice(&n.to_be_bytes());
    NewEvent::new(T0 + n as i64, Source::Ops, LoadGenerated { n, filler })
}

fn key(dir: &Path, name: &str, byte: u8) -> PathBuf {
    let p = dir.join(name);
    write_secret_file(&p, &[byte; 32]).expect("key");
    p
}

/// Every file under `dir` (sled's files, the journal, the watermark, everything).
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    files
        .into_iter()
        .filter(|f| {
            fs::read(f)
                .expect("read")
                .windows(needle.len())
                .any(|w| w == needle)
        })
        .collect()
}

/// Small batches (journal, key-by-key inserts) and large ones (threaded apply), a checkpoint
/// (sled flushed to its files) and an uncheckpointed tail (only in the journal).
fn write_marked(dir: &Path, opts: StoreOptions) {
    let s = Store::open(dir, opts).expect("open");
    let policy = core_policy();
    for i in 0..20 {
        s.append(&[marked(i + 1)], &policy).expect("append");
    }
    let big: Vec<_> = (21..=620).map(marked).collect();
    s.append(&big, &policy).expect("append big");
    s.checkpoint().expect("checkpoint");
    s.append(&[marked(621), marked(622)], &policy)
        .expect("append tail");
    // Leave the tail in the journal: no checkpoint at drop would hide it from the check.
    std::mem::forget(s);
}

#[test]
fn core_payloads_never_reach_the_disk_in_clear() {
    let tmp = tempfile::tempdir().expect("tmp");
    let enc = key(tmp.path(), "enc.key", 9);
    let dir = tmp.path().join("log");
    write_marked(&dir, StoreOptions::default().with_encryption_key_file(&enc));
    assert!(dir.join(JOURNAL).exists());
    assert_eq!(files_holding(&dir, MARKER), Vec::<PathBuf>::new());

    // The control: the same events without an encryption key are found by the same search,
    // in sled's files and in the journal.
    let clear_dir = tmp.path().join("clear");
    write_marked(&clear_dir, StoreOptions::default());
    let found = files_holding(&clear_dir, MARKER);
    assert!(found.iter().any(|f| f.ends_with(JOURNAL)), "{found:?}");
    assert!(
        found.iter().any(|f| f.starts_with(clear_dir.join(SLED))),
        "{found:?}"
    );
}

#[test]
fn sealed_payloads_read_as_encrypted_without_the_key_and_clear_with_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let enc = key(tmp.path(), "enc.key", 9);
    let dir = tmp.path().join("log");
    {
        let s = Store::open(&dir, StoreOptions::default().with_encryption_key_file(&enc))
            .expect("open");
        // Important events stay clear; LoadGenerated raised to core is sealed.
        let mut batch = vec![marked(1), marked(2)];
        batch.push(NewEvent::new(
            T0,
            Source::Clock,
            vigil_events::samples::sample(EventKind::WindowOpened),
        ));
        s.append(&batch, &core_policy()).expect("append");
    }
    let bare = Store::open(&dir, StoreOptions::existing()).expect("open without key");
    let all: Vec<_> = bare.scan(1).collect::<Result<_, _>>().expect("scan");
    assert!(all[0].is_sealed() && all[1].is_sealed() && !all[2].is_sealed());
    let json = envelope_json(&all[0]);
    assert_eq!(json["payload"], "<encrypted>");
    assert!(bare.get(2).expect("get").expect("held").is_sealed());
    let r = bare.verify();
    assert!(r.is_ok(), "{:?}", r.problem);
    assert_eq!((r.checked, r.sealed), (3, 2));
    drop(bare);

    let keyed = Store::open(
        &dir,
        StoreOptions::existing().with_encryption_key_file(&enc),
    )
    .expect("open with key");
    let all: Vec<_> = keyed.scan(1).collect::<Result<_, _>>().expect("scan");
    assert_eq!(all[0].payload, marked(1).event);
    let page = keyed
        .query(&Query {
            kind: Some(EventKind::LoadGenerated),
            ..Query::default()
        })
        .expect("query");
    assert_eq!(page.items[1].payload, marked(2).event);
    assert!(keyed.verify().is_ok());
    drop(keyed);

    // A wrong key: verify names the seq and the file; reads fail at the first sealed seq.
    let wrong = key(tmp.path(), "wrong.key", 8);
    let s = Store::open(
        &dir,
        StoreOptions::existing().with_encryption_key_file(&wrong),
    )
    .expect("opens: the header and chain need no key");
    let p = s.verify().problem.expect("problem");
    assert_eq!((p.seq, p.kind), (1, ProblemKind::Unsealable));
    assert!(p.detail.contains("wrong.key"), "{}", p.detail);
    let err = s.scan(1).next().expect("item").expect_err("wrong key");
    assert!(
        matches!(err, StoreError::Unsealable { seq: 1, .. }) && err.is_bad_input(),
        "{err}"
    );
    assert!(
        err.to_string().contains(&hex::encode(key_id(&[9; 32]))),
        "{err}"
    );
}

#[test]
fn a_payload_read_sealed_cannot_be_appended_again() {
    let tmp = tempfile::tempdir().expect("tmp");
    let s = Store::open(&tmp.path().join("log"), StoreOptions::default()).expect("open");
    let sealed = NewEvent::new(
        T0,
        Source::Ops,
        Event::Sealed(vigil_events::SealedPayload {
            kind: EventKind::LoadGenerated,
            sealed: vec![0; 48],
        }),
    );
    let err = s
        .append(&[sealed], &ClassPolicy::default())
        .expect_err("refused");
    assert!(err.to_string().contains("<encrypted>"), "{err}");
    assert_eq!(s.last_seq(), 0);
}

#[test]
fn the_same_file_as_chain_key_and_encryption_key_is_refused() {
    let tmp = tempfile::tempdir().expect("tmp");
    let k = key(tmp.path(), "one.key", 3);
    let err = Store::open(
        &tmp.path().join("log"),
        StoreOptions::default()
            .with_key_file(&k)
            .with_encryption_key_file(&k),
    )
    .expect_err("refused")
    .to_string();
    assert!(
        err.contains("one.key") && err.contains("two separate"),
        "{err}"
    );
    assert!(!tmp.path().join("log").exists());
}
