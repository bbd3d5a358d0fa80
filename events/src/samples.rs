//! One representative payload per kind, used by the byte-exact fixture test and by other
//! crates' tests. Values are fixed: changing one changes the fixture.

use std::collections::BTreeMap;

use crate::kinds::*;
use crate::{Event, EventKind};

const T: i64 = 1_780_286_400_000_000; // 2026-06-01T04:00:00Z

/// A fixed sample payload of `kind`.
pub fn sample(kind: EventKind) -> Event {
    use EventKind as K;
    let s = |x: &str| x.to_string();
    match kind {
        K::SupervisorStarted => SupervisorStarted {
            version: s("0.1.0"),
            clock: s("sim:2026-06-01T04:00:00Z@3600x"),
            pid: 4242,
            host: s("station-1"),
        }
        .into(),
        K::SupervisorStopped => SupervisorStopped {
            reason: s("signal SIGTERM"),
            uptime_s: 86_400,
        }
        .into(),
        K::ConfigLoaded => ConfigLoaded {
            path: s("config/default.toml"),
            hash: s("ab".repeat(32).as_str()),
            text: s("[schedule]\ntimezone = \"Europe/Berlin\"\n"),
        }
        .into(),
        K::ConfigChanged => ConfigChanged {
            path: s("config/default.toml"),
            old_hash: s("ab".repeat(32).as_str()),
            new_hash: s("cd".repeat(32).as_str()),
            text: s("[schedule]\ntimezone = \"UTC\"\n"),
        }
        .into(),
        K::VerificationRan => VerificationRan {
            ok: false,
            checked: 1000,
            first_bad_seq: Some(17),
            problem: Some(s("hash mismatch")),
        }
        .into(),
        K::RetentionRan => RetentionRan {
            purged: 120,
            rules: 3,
            dry_run: false,
            destruction_records: 1,
            files_deleted: 2,
            bytes_freed: 182_000,
            duration_ms: 42,
        }
        .into(),
        K::RecordsDestroyed => RecordsDestroyed {
            ranges: vec![SeqRange { from: 1, to: 64 }, SeqRange { from: 70, to: 125 }],
            count: 120,
            bytes: 22_000,
            classes: vec![s("general")],
            kinds: vec![s("FrameCaptured"), s("ThermalFrame")],
            reason: s("age"),
            policy: s("general 30 d, ThermalFrame 7 d"),
            base_seq: 65,
            anchor: vec![7; 32],
            files: vec![DestroyedFile {
                path: s("frames/2026/05/01/040000.jpg"),
                bytes: 80_000,
                blake3: s("ef".repeat(32).as_str()),
                seq: 12,
            }],
        }
        .into(),
        K::ExportMade => ExportMade {
            path: s("/tmp/export.msgpack"),
            format: s("msgpack"),
            first_seq: 1,
            last_seq: 500,
            count: 500,
        }
        .into(),
        K::ImportMade => ImportMade {
            path: s("/tmp/export.msgpack"),
            first_seq: 1,
            last_seq: 500,
            count: 500,
        }
        .into(),
        K::BackupMade => BackupMade {
            path: s("/var/backups/vigil/0002-incr"),
            increment: 2,
            full: false,
            first_seq: 401,
            last_seq: 500,
            files: 12,
            bytes: 65_536,
            manifest_hash: s("ef".repeat(32).as_str()),
        }
        .into(),
        K::BackupTested => BackupTested {
            path: s("/var/backups/vigil/0002-incr"),
            increment: 2,
            last_seq: 500,
            ok: false,
            failure: Some(s(
                "0002-incr/manifest.json: frames/2026-06-01/04-00-00.jpg: BLAKE3 differs",
            )),
            duration_ms: 850,
        }
        .into(),
        K::BackupRestored => BackupRestored {
            path: s("backups/2026-06-01.vigil-backup"),
            last_seq: 500,
            test_only: true,
            verified: true,
        }
        .into(),
        K::AuditQueried => AuditQueried {
            via: s("api"),
            query: s("since=1780272000000000&kind=WindowOpened&limit=100"),
            results: 3,
            client: s("127.0.0.1:50412"),
            refused: None,
        }
        .into(),
        K::LoadGenerated => LoadGenerated {
            n: 1,
            filler: vec![0x5a; 16],
        }
        .into(),
        K::WindowOpened => WindowOpened {
            name: s("day"),
            start_us: T,
            end_us: T + 45_000_000_000,
            local_start: s("2026-06-01T06:00:00+02:00"),
            local_end: s("2026-06-01T18:30:00+02:00"),
            timezone: s("Europe/Berlin"),
        }
        .into(),
        K::WindowClosed => WindowClosed {
            name: s("day"),
            start_us: T,
            end_us: T + 45_000_000_000,
        }
        .into(),
        K::TimeSourceRecorded => TimeSourceRecorded {
            source: s("sim"),
            detail: s("start 2026-06-01T04:00:00Z, 3600x"),
        }
        .into(),
        K::ClockJumped => ClockJumped {
            expected_us: T,
            observed_us: T + 3_600_000_000,
            jump_us: 3_600_000_000,
        }
        .into(),
        K::LinkUp => LinkUp {
            port: s("/dev/ttyAMA0"),
            device: 0xE5_32_00_01,
            boot: 12,
            protocol: 1,
        }
        .into(),
        K::LinkDown => LinkDown {
            port: s("/dev/ttyAMA0"),
            reason: s("port vanished"),
            retry_in_ms: 2000,
        }
        .into(),
        K::LinkStats => LinkStats {
            port: s("/dev/ttyAMA0"),
            frames: 10_000,
            rejects: BTreeMap::from([(s("crc"), 3), (s("cobs"), 1)]),
            reconnects: 2,
        }
        .into(),
        K::ClockOffsetMeasured => ClockOffsetMeasured {
            pi_minus_board_us: -1_250,
            rtt_us: 4_100,
            board_synced: true,
            board_sntp_offset_us: Some(320),
        }
        .into(),
        K::WindowsPushed => WindowsPushed {
            count: 7,
            first_start_us: T,
            last_end_us: T + 6 * 86_400_000_000,
            digest: s("01".repeat(32).as_str()),
        }
        .into(),
        K::ShutdownRequested => ShutdownRequested {
            window: s("day"),
            reason: s("window closed"),
            deadline_us: T + 300_000_000,
        }
        .into(),
        K::PoweroffRun => PoweroffRun {
            command: s("systemctl poweroff"),
            exit_code: Some(0),
        }
        .into(),
        K::PowerSwitched => PowerSwitched {
            on: true,
            reason: s("window start"),
        }
        .into(),
        K::WatchdogTripped => WatchdogTripped { silent_ms: 90_000 }.into(),
        K::OverrideChanged => OverrideChanged { active: true }.into(),
        K::SntpSynced => SntpSynced {
            offset_us: 320,
            delay_us: 18_000,
            stratum: 2,
        }
        .into(),
        K::EventsDropped => EventsDropped { count: 17 }.into(),
        K::StoreRepaired => StoreRepaired {
            sled_last_seq: 1800,
            reapplied_first: Some(1801),
            reapplied_last: Some(1900),
            reapplied: 100,
            strays_removed: 3,
            last_seq: 1900,
        }
        .into(),
        K::BoardBacklogDelivered => BoardBacklogDelivered {
            device: 0xE5_32_00_01,
            appended: 14,
            duplicates: 2,
        }
        .into(),
        K::FrameCaptured => FrameCaptured {
            path: s("frames/2026/06/01/060000.jpg"),
            bytes: 183_211,
            blake3: s("9a".repeat(32).as_str()),
            width: 1024,
            height: 768,
            scheduled_us: T,
            actual_us: T + 1_800,
        }
        .into(),
        K::CaptureSkipped => CaptureSkipped {
            scheduled_us: T,
            reason: s("free space below floor"),
            free_bytes: Some(10_000_000),
        }
        .into(),
        K::CameraFault => CameraFault {
            error: s("device /dev/video0 vanished"),
            attempt: 2,
            retry_in_ms: 4000,
        }
        .into(),
        K::TimelapseBuilt => TimelapseBuilt {
            window: s("day"),
            path: s("videos/2026-06-01-day.mp4"),
            frames: 750,
            missing: 0,
            altered: 1,
            fps: 25,
            bytes: 12_000_000,
        }
        .into(),
        K::TimelapseFailed => TimelapseFailed {
            window: s("day"),
            error: s("ffmpeg exited with 1"),
        }
        .into(),
        K::GpioEdge => GpioEdge {
            name: s("button"),
            pin: 17,
            edge: Edge::Falling,
            at_us: T,
        }
        .into(),
        K::OutputChanged => OutputChanged {
            name: s("led"),
            pin: 27,
            high: true,
            rule: s("person-led"),
        }
        .into(),
        K::PwmChanged => PwmChanged {
            name: s("fan"),
            pin: 18,
            frequency_hz: 25_000.0,
            duty_percent: 40.0,
            rule: s("fan-day"),
        }
        .into(),
        K::ThermalFrame => ThermalFrame {
            frame: 3,
            centi_c: (0..768).map(|i| 2000 + (i % 32) as i16 * 10).collect(),
        }
        .into(),
        K::Detection => Detection {
            frame: 3,
            class: ThermalClass::Person,
            confidence_permille: 973,
            engine: s("pico-int8"),
            latency_us: 11_200,
            person_present: true,
        }
        .into(),
        K::DetectionCompared => DetectionCompared {
            frame: 3,
            pico: ThermalClass::Person,
            host: ThermalClass::Person,
            agree: true,
            pico_present: true,
            host_present: false,
        }
        .into(),
        K::UncleanStopDetected => UncleanStopDetected {
            last_seq: 41,
            last_kind: s("FrameCaptured"),
            last_ts: T,
            since_us: 3_600_000_000,
            reapplied: 2,
        }
        .into(),
        K::StorageExhausted => StorageExhausted {
            free_bytes: 40 << 20,
            floor_bytes: 64 << 20,
            target_bytes: 128 << 20,
            protected_bytes: 900 << 20,
        }
        .into(),
    }
}
