//! `vigil-train` refuses bad input before doing any work: the file is named, the exit code is
//! 2 and nothing is written.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::path::Path;
use std::process::{Command, Output};

fn vigil_train(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigil-train"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn refused(out: &Output, names: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(names), "`{names}` not in: {err}");
}

#[test]
fn bad_training_data_is_refused_by_name_and_nothing_is_written() {
    let t = tempfile::tempdir().unwrap();
    let model = t.path().join("m.json");
    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    refused(
        &vigil_train(&["train", "--data", s(&empty), "--out", s(&model)]),
        "no .csv files",
    );
    let bad = t.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    let mut fields = vec!["21.5".to_string(); 768];
    fields[99] = "warm".into();
    std::fs::write(bad.join("a_1.csv"), fields.join(",")).unwrap();
    refused(
        &vigil_train(&["train", "--data", s(&bad), "--out", s(&model)]),
        "a_1.csv:1:100",
    );
    refused(
        &vigil_train(&[
            "train",
            "--data",
            s(&bad),
            "--out",
            s(&t.path().join("no/dir/m.json")),
        ]),
        "does not exist",
    );
    assert!(!model.exists());
}

#[test]
fn a_model_file_of_another_version_or_truncated_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let shipped =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../firmware/int8/models/default.f32.json");
    let good = std::fs::read_to_string(shipped).unwrap();
    let other = t.path().join("other.json");
    std::fs::write(&other, good.replacen("\"version\":1", "\"version\":2", 1)).unwrap();
    let truncated = t.path().join("truncated.json");
    std::fs::write(&truncated, &good[..good.len() - 40]).unwrap();
    let data = t.path().join("data");
    vigil_thermal::synth(&data, 3, 1).unwrap();
    let (out, q) = (t.path().join("o.json"), t.path().join("o.vgi8"));
    for bad in [&other, &truncated] {
        refused(
            &vigil_train(&[
                "qat",
                "--model",
                s(bad),
                "--data",
                s(&data),
                "--calib",
                s(&data),
                "--out",
                s(&out),
                "--out-int8",
                s(&q),
            ]),
            s(bad),
        );
    }
    let qbytes = t.path().join("q.vgi8");
    std::fs::write(&qbytes, b"VGI8 but not really").unwrap();
    refused(
        &vigil_train(&["bench", "--model", s(&other), "--int8", s(&qbytes)]),
        s(&other),
    );
    assert!(!out.exists() && !q.exists());
}
