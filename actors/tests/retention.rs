//! Retention: the pure planner (age, evidence, disk pressure, exhaustion) and the executor on a
//! real store with real media files and a simulated small disk.

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use vigil_actors::retention::{
    plan, run, DiskState, FreeSpace, Media, PlanInput, Reason, RunOptions,
};
use vigil_config::RetentionConfig;
use vigil_events::kinds::{Detection, FrameCaptured, LoadGenerated, ThermalClass, WindowOpened};
use vigil_events::{ClassPolicy, DataClass, Event, EventKind, NewEvent, Source};
use vigil_store::{IndexedRecord, Store, StoreOptions};

const DAY: i64 = 86_400_000_000;
const T0: i64 = 1_780_286_400_000_000;

fn rec(seq: u64, ts: i64, kind: EventKind, class: DataClass) -> IndexedRecord {
    IndexedRecord {
        seq,
        ts,
        source: Source::Camera,
        kind,
        class,
        len: 100,
        segment: 1,
    }
}

fn policy() -> RetentionConfig {
    RetentionConfig {
        general_days: 2,
        evidence_span: Duration::from_secs(300),
        ..RetentionConfig::default()
    }
}

#[test]
fn planner_purges_by_age_protects_evidence_and_audit() {
    let p = policy();
    let records = vec![
        rec(1, T0, EventKind::FrameCaptured, DataClass::General),
        rec(
            2,
            T0 + 60_000_000,
            EventKind::FrameCaptured,
            DataClass::General,
        ),
        rec(
            3,
            T0 + 120_000_000,
            EventKind::Detection,
            DataClass::General,
        ),
        rec(4, T0, EventKind::WindowOpened, DataClass::Important),
        rec(5, T0 + DAY, EventKind::ThermalFrame, DataClass::General),
        rec(
            6,
            T0 + 4 * DAY,
            EventKind::FrameCaptured,
            DataClass::General,
        ),
    ];
    let media = vec![
        Media {
            seq: 1,
            path: "frames/a.jpg".into(),
            bytes: 10,
        },
        Media {
            seq: 2,
            path: "frames/b.jpg".into(),
            bytes: 10,
        },
        Media {
            seq: 6,
            path: "frames/c.jpg".into(),
            bytes: 10,
        },
    ];
    // Frame 2 is 1 minute from a person detection (protected, important: 400 days);
    // frame 1 is 2 minutes before it, also protected. Without detections both go.
    let now = T0 + 5 * DAY;
    let person = [T0 + 120_000_000];
    let got = plan(&PlanInput {
        policy: &p,
        now,
        records: &records,
        media: &media,
        person_at: &person,
        disk: None,
    });
    assert_eq!(got.purges.len(), 1);
    let age = &got.purges[0];
    assert_eq!(age.reason, Reason::Age);
    let seqs: Vec<(u64, u64)> = age.ranges.iter().map(|r| (r.from, r.to)).collect();
    assert_eq!(seqs, vec![(3, 3), (5, 5)]);
    let got = plan(&PlanInput {
        policy: &p,
        now,
        records: &records,
        media: &media,
        person_at: &[],
        disk: None,
    });
    let seqs: Vec<(u64, u64)> = got.purges[0]
        .ranges
        .iter()
        .map(|r| (r.from, r.to))
        .collect();
    assert_eq!(seqs, vec![(1, 3), (5, 5)]);
    assert_eq!(got.purges[0].files.len(), 2);
    assert!(!got.purges[0].kinds.contains(&EventKind::WindowOpened));
}

#[test]
fn planner_under_disk_pressure_takes_oldest_unprotected_media_or_says_exhausted() {
    let p = policy();
    let records: Vec<IndexedRecord> = (1..=4)
        .map(|i| {
            rec(
                i,
                T0 + i as i64 * 1_000_000_000,
                EventKind::FrameCaptured,
                DataClass::General,
            )
        })
        .collect();
    let media: Vec<Media> = (1..=4)
        .map(|i| Media {
            seq: i,
            path: format!("frames/{i}.jpg"),
            bytes: 100,
        })
        .collect();
    let now = T0 + DAY; // nothing due by age
    let disk = DiskState {
        free_bytes: 50,
        floor_bytes: 100,
        target_bytes: 250,
    };
    let got = plan(&PlanInput {
        policy: &p,
        now,
        records: &records,
        media: &media,
        person_at: &[],
        disk: Some(disk),
    });
    assert_eq!(got.purges.len(), 1);
    assert_eq!(got.purges[0].reason, Reason::DiskPressure);
    let seqs: Vec<(u64, u64)> = got.purges[0]
        .ranges
        .iter()
        .map(|r| (r.from, r.to))
        .collect();
    assert_eq!(seqs, vec![(1, 2)], "oldest first, until the target");
    assert!(!got.exhausted);
    // Every frame near a person: nothing may go, the plan says exhausted.
    let person: Vec<i64> = records.iter().map(|r| r.ts).collect();
    let got = plan(&PlanInput {
        policy: &p,
        now,
        records: &records,
        media: &media,
        person_at: &person,
        disk: Some(disk),
    });
    assert!(got.purges.is_empty());
    assert!(got.exhausted);
    assert_eq!(got.protected_bytes, 400);
    // Above the floor: nothing.
    let ok = DiskState {
        free_bytes: 150,
        ..disk
    };
    let got = plan(&PlanInput {
        policy: &p,
        now,
        records: &records,
        media: &media,
        person_at: &[],
        disk: Some(ok),
    });
    assert!(got.purges.is_empty() && !got.exhausted);
}

/// A simulated disk: free space grows by what the test deletes.
struct SmallDisk<'a>(&'a Path, Cell<u64>);
impl FreeSpace for SmallDisk<'_> {
    fn free_bytes(&self, _: &Path) -> std::io::Result<u64> {
        let frames = self.0.join("frames");
        let used: u64 = std::fs::read_dir(&frames)?
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum();
        Ok(self.1.get().saturating_sub(used))
    }
}

fn frame(data: &Path, n: u64, ts: i64) -> NewEvent {
    let rel = format!("frames/{n}.jpg");
    let bytes = vec![n as u8; 1 << 20];
    std::fs::write(data.join(&rel), &bytes).expect("write frame");
    NewEvent::new(
        ts,
        Source::Camera,
        FrameCaptured {
            path: rel,
            bytes: bytes.len() as u64,
            blake3: blake3::hash(&bytes).to_hex().to_string(),
            width: 32,
            height: 24,
            scheduled_us: ts,
            actual_us: ts,
        },
    )
}

#[test]
fn executor_records_destruction_before_deleting_and_holds_the_floor() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path();
    std::fs::create_dir_all(data.join("frames")).expect("frames dir");
    let store = Store::open(&data.join("log"), StoreOptions::default()).expect("open");
    let classes = ClassPolicy::default();
    let mut batch = Vec::new();
    for n in 1..=10u64 {
        batch.push(frame(data, n, T0 + n as i64 * 60_000_000));
        batch.push(NewEvent::new(
            T0,
            Source::Ops,
            LoadGenerated {
                n,
                filler: vec![1; 30],
            },
        ));
    }
    // A person at frame 10: frames 6..=10 are within 5 minutes of it.
    batch.push(NewEvent::new(
        T0 + 10 * 60_000_000,
        Source::Classifier,
        Detection {
            frame: 1,
            class: ThermalClass::Person,
            confidence_permille: 900,
            engine: "host-int8".into(),
            latency_us: 10,
            person_present: true,
        },
    ));
    batch.push(NewEvent::new(
        T0,
        Source::Clock,
        WindowOpened {
            name: "day".into(),
            start_us: T0,
            end_us: T0 + DAY,
            local_start: String::new(),
            local_end: String::new(),
            timezone: "UTC".into(),
        },
    ));
    store.append(&batch, &classes).expect("append");
    // 12 MiB disk, 10 MiB of frames: 2 MiB free, floor 4, target 6 → 4 frames must go.
    let disk = SmallDisk(data, Cell::new(12 << 20));
    let p = RetentionConfig {
        disk_floor_mb: Some(4),
        disk_target_mb: Some(6),
        ..RetentionConfig::default()
    };
    let opts = RunOptions {
        data_dir: data.to_path_buf(),
        dry_run: true,
        now: T0 + DAY,
        step_segments: 2,
    };
    let dry = run(&store, &p, &classes, &disk, &opts).expect("dry run");
    assert_eq!(dry.plan.purges.len(), 1);
    assert_eq!(store.last_seq(), 22, "a dry run appends nothing");
    assert!(data.join("frames/1.jpg").exists());
    let opts = RunOptions {
        dry_run: false,
        ..opts
    };
    let done = run(&store, &p, &classes, &disk, &opts).expect("run");
    assert_eq!(done.files_deleted, 4);
    assert!(done.exhausted_seq.is_none());
    assert!(disk.free_bytes(data).expect("free") >= 6 << 20);
    for n in 1..=4 {
        assert!(!data.join(format!("frames/{n}.jpg")).exists(), "frame {n}");
    }
    for n in 5..=10 {
        assert!(
            data.join(format!("frames/{n}.jpg")).exists(),
            "frame {n} kept"
        );
    }
    let dseq = done.destruction_seqs[0];
    let env = store.get(dseq).expect("get").expect("destruction record");
    let Event::RecordsDestroyed(d) = env.payload else {
        panic!("{:?}", env.kind)
    };
    assert_eq!(d.reason, "disk_pressure");
    assert_eq!(d.files.len(), 4);
    assert_eq!(
        d.files[0].blake3,
        blake3::hash(&vec![1u8; 1 << 20]).to_hex().to_string()
    );
    let r = store.verify();
    assert!(r.is_ok(), "{:?}", r.problem);
    assert_eq!(r.destroyed_by.iter().map(|x| x.1).sum::<u64>(), 4);
    // Shrink the disk: only protected evidence is left, so StorageExhausted and nothing more.
    disk.1.set(7 << 20);
    let again = run(&store, &p, &classes, &disk, &opts).expect("run");
    assert!(again.exhausted_seq.is_some());
    assert_eq!(again.files_deleted, 0);
    for n in 6..=10 {
        assert!(
            data.join(format!("frames/{n}.jpg")).exists(),
            "evidence frame {n} kept"
        );
    }
    assert!(store.verify().is_ok());
}
