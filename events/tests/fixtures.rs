//! Byte-exact fixtures of every (kind, schema version) ever written, and of the record layout.
//! A missing fixture fails the test; run once with `VIGIL_BLESS=1` to write new ones. Existing
//! fixtures are never rewritten: a changed byte means a layout changed without a version bump.

use std::fs;
use std::path::{Path, PathBuf};

use vigil_events::samples::sample;
use vigil_events::*;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn bless() -> bool {
    std::env::var_os("VIGIL_BLESS").is_some()
}

/// Compare `bytes` with the fixture `name`, writing it only when blessing and absent.
fn check(name: &str, bytes: &[u8]) -> Result<(), String> {
    let path = dir().join(name);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let want = hex::decode(text.trim()).map_err(|e| format!("{name}: bad hex: {e}"))?;
            if want != bytes {
                return Err(format!(
                    "{name}: encoding changed\n  fixture {}\n  now     {}\nbump the kind's schema and keep the old type in legacy.rs",
                    hex::encode(&want),
                    hex::encode(bytes)
                ));
            }
            Ok(())
        }
        Err(_) if bless() => {
            fs::write(&path, format!("{}\n", hex::encode(bytes))).map_err(|e| e.to_string())?;
            Ok(())
        }
        Err(_) => Err(format!(
            "{name}: no fixture; run `VIGIL_BLESS=1 cargo test -p vigil-events` and commit it"
        )),
    }
}

#[test]
fn every_current_version_matches_its_fixture() {
    let mut errors = Vec::new();
    for &kind in EventKind::ALL {
        let ev = sample(kind);
        let bytes = ev.encode_payload();
        let name = format!("{}.v{}.hex", kind.name(), kind.current_schema());
        if let Err(e) = check(&name, &bytes) {
            errors.push(e);
            continue;
        }
        let back = decode_payload(kind, kind.current_schema(), &bytes).expect("decodes");
        assert_eq!(back, ev, "{name} round trip");
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn every_old_version_matches_its_fixture_and_upcasts() {
    for (kind, schema, bytes) in legacy::old_versions() {
        assert!(schema < kind.current_schema());
        let name = format!("{}.v{}.hex", kind.name(), schema);
        check(&name, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let ev = decode_payload(kind, schema, &bytes).expect("old version decodes");
        assert_eq!(ev.kind(), kind);
    }
}

#[test]
fn window_opened_v1_upcasts_with_empty_local_times() {
    let (_, _, bytes) = legacy::old_versions()
        .into_iter()
        .find(|(k, s, _)| *k == EventKind::WindowOpened && *s == 1)
        .expect("v1 kept");
    match decode_payload(EventKind::WindowOpened, 1, &bytes).expect("decodes") {
        Event::WindowOpened(w) => {
            assert_eq!(w.name, "day");
            assert_eq!(w.end_us - w.start_us, 45_000_000_000);
            assert!(w.local_start.is_empty() && w.timezone.is_empty());
        }
        other => panic!("upcast to {other:?}"),
    }
}

#[test]
fn audit_queried_v1_upcasts_as_an_answered_query_keeping_its_raw_text() {
    let (_, _, bytes) = legacy::old_versions()
        .into_iter()
        .find(|(k, s, _)| *k == EventKind::AuditQueried && *s == 1)
        .expect("v1 kept");
    match decode_payload(EventKind::AuditQueried, 1, &bytes).expect("decodes") {
        Event::AuditQueried(a) => {
            assert_eq!(a.query, "since=2026-06-01T00:00:00Z&kind=WindowOpened");
            assert_eq!((a.results, a.refused), (3, None));
        }
        other => panic!("upcast to {other:?}"),
    }
}

#[test]
fn backup_made_v1_upcasts_as_a_full_first_increment() {
    let (_, _, bytes) = legacy::old_versions()
        .into_iter()
        .find(|(k, s, _)| *k == EventKind::BackupMade && *s == 1)
        .expect("v1 kept");
    match decode_payload(EventKind::BackupMade, 1, &bytes).expect("decodes") {
        Event::BackupMade(b) => {
            assert_eq!(
                (b.increment, b.full, b.first_seq, b.last_seq),
                (1, true, 1, 500)
            );
            assert_eq!(b.manifest_hash, "ef".repeat(32));
            assert_eq!(b.files, 0);
        }
        other => panic!("upcast to {other:?}"),
    }
}

/// Every fixture ever committed must still decode: old versions are readable forever.
#[test]
fn no_fixture_is_orphaned() {
    for entry in fs::read_dir(dir()).expect("fixtures dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let Some(stem) = name.strip_suffix(".hex") else {
            continue;
        };
        let text = fs::read_to_string(&path).expect("read");
        let bytes = hex::decode(text.trim()).expect("hex");
        if let Some(v) = stem.strip_prefix("decision.v") {
            let v: u16 = v.parse().expect("decision record version");
            assert_eq!(v, 1, "unknown decision record layout version in {name}");
            let h = RecordHeader::decode(&bytes).expect("decision record fixture decodes");
            assert!(h.after.is_some(), "{name} carries `after`");
            continue;
        }
        if let Some(v) = stem.strip_prefix("record.v") {
            let v: u16 = v.parse().expect("record version");
            assert_eq!(v, 1, "unknown record layout version in {name}");
            RecordHeader::decode(&bytes).expect("record fixture decodes");
            continue;
        }
        let (kind, schema) = stem.rsplit_once(".v").expect("Kind.vN");
        let kind = EventKind::from_name(kind).unwrap_or_else(|| panic!("{name}: kind removed"));
        let schema: u16 = schema.parse().expect("version");
        decode_payload(kind, schema, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn record_layout_matches_fixture() {
    let ev = NewEvent::new(
        1_780_286_400_000_000,
        Source::Esp32,
        sample(EventKind::PowerSwitched),
    )
    .with_origin(BoardOrigin {
        device: 0xE532_0001,
        boot: 12,
        seq: 40,
        device_ts: 1_780_286_399_998_000,
    });
    let bytes = ev.encode(7, DataClass::Core);
    check("record.v1.hex", &bytes).unwrap_or_else(|e| panic!("{e}"));
    let env = Envelope::decode(&bytes, [1; 32], [2; 32]).expect("decodes");
    assert_eq!(env.seq, 7);
    assert_eq!(env.class, DataClass::Core);
    assert_eq!(env.origin, ev.origin);
    assert_eq!(env.payload, ev.event);
}

/// A decision taken at a deadline carries a ninth element: the last seq its core had seen.
#[test]
fn decision_record_layout_matches_fixture() {
    let ev = NewEvent::new(
        1_780_286_400_000_000,
        Source::Gpio,
        sample(EventKind::OutputChanged),
    )
    .after(41);
    let bytes = ev.encode(42, DataClass::General);
    check("decision.v1.hex", &bytes).unwrap_or_else(|e| panic!("{e}"));
    let env = Envelope::decode(&bytes, [0; 32], [0; 32]).expect("decodes");
    assert_eq!((env.seq, env.after), (42, Some(41)));
    let plain = NewEvent::new(1, Source::Gpio, sample(EventKind::OutputChanged))
        .encode(42, DataClass::General);
    assert_eq!(
        Envelope::decode(&plain, [0; 32], [0; 32])
            .expect("decodes")
            .after,
        None
    );
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(RecordHeader::decode(&trailing).is_err());
}

/// Kind, source and class codes are stored in index keys: they may only be appended to.
#[test]
fn codes_are_append_only() {
    let listed: Vec<String> = EventKind::ALL
        .iter()
        .map(|k| format!("{} {}", k.code(), k.name()))
        .collect();
    check_text("kind-codes.txt", &listed.join("\n"));
    let sources: Vec<String> = Source::ALL
        .iter()
        .map(|s| format!("{} {}", s.code(), s))
        .collect();
    check_text("source-codes.txt", &sources.join("\n"));
}

fn check_text(name: &str, now: &str) {
    let path = dir().join(name);
    match fs::read_to_string(&path) {
        Ok(old) => {
            let old = old.trim_end();
            assert!(
                now.starts_with(old),
                "{name}: codes were reordered or removed; only append.\nwas:\n{old}\nnow:\n{now}"
            );
            if now != old {
                // Appended kinds extend the list.
                fs::write(&path, format!("{now}\n")).expect("write");
            }
        }
        Err(_) => fs::write(&path, format!("{now}\n")).expect("write"),
    }
}

#[test]
fn records_destroyed_v1_upcasts_to_one_range_under_an_age_rule() {
    let (_, _, bytes) = legacy::old_versions()
        .into_iter()
        .find(|(k, s, _)| *k == EventKind::RecordsDestroyed && *s == 1)
        .expect("v1 kept");
    match decode_payload(EventKind::RecordsDestroyed, 1, &bytes).expect("decodes") {
        Event::RecordsDestroyed(d) => {
            assert_eq!(d.ranges, vec![kinds::SeqRange { from: 1, to: 120 }]);
            assert_eq!((d.count, d.base_seq), (120, 121));
            assert_eq!(d.reason, "age");
            assert_eq!(d.policy, "general older than 30 days");
        }
        other => panic!("upcast to {other:?}"),
    }
    let (_, _, bytes) = legacy::old_versions()
        .into_iter()
        .find(|(k, s, _)| *k == EventKind::RetentionRan && *s == 1)
        .expect("v1 kept");
    match decode_payload(EventKind::RetentionRan, 1, &bytes).expect("decodes") {
        Event::RetentionRan(r) => assert_eq!((r.purged, r.bytes_freed), (120, 0)),
        other => panic!("upcast to {other:?}"),
    }
}
