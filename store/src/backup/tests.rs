use std::fs;

use vigil_events::{ClassPolicy, NewEvent};

use super::*;
use crate::{synthetic_event, Store, StoreOptions};

fn store_with(dir: &std::path::Path, n: u64) -> Store {
    let s = Store::open(&dir.join("log"), StoreOptions::default()).expect("open");
    append(&s, n);
    s
}

fn append(s: &Store, n: u64) {
    let first = s.last_seq() + 1;
    let batch: Vec<NewEvent> = (first..first + n)
        .map(|i| synthetic_event(i, 1_780_286_400_000_000 + i as i64))
        .collect();
    s.append(&batch, &ClassPolicy::default()).expect("append");
}

fn src<'a>(s: &'a Store, data: &'a std::path::Path) -> BackupSource<'a> {
    BackupSource {
        store: s,
        data_dir: data,
        config: None,
        now_us: 1,
    }
}

#[test]
fn an_incremental_backup_carries_only_new_records_and_files_and_restores_whole() {
    let d = tempfile::tempdir().expect("tempdir");
    let data = d.path().join("data");
    let s = store_with(&data, 10);
    fs::create_dir_all(data.join("frames/day")).expect("mkdir");
    fs::write(data.join("frames/day/a.jpg"), b"frame a").expect("write");
    let root = d.path().join("bk");
    let one = make_backup(&root, &src(&s, &data)).expect("full");
    assert!(one.manifest.full);
    assert_eq!(
        (one.manifest.log.first_seq, one.manifest.log.last_seq),
        (1, 10)
    );
    append(&s, 5);
    fs::write(data.join("frames/day/b.jpg"), b"frame b").expect("write");
    let two = make_backup(&root, &src(&s, &data)).expect("incr");
    assert_eq!(
        (two.manifest.log.first_seq, two.manifest.log.last_seq),
        (11, 15)
    );
    let paths: Vec<_> = two.manifest.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["frames/day/b.jpg"]);
    let report = verify_backup(&root, None).expect("verifies");
    assert_eq!((report.increments.len(), report.last_seq()), (2, 15));
    let new = d.path().join("new");
    let r = restore_backup(&root, &new, None, false, 2).expect("restore");
    assert_eq!((r.last_seq, r.restored_seq, r.files), (15, 16, 2));
    assert_eq!(
        fs::read(new.join("frames/day/a.jpg")).expect("a"),
        b"frame a"
    );
    let back = Store::open(&new.join("log"), StoreOptions::existing()).expect("open");
    assert!(back.verify().is_ok());
    assert_eq!(back.get(12).expect("get"), s.get(12).expect("get"));
}

#[test]
fn a_changed_file_is_named_by_verify_and_a_foreign_directory_is_refused() {
    let d = tempfile::tempdir().expect("tempdir");
    let data = d.path().join("data");
    let s = store_with(&data, 3);
    fs::create_dir_all(data.join("videos")).expect("mkdir");
    fs::write(data.join("videos/v.mp4"), b"video").expect("write");
    let root = d.path().join("bk");
    let one = make_backup(&root, &src(&s, &data)).expect("full");
    fs::write(one.dir.join("files/videos/v.mp4"), b"vidE0").expect("write");
    let e = verify_backup(&root, None).expect_err("damaged");
    assert!(e.is_check_failed(), "{e}");
    assert!(e.to_string().contains("videos/v.mp4"), "{e}");
    let foreign = d.path().join("foreign");
    fs::create_dir_all(&foreign).expect("mkdir");
    fs::write(foreign.join("notes.txt"), b"x").expect("write");
    let e = make_backup(&foreign, &src(&s, &data)).expect_err("foreign");
    assert!(matches!(e, BackupError::NotABackupRoot { .. }), "{e}");
    assert_eq!(fs::read(foreign.join("notes.txt")).expect("kept"), b"x");
}

#[test]
fn a_failed_recovery_test_says_what_failed() {
    let d = tempfile::tempdir().expect("tempdir");
    let data = d.path().join("data");
    let s = store_with(&data, 4);
    let root = d.path().join("bk");
    let one = make_backup(&root, &src(&s, &data)).expect("full");
    let ok = recovery_test(&root, None, d.path(), 5);
    assert_eq!(
        (ok.failure.clone(), ok.last_seq, ok.increment),
        (None, 4, 1)
    );
    let log = one.dir.join(LOG_FILE);
    let bytes = fs::read(&log).expect("read");
    fs::write(&log, &bytes[..bytes.len() - 10]).expect("cut");
    let bad = recovery_test(&root, None, d.path(), 6);
    let why = bad.failure.clone().expect("failed");
    assert!(why.contains("log.msgpack"), "{why}");
    assert!(!bad.event().ok);
}
