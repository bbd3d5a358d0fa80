//! Unit tests of the sled backend.

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use vigil_events::samples::sample;
use vigil_events::{ClassPolicy, DataClass, EventKind, NewEvent, Source};

use crate::*;

const HOUR: i64 = 3_600_000_000;
const T0: i64 = 1_780_286_400_000_000;

/// Deterministic xorshift.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const KINDS: [(Source, EventKind); 6] = [
    (Source::Clock, EventKind::WindowOpened),
    (Source::Clock, EventKind::WindowClosed),
    (Source::Camera, EventKind::FrameCaptured),
    (Source::Pico, EventKind::ThermalFrame),
    (Source::Esp32, EventKind::PowerSwitched),
    (Source::Ops, EventKind::LoadGenerated),
];

/// `n` events over ~`hours` hours, ts mostly increasing with some late (older) ones.
fn events(rng: &mut Rng, n: usize, start: i64, hours: i64) -> Vec<NewEvent> {
    let step = hours * HOUR / n.max(1) as i64;
    (0..n)
        .map(|i| {
            let (src, kind) = KINDS[rng.below(KINDS.len() as u64) as usize];
            let mut ts = start + i as i64 * step;
            if rng.below(10) == 0 {
                ts -= rng.below(3 * HOUR as u64) as i64; // delivered late
            }
            NewEvent::new(ts, src, sample(kind))
        })
        .collect()
}

fn open(dir: &Path) -> Store {
    Store::open(dir, StoreOptions::default()).expect("open")
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[test]
fn store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store>();
    check::<Scan>();
    check::<RawScan>();
}

#[test]
fn append_returns_dense_chained_envelopes_and_survives_reopen() {
    let d = tmp();
    let dir = d.path().join("log");
    let policy = ClassPolicy::default();
    let mut rng = Rng(1);
    let evs = events(&mut rng, 300, T0, 2);
    let (head, last) = {
        let s = open(&dir);
        assert_eq!((s.last_seq(), s.head()), (0, [0; 32]));
        let a = s.append(&evs[..1], &policy).expect("append 1");
        let b = s.append(&evs[1..], &policy).expect("append rest");
        assert_eq!(a[0].seq, 1);
        assert_eq!(a[0].prev, [0; 32]);
        let all: Vec<_> = a.into_iter().chain(b).collect();
        for (i, e) in all.iter().enumerate() {
            assert_eq!(e.seq, i as u64 + 1);
            let bytes = evs[i].encode(e.seq, policy.class_for(evs[i].kind()));
            assert_eq!(e.hash, chain_hash(None, &e.prev, e.seq, &bytes));
            if i > 0 {
                assert_eq!(e.prev, all[i - 1].hash);
            }
            assert_eq!(s.get(e.seq).expect("get").as_ref(), Some(e));
        }
        assert_eq!(s.get(0).expect("get 0"), None);
        assert_eq!(s.get(301).expect("get 301"), None);
        (s.head(), s.last_seq())
    };
    let s = open(&dir);
    assert_eq!((s.head(), s.last_seq()), (head, 300));
    assert_eq!(last, 300);
    let scanned: Vec<_> = s.scan(1).collect::<Result<_, _>>().expect("scan");
    assert_eq!(scanned.len(), 300);
    let from_mid: Vec<u64> = s.scan(150).map(|e| e.expect("scan").seq).collect();
    assert_eq!(from_mid, (150..=300).collect::<Vec<_>>());
    let raw: Vec<_> = s.scan_raw(299).collect::<Result<_, _>>().expect("raw");
    assert_eq!(raw.len(), 2);
    assert_eq!(raw[1].hash, head);
    let more = s.append(&evs[..3], &policy).expect("append after reopen");
    assert_eq!(more[0].seq, 301);
    assert_eq!(more[0].prev, head);
    assert!(s.verify().is_ok(), "{:?}", s.verify());
}

#[test]
fn class_policy_is_applied_and_stored() {
    let d = tmp();
    let s = open(d.path());
    let mut policy = ClassPolicy::default();
    policy
        .raise(EventKind::FrameCaptured, DataClass::Core)
        .expect("raise");
    let ev = NewEvent::new(T0, Source::Camera, sample(EventKind::FrameCaptured));
    let out = s.append(&[ev], &policy).expect("append");
    assert_eq!(out[0].class, DataClass::Core);
    assert_eq!(
        s.get(1).expect("get").map(|e| e.class),
        Some(DataClass::Core)
    );
}

fn brute(all: &[vigil_events::Envelope], q: &Query) -> Vec<u64> {
    let mut v: Vec<u64> = all
        .iter()
        .filter(|e| q.since.is_none_or(|s| e.ts >= s))
        .filter(|e| q.until.is_none_or(|u| e.ts < u))
        .filter(|e| q.source.is_none_or(|s| e.source == s))
        .filter(|e| q.kind.is_none_or(|k| e.kind == k))
        .filter(|e| q.class.is_none_or(|c| e.class == c))
        .map(|e| e.seq)
        .collect();
    if q.backward {
        v.reverse();
    }
    v
}

fn all_pages(s: &Store, q: &Query) -> Vec<u64> {
    let mut q = q.clone();
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let page = s.query(&q).expect("query");
        assert!(page.items.len() <= q.limit);
        out.extend(page.items.iter().map(|e| e.seq));
        match page.next_cursor {
            Some(c) => {
                assert_eq!(page.items.len(), q.limit, "a cursor only after a full page");
                q.cursor = Some(c);
            }
            None => return out,
        }
    }
    panic!("paging did not end");
}

#[test]
fn queries_match_a_brute_force_filter_with_late_events_and_paging() {
    let d = tmp();
    let s = open(d.path());
    let policy = ClassPolicy::default();
    let mut rng = Rng(7);
    let mut all = Vec::new();
    for b in 0..12 {
        let n = 1 + rng.below(400) as usize;
        let evs = events(&mut rng, n, T0 + b * 2 * HOUR, 2);
        all.extend(s.append(&evs, &policy).expect("append"));
    }
    let mut queries = vec![Query::default()];
    for _ in 0..60 {
        let since = T0 - HOUR + rng.below(26 * HOUR as u64) as i64;
        let len = 1 + rng.below(3 * HOUR as u64) as i64;
        let (src, kind) = KINDS[rng.below(KINDS.len() as u64) as usize];
        let mut q = Query {
            since: (rng.below(5) != 0).then_some(since),
            until: (rng.below(5) != 0).then_some(since + len),
            limit: 1 + rng.below(150) as usize,
            backward: rng.below(2) == 0,
            ..Query::default()
        };
        match rng.below(5) {
            0 => q.source = Some(src),
            1 => q.kind = Some(kind),
            2 => {
                q.source = Some(src);
                q.kind = Some(kind);
            }
            3 => q.class = Some(kind.default_class()),
            _ => {}
        }
        queries.push(q);
    }
    for q in &queries {
        assert_eq!(all_pages(&s, q), brute(&all, q), "{q:?}");
    }
    // The items carry the stored envelopes.
    let page = s
        .query(&Query {
            kind: Some(EventKind::PowerSwitched),
            limit: 3,
            ..Query::default()
        })
        .expect("query");
    for e in &page.items {
        assert_eq!(Some(e), all.get(e.seq as usize - 1));
    }
}

#[test]
fn bad_queries_are_refused() {
    let d = tmp();
    let s = open(d.path());
    let zero = Query {
        limit: 0,
        ..Query::default()
    };
    assert!(matches!(s.query(&zero), Err(StoreError::BadQuery(_))));
    let inverted = Query {
        since: Some(10),
        until: Some(10),
        ..Query::default()
    };
    assert!(matches!(s.query(&inverted), Err(StoreError::BadQuery(_))));
    let page = s.query(&Query::default()).expect("empty store");
    assert!(page.items.is_empty() && page.next_cursor.is_none());
}

fn filled(dir: &Path, n: usize) -> Store {
    let s = open(dir);
    let mut rng = Rng(3);
    let evs = events(&mut rng, n, T0, 3);
    s.append(&evs, &ClassPolicy::default()).expect("append");
    s
}

/// Rewrite the segment holding `seq` through `f` (test-only tampering).
fn tamper(s: &Store, seq: u64, f: impl FnOnce(u64, &mut Vec<u8>)) {
    let (first, v) = s.segment_of(seq).expect("lookup").expect("segment");
    let mut v = v.to_vec();
    f(first, &mut v);
    s.db.insert(keys::seg(first), v).expect("insert");
}

/// Byte offset of record `seq`'s bytes within its segment value.
fn record_offset(first: u64, value: &[u8], seq: u64) -> (usize, usize) {
    let seg = segment::Segment::decode(first, value).expect("decodes");
    let r = seg.records[(seq - first) as usize];
    let start = r.bytes.as_ptr() as usize - value.as_ptr() as usize;
    (start, r.bytes.len())
}

#[test]
fn verify_names_the_first_bad_seq_for_each_kind_of_damage() {
    // Flipped payload byte: hash mismatch at that seq.
    let d = tmp();
    let s = filled(d.path(), 500);
    assert!(s.verify().is_ok());
    tamper(&s, 123, |first, v| {
        let (at, len) = record_offset(first, v, 123);
        v[at + len - 1] ^= 1;
    });
    let p = s.verify().problem.expect("problem");
    assert_eq!((p.seq, p.kind), (123, ProblemKind::HashMismatch), "{p}");
    let err = s.scan(1).find_map(|r| r.err()).expect("scan fails");
    assert!(err.to_string().contains("seq 123"), "{err}");

    // Rehashed but undecodable record: undecodable at that seq.
    let d = tmp();
    let s = filled(d.path(), 500);
    tamper(&s, 200, |first, v| {
        let (at, len) = record_offset(first, v, 200);
        let seg = segment::Segment::decode(first, v).expect("decodes");
        let prev = seg.records[(200 - first) as usize].prev;
        v[at] = 0x93; // array of 3, not 8
        let h = chain_hash(None, &prev, 200, &v[at..at + len]);
        // Rewrite this record's hash and chain the rest of the segment from it.
        let hash_at = at - 32;
        v[hash_at..at].copy_from_slice(&h);
    });
    let p = s.verify().problem.expect("problem");
    assert_eq!(p.seq, 200, "{p}");
    assert!(
        matches!(p.kind, ProblemKind::Undecodable | ProblemKind::HashMismatch),
        "{p}"
    );

    // Missing segment: gap.
    let d = tmp();
    let s = filled(d.path(), 500);
    let (first, _) = s.segment_of(300).expect("lookup").expect("seg");
    s.db.remove(keys::seg(first)).expect("remove");
    let p = s.verify().problem.expect("problem");
    assert_eq!((p.seq, p.kind), (first, ProblemKind::Gap), "{p}");

    // Missing and extra index entries: index disagreement naming the segment.
    let d = tmp();
    let s = filled(d.path(), 500);
    let (first, _) = s.segment_of(250).expect("lookup").expect("seg");
    let k =
        s.db.scan_prefix([keys::TIME])
            .keys()
            .map(|k| k.expect("key"))
            .find(|k| keys::parse_time(k).is_some_and(|(_, sg)| sg == first))
            .expect("time key");
    s.db.remove(k).expect("remove");
    let p = s.verify().problem.expect("problem");
    assert_eq!(
        (p.seq, p.kind),
        (first, ProblemKind::IndexDisagreement),
        "{p}"
    );
    let d = tmp();
    let s = filled(d.path(), 500);
    let (first, _) = s.segment_of(400).expect("lookup").expect("seg");
    s.db.insert(keys::sk(Source::Gpio, EventKind::GpioEdge, first), &[])
        .expect("insert");
    let p = s.verify().problem.expect("problem");
    assert_eq!(
        (p.seq, p.kind),
        (first, ProblemKind::IndexDisagreement),
        "{p}"
    );
}

#[test]
fn inconsistent_head_is_refused_at_open() {
    let d = tmp();
    {
        let s = filled(d.path(), 100);
        s.db.insert(keys::HEAD, &keys::head_value(99, &[1; 32])[..])
            .expect("insert");
        s.db.flush().expect("flush");
    }
    let err = Store::open(d.path(), StoreOptions::default()).expect_err("refused");
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("sled"), "{err}");
}

#[test]
fn a_log_tail_dropped_by_sled_is_detected_at_open() {
    let d = tmp();
    let (seq, hash) = {
        let s = filled(d.path(), 300);
        (s.last_seq(), s.head())
    };
    // What sled does when it meets a damaged region: recover a consistent prefix. Simulate it
    // by making the watermark claim more than the log holds, then a different hash.
    let wm = d.path().join(open::WATERMARK);
    fs::write(&wm, store::watermark_encode(seq + 5, &hash)).expect("write");
    let err = Store::open(d.path(), StoreOptions::default()).expect_err("refused");
    assert!(
        err.to_string().contains("seq 305 was acknowledged"),
        "{err}"
    );
    fs::write(&wm, store::watermark_encode(seq, &[9; 32])).expect("write");
    let err = Store::open(d.path(), StoreOptions::default()).expect_err("refused");
    assert!(
        err.to_string().contains("not the one acknowledged"),
        "{err}"
    );
    fs::write(&wm, store::watermark_encode(seq - 100, &[9; 32])).expect("write");
    assert!(Store::open(d.path(), StoreOptions::default()).is_err());
    fs::write(&wm, b"torn").expect("write");
    let s = Store::open(d.path(), StoreOptions::default()).expect("torn watermark is ignored");
    assert_eq!(s.head(), hash);
}

fn listing(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn second_open_is_locked_and_names_the_lock_file() {
    let d = tmp();
    let _s = open(d.path());
    let err = Store::open(d.path(), StoreOptions::default()).expect_err("locked");
    match &err {
        StoreError::Locked { path } => assert!(path.ends_with(LOCK)),
        other => panic!("{other}"),
    }
    assert!(err.is_bad_input());
}

#[test]
fn foreign_files_are_refused_without_touching_anything() {
    let d = tmp();
    fs::write(d.path().join("notes.txt"), "hello").expect("write");
    let before = listing(d.path());
    let err = Store::open(d.path(), StoreOptions::default()).expect_err("refused");
    assert!(matches!(err, StoreError::NotAStore { .. }), "{err}");
    assert!(err.to_string().contains("notes.txt"), "{err}");
    assert_eq!(listing(d.path()), before);

    let d = tmp();
    drop(filled(d.path(), 10));
    fs::write(d.path().join("stray.db"), "x").expect("write");
    let before = listing(d.path());
    let err = Store::open(d.path(), StoreOptions::default()).expect_err("refused");
    match &err {
        StoreError::Foreign { path } => assert!(path.ends_with("stray.db")),
        other => panic!("{other}"),
    }
    assert_eq!(listing(d.path()), before);

    let d = tmp();
    fs::write(d.path().join(MARKER), "SQLite format 3\0").expect("write");
    let err = Store::open(d.path(), StoreOptions::default()).expect_err("refused");
    assert!(err.to_string().contains(MARKER), "{err}");

    let d = tmp();
    let missing = d.path().join("nope");
    let err = Store::open(&missing, StoreOptions::existing()).expect_err("missing");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
    assert!(!missing.exists());
}

fn key_file(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> std::path::PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).expect("write key");
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).expect("chmod");
    p
}

#[test]
fn keyed_chain_uses_keyed_blake3_and_key_files_are_checked() {
    let d = tmp();
    let keys_dir = tmp();
    let good = key_file(keys_dir.path(), "good", &[5; 32], 0o600);
    let other = key_file(keys_dir.path(), "other", &[6; 32], 0o600);
    let open_readable = key_file(keys_dir.path(), "readable", &[5; 32], 0o644);
    let short = key_file(keys_dir.path(), "short", &[5; 31], 0o600);
    let dir = d.path().join("log");
    {
        let s = Store::open(&dir, StoreOptions::default().with_key_file(&good)).expect("open");
        let ev = NewEvent::new(T0, Source::Ops, sample(EventKind::ConfigLoaded));
        let out = s
            .append(std::slice::from_ref(&ev), &ClassPolicy::default())
            .expect("append");
        let bytes = ev.encode(1, DataClass::Important);
        assert_eq!(out[0].hash, chain_hash(Some(&[5; 32]), &[0; 32], 1, &bytes));
        assert_ne!(out[0].hash, chain_hash(None, &[0; 32], 1, &bytes));
        assert!(s.verify().is_ok());
    }
    for (opts, needle) in [
        (StoreOptions::default().with_key_file(&other), "not the key"),
        (
            StoreOptions::default().with_key_file(&open_readable),
            "chmod 600",
        ),
        (StoreOptions::default().with_key_file(&short), "31 bytes"),
        (StoreOptions::default(), "keyed"),
    ] {
        let err = Store::open(&dir, opts).expect_err("refused");
        assert!(matches!(err, StoreError::KeyFile { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
    }
    let plain = d.path().join("plain");
    drop(open(&plain));
    let err = Store::open(&plain, StoreOptions::default().with_key_file(&good)).expect_err("x");
    assert!(err.to_string().contains("without a key"), "{err}");
}

#[test]
fn export_import_reproduces_identical_hashes() {
    let d = tmp();
    let s = filled(&d.path().join("a"), 700);
    let out = d.path().join("x.msgpack");
    let sum = s.export(ExportFormat::Msgpack, &out, 1).expect("export");
    assert_eq!((sum.first_seq, sum.last_seq, sum.count), (1, 700, 700));
    let b = open(&d.path().join("b"));
    let f = fs::File::open(&out).expect("open export");
    let imp = b.import_msgpack(f, &out).expect("import");
    assert_eq!(imp, sum);
    assert_eq!((b.last_seq(), b.head()), (s.last_seq(), s.head()));
    let a_all: Vec<_> = s.scan(1).map(|e| e.expect("a")).collect();
    let b_all: Vec<_> = b.scan(1).map(|e| e.expect("b")).collect();
    assert_eq!(a_all, b_all);
    assert!(b.verify().is_ok());
    // A second import into the now non-empty store is refused.
    let f = fs::File::open(&out).expect("open export");
    assert!(matches!(
        b.import_msgpack(f, &out),
        Err(StoreError::NotEmpty { .. })
    ));

    // A partial export (from seq 301) imports with its anchor and verifies.
    let part = d.path().join("part.msgpack");
    let sum = s.export(ExportFormat::Msgpack, &part, 301).expect("export");
    assert_eq!((sum.first_seq, sum.count), (301, 400));
    let c = open(&d.path().join("c"));
    c.import_msgpack(fs::File::open(&part).expect("open"), &part)
        .expect("import partial");
    assert_eq!(c.base(), (301, a_all[299].hash));
    assert_eq!(c.head(), s.head());
    assert!(c.verify().is_ok(), "{:?}", c.verify());
    assert_eq!(c.get(301).expect("get"), Some(a_all[300].clone()));
    assert_eq!(c.get(300).expect("get"), None);
    drop(c);
    let c = open(&d.path().join("c"));
    assert_eq!(c.base(), (301, a_all[299].hash));
    assert!(c.verify().is_ok());

    // jsonl: one line per event.
    let j = d.path().join("x.jsonl");
    s.export(ExportFormat::Jsonl, &j, 1).expect("jsonl");
    let text = fs::read_to_string(&j).expect("read");
    assert_eq!(text.lines().count(), 700);
    let first: serde_json::Value =
        serde_json::from_str(text.lines().next().expect("line")).expect("json");
    assert_eq!(first["seq"], 1);
}

#[test]
fn broken_export_is_refused_and_nothing_is_imported() {
    let d = tmp();
    let s = filled(&d.path().join("a"), 300);
    let out = d.path().join("x.msgpack");
    s.export(ExportFormat::Msgpack, &out, 1).expect("export");
    let good = fs::read(&out).expect("read");
    // Flip a byte near the end (inside a late record) and truncate another copy.
    let mut flipped = good.clone();
    let at = flipped.len() - 20;
    flipped[at] ^= 0x40;
    let truncated = good[..good.len() - 7].to_vec();
    for (name, bytes) in [
        ("flipped", flipped),
        ("truncated", truncated),
        ("foreign", b"PK\x03\x04 zip".to_vec()),
    ] {
        let p = d.path().join(name);
        fs::write(&p, &bytes).expect("write");
        let b = open(&d.path().join(format!("b-{name}")));
        let err = b
            .import_msgpack(fs::File::open(&p).expect("open"), &p)
            .expect_err("refused");
        assert!(matches!(err, StoreError::BadExport { .. }), "{name}: {err}");
        assert!(err.to_string().contains(name), "{err}");
        if name != "foreign" {
            assert!(err.to_string().contains("seq 300"), "{name}: {err}");
        }
        assert_eq!(b.last_seq(), 0, "{name}: nothing imported");
    }
}

#[test]
fn readers_run_while_a_writer_appends() {
    let d = tmp();
    let s = std::sync::Arc::new(open(d.path()));
    let writer = {
        let s = s.clone();
        std::thread::spawn(move || {
            let mut rng = Rng(11);
            for i in 0..20 {
                let evs = events(&mut rng, 50, T0 + i * HOUR, 1);
                s.append(&evs, &ClassPolicy::default()).expect("append");
            }
        })
    };
    let mut seen = 0;
    while seen < 1000 {
        let last = s.last_seq();
        let mut n = 0u64;
        for e in s.scan(1) {
            e.expect("scan");
            n += 1;
        }
        assert!(n >= last, "scan saw {n} < {last}");
        seen = last;
    }
    writer.join().expect("writer");
    assert!(s.verify().is_ok());
}

fn copy_store(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_store(&e.path(), &target);
        } else if e.file_name() != LOCK {
            fs::copy(e.path(), &target).expect("copy");
        }
    }
}

#[test]
fn the_journal_re_applies_acknowledged_batches_that_sled_lost() {
    let d = tmp();
    let snaps = tmp();
    let (empty, at100) = (snaps.path().join("empty"), snaps.path().join("at100"));
    let policy = ClassPolicy::default();
    let mut rng = Rng(5);
    drop(open(d.path()));
    copy_store(d.path(), &empty);
    {
        let s = open(d.path());
        s.append(&events(&mut rng, 100, T0, 1), &policy)
            .expect("append");
    } // clean close: checkpoint, journal emptied
    copy_store(d.path(), &at100);
    let journal = d.path().join(journal::JOURNAL);
    let wm = d.path().join(open::WATERMARK);
    let (head, j, w) = {
        let s = open(d.path());
        s.append(&events(&mut rng, 30, T0 + HOUR, 1), &policy)
            .expect("append");
        s.append(&events(&mut rng, 20, T0 + 2 * HOUR, 1), &policy)
            .expect("append");
        assert_eq!(s.last_seq(), 150);
        // What a crash leaves when sled had not written the two batches yet: sled at 100,
        // the journal and the watermark as they are now.
        (
            s.head(),
            fs::read(&journal).expect("journal"),
            fs::read(&wm).expect("wm"),
        )
    };
    let crashed = snaps.path().join("crashed");
    copy_store(&at100, &crashed);
    fs::write(crashed.join(journal::JOURNAL), &j).expect("write");
    fs::write(crashed.join(open::WATERMARK), &w).expect("write");
    {
        let s = open(&crashed);
        assert_eq!((s.last_seq(), s.head()), (150, head));
        assert!(s.verify().is_ok(), "{:?}", s.verify());
        let all = s.scan(1).collect::<Result<Vec<_>, _>>().expect("scan");
        assert_eq!(all.len(), 150);
        s.append(&events(&mut rng, 5, T0 + 3 * HOUR, 1), &policy)
            .expect("the chain continues");
    }
    assert_eq!(open(&crashed).last_seq(), 155);

    // A journal that does not continue sled's log: acknowledged records are lost for good.
    fs::write(empty.join(journal::JOURNAL), &j).expect("write");
    for _ in 0..2 {
        let err = Store::open(&empty, StoreOptions::default()).expect_err("gap");
        assert!(
            err.to_string().contains("journal continues at seq 101"),
            "{err}"
        );
        // Nothing re-applied, the journal kept: the second open fails the same way.
        assert!(fs::read(empty.join(journal::JOURNAL)).expect("journal") == j);
    }

    // A torn journal (its first frame damaged): nothing to re-apply, and the watermark says
    // what was acknowledged.
    let torn = snaps.path().join("torn");
    copy_store(&at100, &torn);
    let mut bad = j.clone();
    bad[100] ^= 1;
    fs::write(torn.join(journal::JOURNAL), &bad).expect("write");
    fs::write(torn.join(open::WATERMARK), &w).expect("write");
    let err = Store::open(&torn, StoreOptions::default()).expect_err("lost");
    assert!(
        err.to_string().contains("seq 150 was acknowledged"),
        "{err}"
    );
}

#[test]
fn keys_a_crash_left_beyond_the_head_are_removed_at_open() {
    let d = tmp();
    {
        let s = filled(d.path(), 100);
        // What sled may hold after a crash in the middle of a batch's inserts: a segment and
        // index entries of seq 101 but no head for it (the batch was never acknowledged).
        s.db.insert(keys::seg(101), &b"partial"[..])
            .expect("insert");
        s.db.insert(keys::time(keys::bucket(T0), 101), &[][..])
            .expect("insert");
        s.db.insert(
            keys::sk(Source::Ops, EventKind::LoadGenerated, 101),
            &[][..],
        )
        .expect("insert");
        s.db.flush().expect("flush");
    }
    let s = open(d.path());
    assert_eq!(s.last_seq(), 100);
    assert!(s.verify().is_ok(), "{:?}", s.verify());
    assert!(s.db.get(keys::seg(101)).expect("get").is_none());
    let mut rng = Rng(9);
    let envs = s
        .append(&events(&mut rng, 3, T0, 1), &ClassPolicy::default())
        .expect("append");
    assert_eq!(envs[0].seq, 101);
    assert!(s.verify().is_ok(), "{:?}", s.verify());
}

#[test]
fn long_scans_read_on_a_second_thread_with_the_same_results_and_errors() {
    let d = tmp();
    let s = open(d.path());
    let mut rng = Rng(11);
    let evs = events(&mut rng, 12_000, T0, 24);
    let envs = s.append(&evs, &ClassPolicy::default()).expect("append");
    let scanned = s.scan(1).collect::<Result<Vec<_>, _>>().expect("scan");
    assert!(scanned == envs, "the piped scan returns what was appended");
    let tail = s.scan(3000).collect::<Result<Vec<_>, _>>().expect("scan");
    assert_eq!(tail.first().map(|e| e.seq), Some(3000));
    assert_eq!(tail.len(), 12_000 - 2999);
    // Stopping early leaves nothing hanging.
    assert_eq!(s.scan(1).take(5).count(), 5);
    tamper(&s, 9000, |first, v| {
        let (start, _) = record_offset(first, v, 9000);
        v[start + 3] ^= 1;
    });
    let mut it = s.scan(1);
    let got: Vec<_> = it.by_ref().take_while(|r| r.is_ok()).collect();
    // Hashes are checked a segment at a time: the records before 9000 in its segment are not
    // returned either (as in the single-threaded scan).
    assert!((8999 - 64..=8999).contains(&got.len()), "{}", got.len());
    assert!(it.next().is_none(), "nothing after the error");
    let err = s.scan(1).find_map(|r| r.err()).expect("error");
    assert!(err.to_string().contains("seq 9000"), "{err}");
}

#[test]
fn large_time_range_pages_match_a_brute_force_filter() {
    let d = tmp();
    let s = open(d.path());
    let policy = ClassPolicy::default();
    let mut rng = Rng(13);
    let mut all = Vec::new();
    for b in 0..6 {
        // Batches of 100: many small segments, so a few hours name well over 16 of them.
        for c in 0..20 {
            let evs = events(&mut rng, 100, T0 + b * 4 * HOUR + c * HOUR / 5, 1);
            all.extend(s.append(&evs, &policy).expect("append"));
        }
    }
    for (since, len, limit, backward) in [
        (T0, 6 * HOUR, 100_000, false),
        (T0 + HOUR, 9 * HOUR, 100_000, true),
        (T0 + 2 * HOUR, 12 * HOUR, 1000, false),
        (T0 + 3 * HOUR, 5 * HOUR, 1000, true),
    ] {
        let q = Query {
            since: Some(since),
            until: Some(since + len),
            limit,
            backward,
            ..Query::default()
        };
        let want = brute(&all, &q);
        assert!(want.len() > 1000, "the case reads many segments");
        assert_eq!(all_pages(&s, &q), want, "{q:?}");
    }
    // A page that fills early; the items are the stored envelopes.
    let page = s
        .query(&Query {
            since: Some(T0),
            until: Some(T0 + 20 * HOUR),
            limit: 1000,
            ..Query::default()
        })
        .expect("query");
    assert_eq!(page.items.len(), 1000);
    for e in &page.items {
        assert_eq!(Some(e), all.get(e.seq as usize - 1));
    }
}

/// Every file under `dir` with its bytes and modification time.
fn file_states(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let m = e.metadata().expect("meta");
            if m.is_dir() {
                stack.push(e.path());
                out.push((e.path(), Vec::new(), m.modified().expect("mtime")));
            } else {
                let bytes = fs::read(e.path()).expect("read");
                out.push((e.path(), bytes, m.modified().expect("mtime")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_read_only_open_of_a_crashed_store_sees_the_journal_and_writes_nothing() {
    let d = tmp();
    let snaps = tmp();
    let at100 = snaps.path().join("at100");
    let policy = ClassPolicy::default();
    let mut rng = Rng(11);
    {
        let s = open(d.path());
        s.append(&events(&mut rng, 100, T0, 1), &policy)
            .expect("append");
    }
    copy_store(d.path(), &at100);
    let (j, w) = {
        let s = open(d.path());
        s.append(&events(&mut rng, 40, T0 + HOUR, 1), &policy)
            .expect("append");
        (
            fs::read(d.path().join(journal::JOURNAL)).expect("journal"),
            fs::read(d.path().join(open::WATERMARK)).expect("wm"),
        )
    };
    let crashed = snaps.path().join("crashed");
    copy_store(&at100, &crashed);
    fs::write(crashed.join(journal::JOURNAL), &j).expect("write");
    fs::write(crashed.join(open::WATERMARK), &w).expect("write");
    let _ = fs::remove_file(crashed.join(open::LOCK));
    let before = file_states(&crashed);
    {
        let s = Store::open(&crashed, StoreOptions::existing()).expect("read-only open");
        assert!(s.is_read_only());
        assert_eq!(
            s.last_seq(),
            140,
            "the journal's acknowledged batches are seen"
        );
        assert!(s.verify().is_ok(), "{:?}", s.verify());
        assert_eq!(s.scan(1).count(), 140);
        let r = s.recovery();
        assert_eq!((r.sled_last_seq, r.reapplied), (100, Some((101, 140))));
        let err = s
            .append(&events(&mut rng, 1, T0, 1), &policy)
            .expect_err("read-only");
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
        assert!(matches!(s.checkpoint(), Err(StoreError::ReadOnly { .. })));
        let out = snaps.path().join("x.msgpack");
        let sum = s.export(ExportFormat::Msgpack, &out, 1).expect("export");
        assert_eq!((sum.count, sum.trailer), (140, true));
    }
    assert_eq!(
        file_states(&crashed),
        before,
        "a read-only open changed the store"
    );
    assert!(!crashed.join(open::LOCK).exists(), "no lock file created");
    // A writing open re-applies and says so.
    let s = open(&crashed);
    assert_eq!(s.recovery().reapplied, Some((101, 140)));
    drop(s);
    assert!(open(&crashed).recovery().is_clean());
}

#[test]
fn sled_read_errors_name_the_file_and_the_offset_not_rust_debug_format() {
    let e = sled::Error::Corruption {
        at: Some(sled::DiskPtr::Inline(4_437_109)),
        bt: (),
    };
    assert_eq!(
        crate::error::describe_sled(Path::new("/st/log/sled"), &e),
        "/st/log/sled/db is damaged: sled found corrupt data at byte offset 4437109 of its log file `db`"
    );
    assert_eq!(
        crate::error::read_failure_advice(1, 901, 2000),
        "the log is readable up to seq 900, seqs 901..=2000 cannot be read; export what is \
         readable (`vigil export`), then restore sled/ from a backup or import an export into a \
         new directory"
    );
    let full = StoreError::io(
        "/st/log/vigil.journal",
        std::io::Error::from_raw_os_error(28),
    )
    .with_batch(1801, 1900, true);
    let msg = full.to_string();
    assert!(
        msg.starts_with("/st/log/vigil.journal: disk full: "),
        "{msg}"
    );
    assert!(
        msg.contains(
            "seqs 1801..=1900 were not stored (rolled back; sending them again duplicates nothing)"
        ),
        "{msg}"
    );
    assert!(!msg.contains("Os {"), "{msg}");
}
