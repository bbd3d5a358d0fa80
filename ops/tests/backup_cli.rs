//! Backups through the binary: a full and an incremental backup of a simulated station with
//! real frames, verified on their own and restored into a new data directory that verifies
//! and holds the same events and files; damaged backups named by file (and seq) with exit 1,
//! refused directories with exit 2 and nothing overwritten; `kill -9` in the middle of a
//! backup leaves the previous increments intact and no half increment that verify accepts;
//! recovery tests recorded as `BackupTested`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{assert_refused, audit, text, vigil, Station};
use serde_json::Value;

const CONFIG: &str = concat!(
    vigil_actors::berlin_daily!("morning" "06:00" "09:30"),
    r#"
[camera]
interval = "10m"
resolution = "160x120"
min_free_mb = 1
"#
);

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[track_caller]
fn ok(args: &[&str]) -> std::process::Output {
    let out = vigil(args);
    assert!(out.status.success(), "vigil {args:?}: {}", text(&out));
    out
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).expect("json output")
}

/// Every file under `dir` (relative path → bytes), for comparing trees.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(rd) = fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p
                    .strip_prefix(base)
                    .expect("under base")
                    .display()
                    .to_string();
                out.push((rel, fs::read(&p).expect("read")));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The events of a store as JSON, without the given kinds.
fn events(data: &str) -> Vec<Value> {
    let out = ok(&[
        "audit", "--data", data, "--format", "json", "--limit", "100000",
    ]);
    json_of(&out).as_array().cloned().unwrap_or_default()
}

#[test]
fn full_and_incremental_backup_of_a_station_restores_the_same_events_and_files() {
    let station = Station::new(CONFIG);
    let cfg = station.config.clone().expect("config");
    let out = station.start("sim:2026-06-01T03:50:00Z@3600x", "3s");
    assert!(out.status.success(), "{}", text(&out));
    let root = station.tmp.path().join("backups");
    let r = s(&root);
    let one = json_of(&ok(&[
        "backup",
        "--out",
        r,
        "--data",
        &station.data,
        "--config",
        &cfg,
        "--format",
        "json",
    ]));
    assert_eq!(one["full"], true);
    assert_eq!(one["first_seq"], 1);
    let files_one = one["files"].as_u64().expect("files");
    assert!(files_one >= 2, "frames carried: {one}");

    let out = station.start("sim:2026-06-01T05:00:00Z@3600x", "2s");
    assert!(out.status.success(), "{}", text(&out));
    let two = json_of(&ok(&[
        "backup",
        "--out",
        r,
        "--data",
        &station.data,
        "--config",
        &cfg,
        "--format",
        "json",
    ]));
    assert_eq!(two["full"], false);
    assert_eq!(two["increment"], 2);
    // Only what is new: the records after the first backup (its BackupMade included) and the
    // frames taken since.
    assert_eq!(two["first_seq"], one["last_seq"].as_u64().expect("seq") + 1);
    let frames = audit(&station.data, "FrameCaptured");
    assert_eq!(
        files_one + two["files"].as_u64().expect("files"),
        frames.len() as u64,
        "every frame once"
    );
    assert!(root.join("0002-incr/config.toml").is_file());

    let v = json_of(&ok(&["backup", "--verify", r, "--format", "json"]));
    assert_eq!(v["ok"], true);
    assert_eq!(v["last_seq"], two["last_seq"]);
    assert_eq!(v["increments"].as_array().map(Vec::len), Some(2));
    // The outside verifier still checks each increment's export on its own.
    for inc in ["0001-full", "0002-incr"] {
        let p = root.join(inc).join("log.msgpack");
        let py = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/verify_export.py"))
            .arg(&p)
            .output()
            .expect("python3 runs");
        assert!(py.status.success(), "{}", text(&py));
    }

    let new = station.tmp.path().join("restored");
    ok(&["restore", "--from", r, "--data", s(&new)]);
    ok(&["verify", "--data", s(&new)]);
    let before = events(&station.data);
    let after = events(s(&new));
    let last = two["last_seq"].as_u64().expect("seq") as usize;
    assert_eq!(&after[..last], &before[..last], "same records, same hashes");
    assert_eq!(after[last]["kind"], "BackupRestored");
    assert_eq!(after[last]["payload"]["last_seq"], last as u64);
    // Every frame and video, byte for byte; the config beside them.
    for sub in ["frames", "videos"] {
        assert_eq!(
            tree(&new.join(sub)),
            tree(&station.data_dir.join(sub)),
            "{sub}"
        );
    }
    assert_eq!(
        fs::read(new.join("restored-config.toml")).expect("config"),
        fs::read(&cfg).expect("config")
    );
    let made = audit(&station.data, "BackupMade");
    assert_eq!(made.len(), 2);
    assert_eq!(made[1]["schema"], 2);
    assert_eq!(made[1]["payload"]["manifest_hash"], two["manifest_hash"]);
}

/// A store of loaded events and a few media files, backed up twice.
fn backed_up() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    ok(&["load", "--data", s(&data), "--events", "300"]);
    fs::create_dir_all(data.join("frames/2026-06-01")).expect("mkdir");
    fs::create_dir_all(data.join("videos")).expect("mkdir");
    fs::write(data.join("frames/2026-06-01/04-00-00.jpg"), b"jpeg one").expect("w");
    let root = tmp.path().join("bk");
    ok(&["backup", "--out", s(&root), "--data", s(&data)]);
    ok(&["load", "--data", s(&data), "--events", "200"]);
    fs::write(data.join("frames/2026-06-01/04-10-00.jpg"), b"jpeg two").expect("w");
    fs::write(data.join("videos/2026-06-01-morning.mp4"), b"mp4").expect("w");
    ok(&["backup", "--out", s(&root), "--data", s(&data)]);
    (tmp, data, root)
}

#[test]
fn refused_directories_exit_2_naming_them_and_nothing_is_overwritten() {
    let (tmp, data, root) = backed_up();
    let foreign = tmp.path().join("photos");
    fs::create_dir_all(&foreign).expect("mkdir");
    fs::write(foreign.join("holiday.jpg"), b"mine").expect("w");
    let out = vigil(&["backup", "--out", s(&foreign), "--data", s(&data)]);
    assert_refused(&out, 2, "not empty and not a vigil backup root");
    assert_refused(&out, 2, s(&foreign));
    assert_eq!(tree(&foreign).len(), 1);

    let target = tmp.path().join("busy");
    fs::create_dir_all(&target).expect("mkdir");
    fs::write(target.join("keep.txt"), b"keep").expect("w");
    let out = vigil(&["restore", "--from", s(&root), "--data", s(&target)]);
    assert_refused(&out, 2, s(&target));
    assert_eq!(fs::read(target.join("keep.txt")).expect("kept"), b"keep");

    let out = vigil(&[
        "restore",
        "--from",
        s(&foreign),
        "--data",
        s(&tmp.path().join("n")),
    ]);
    assert_refused(&out, 2, "not a vigil backup root");
    // `--test` needs a backup root from somewhere.
    let out = vigil(&["backup", "--test", "--data", s(&data)]);
    assert_refused(&out, 2, "--from");
}

#[test]
fn a_damaged_backup_is_named_by_file_and_seq_and_restores_nothing() {
    let (tmp, data, root) = backed_up();
    let fresh = tmp.path().join("fresh");
    let damaged = |what: &str, needle: &str| {
        let out = vigil(&["backup", "--verify", s(&root)]);
        assert_refused(&out, 1, needle);
        let out = vigil(&["restore", "--from", s(&root), "--data", s(&fresh)]);
        assert_refused(&out, 1, needle);
        assert!(!fresh.exists(), "{what}: a failed restore leaves nothing");
    };
    let incr = root.join("0002-incr");

    // A frame whose bytes changed: the file is named.
    let frame = incr.join("files/frames/2026-06-01/04-10-00.jpg");
    fs::write(&frame, b"jpeg TWO").expect("w");
    damaged(
        "changed frame",
        "files/frames/2026-06-01/04-10-00.jpg: BLAKE3 is",
    );
    // A missing one.
    fs::remove_file(&frame).expect("rm");
    damaged("missing frame", "04-10-00.jpg: missing");
    fs::write(&frame, b"jpeg two").expect("w");
    ok(&["backup", "--verify", s(&root)]);

    // A manifest edited to agree with a changed file: its own hash no longer matches.
    let manifest = incr.join("manifest.json");
    let good = fs::read_to_string(&manifest).expect("read");
    let hash = blake3::hash(b"mp4").to_hex().to_string();
    let edited = good.replace(&hash, blake3::hash(b"mp5").to_hex().as_ref());
    assert_ne!(edited, good);
    fs::write(&manifest, &edited).expect("w");
    damaged("edited manifest", "manifest.json: BLAKE3 of the manifest");
    // ... and with its hash file rewritten too, the file check names the video.
    let manifest_hash = incr.join("manifest.blake3");
    let good_hash = fs::read_to_string(&manifest_hash).expect("read");
    fs::write(
        &manifest_hash,
        blake3::hash(edited.as_bytes()).to_hex().to_string(),
    )
    .expect("w");
    damaged(
        "re-hashed manifest",
        "videos/2026-06-01-morning.mp4: BLAKE3 is",
    );
    fs::write(&manifest, &good).expect("w");
    fs::write(&manifest_hash, &good_hash).expect("w");

    // A cut export: the file and the seq where it ends.
    let log = incr.join("log.msgpack");
    let bytes = fs::read(&log).expect("read");
    fs::write(&log, &bytes[..bytes.len() / 2]).expect("cut");
    damaged("cut export", "0002-incr/log.msgpack: the export is cut");
    let out = vigil(&["backup", "--verify", s(&root)]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("seq "),
        "{}",
        text(&out)
    );

    // A recovery test of it fails (exit 1) and says so in an important BackupTested event.
    let out = vigil(&["backup", "--test", "--from", s(&root), "--data", s(&data)]);
    assert_refused(&out, 1, "recovery test");
    fs::write(&log, &bytes).expect("restore");
    let out = ok(&["backup", "--test", "--from", s(&root), "--data", s(&data)]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("result     ok"));
    let tested = audit(s(&data), "BackupTested");
    assert_eq!(tested.len(), 2);
    assert_eq!(tested[0]["class"], "important");
    assert_eq!(tested[0]["payload"]["ok"], false);
    let why = tested[0]["payload"]["failure"].as_str().expect("failure");
    assert!(why.contains("log.msgpack"), "{why}");
    assert_eq!(tested[1]["payload"]["ok"], true);
    assert_eq!(tested[1]["payload"]["increment"], 2);
    assert_eq!(tested[1]["payload"]["last_seq"], 501);
}

#[test]
fn kill_9_during_a_backup_leaves_the_previous_increments_intact() {
    let trials: u64 = std::env::var("VIGIL_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("data");
    ok(&[
        "load",
        "--data",
        s(&data),
        "--events",
        "2000",
        "--batch",
        "500",
    ]);
    let root = tmp.path().join("bk");
    ok(&["backup", "--out", s(&root), "--data", s(&data)]);
    let first = fs::read(root.join("0001-full/manifest.json")).expect("manifest");
    ok(&[
        "load",
        "--data",
        s(&data),
        "--events",
        "20000",
        "--batch",
        "1000",
    ]);
    let dir = data.join("frames/2026-06-01");
    fs::create_dir_all(&dir).expect("mkdir");
    for i in 0..200 {
        fs::write(dir.join(format!("{i:04}.jpg")), vec![i as u8; 20_000]).expect("w");
    }
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for trial in 0..trials {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["backup", "--out", s(&root), "--data", s(&data)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(20 + rng % 400));
        let _ = child.kill();
        let _ = child.wait();
        let out = vigil(&["backup", "--verify", s(&root), "--format", "json"]);
        assert!(out.status.success(), "trial {trial}: {}", text(&out));
        assert_eq!(
            fs::read(root.join("0001-full/manifest.json")).expect("manifest"),
            first,
            "trial {trial}: the full backup is untouched"
        );
        ok(&["verify", "--data", s(&data)]);
    }
    // The next backup cleans up what a kill left and continues the chain.
    ok(&["backup", "--out", s(&root), "--data", s(&data)]);
    let v = json_of(&ok(&["backup", "--verify", s(&root), "--format", "json"]));
    assert_eq!(v["ok"], true);
    assert!(
        !fs::read_dir(&root)
            .expect("read")
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".partial")),
        "no partial increment left"
    );
    let new = tmp.path().join("restored");
    ok(&["restore", "--from", s(&root), "--data", s(&new)]);
    ok(&["verify", "--data", s(&new)]);
}
