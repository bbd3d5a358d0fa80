//! Progress of the long commands: drawn on a terminal (a pty made by `script`), and not one
//! byte of it when stderr is a pipe.

mod common;

use std::process::Command;

use common::{text, vigil};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_vigil")
}

/// Run `vigil ARGS` with stdout and stderr on a pseudo-terminal (`script -qec`), returning
/// everything the terminal received.
fn on_a_terminal(args: &[&str]) -> String {
    let line = std::iter::once(bin())
        .chain(args.iter().copied())
        .map(|a| format!("'{}'", a.replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("script (util-linux) runs");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// What a drawn bar leaves: its label and carriage returns or cursor movements.
fn has_progress(s: &str, label: &str) -> bool {
    s.contains(label) && (s.contains('\r') || s.contains("\x1b["))
}

#[test]
fn load_replay_export_import_and_verify_draw_progress_on_a_terminal() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("d").display().to_string();
    // Slow enough (about half a second) for the bar to be drawn a few times.
    let shown = on_a_terminal(&["load", "--data", &data, "--events", "400", "--rate", "800"]);
    assert!(has_progress(&shown, "appending events"), "{shown:?}");
    assert!(shown.contains("appended 400 events"), "{shown:?}");
    let shown = on_a_terminal(&["replay", "--data", &data]);
    assert!(has_progress(&shown, "replay:"), "{shown:?}");
    let export = tmp.path().join("e.msgpack").display().to_string();
    let shown = on_a_terminal(&[
        "export", "--data", &data, "--format", "msgpack", "--out", &export,
    ]);
    assert!(has_progress(&shown, "exporting seq 1..=400"), "{shown:?}");
    let copy = tmp.path().join("c").display().to_string();
    let shown = on_a_terminal(&["import", "--data", &copy, "--in", &export]);
    assert!(has_progress(&shown, "importing"), "{shown:?}");
    let shown = on_a_terminal(&["verify", "--data", &copy]);
    assert!(has_progress(&shown, "verifying the chain"), "{shown:?}");
}

#[test]
fn piped_commands_write_no_progress() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data = tmp.path().join("d").display().to_string();
    let export = tmp.path().join("e.msgpack").display().to_string();
    let copy = tmp.path().join("c").display().to_string();
    let synth = tmp.path().join("frames").display().to_string();
    let runs: Vec<Vec<&str>> = vec![
        vec!["load", "--data", &data, "--events", "400", "--rate", "800"],
        vec!["replay", "--data", &data],
        vec!["verify", "--data", &data],
        vec![
            "export", "--data", &data, "--format", "msgpack", "--out", &export,
        ],
        vec!["import", "--data", &copy, "--in", &export],
        vec!["dataset", "synth", "--out", &synth, "--n", "30"],
    ];
    for args in runs {
        let out = vigil(&args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        for garbage in [
            "\r",
            "\x1b[",
            "appending events",
            "replay:",
            "verifying the",
            "exporting seq",
            "importing (",
            "writing 30 frames",
        ] {
            assert!(
                !err.contains(garbage),
                "{args:?} wrote {garbage:?} to a pipe: {err:?}"
            );
        }
    }
}
