//! The CSV dataset: loading, every bad-input error with its position, and the synthetic set.

use std::path::Path;

use vigil_scenes::generate;
use vigil_thermal::dataset::{
    frame_to_csv, label_from_stem, load_dir, load_file, parse_csv, DatasetError,
};
use vigil_thermal::synth;
use vigil_wire::ThermalClass;

fn frame_text(values: &[String]) -> String {
    values.join(",")
}

fn good() -> Vec<String> {
    (0..768)
        .map(|i| format!("{:.2}", 20.0 + (i % 7) as f32 * 0.1))
        .collect()
}

#[test]
fn a_single_line_and_a_24_line_file_both_load() {
    let p = Path::new("a_1.csv");
    assert_eq!(
        parse_csv(p, &frame_text(&good())).expect("one line").len(),
        768
    );
    let f: Vec<f32> = (0..768).map(|i| i as f32 / 10.0).collect();
    let back = parse_csv(p, &frame_to_csv(&f)).expect("24 lines");
    assert_eq!(back, f);
    // Trailing commas and CRLF are tolerated.
    let crlf = frame_to_csv(&f).replace('\n', ",\r\n");
    assert_eq!(parse_csv(p, &crlf).expect("crlf").len(), 768);
}

#[test]
fn a_file_with_767_values_names_the_file_and_the_count() {
    let mut v = good();
    v.pop();
    let err = parse_csv(Path::new("dir/room_3.csv"), &frame_text(&v)).expect_err("767 values");
    assert!(matches!(err, DatasetError::WrongCount { found: 767, .. }));
    assert_eq!(
        err.to_string(),
        "dir/room_3.csv: 767 values, expected 768 (24 rows × 32 columns)"
    );
}

#[test]
fn a_non_number_nan_and_out_of_range_name_line_and_column() {
    let f: Vec<f32> = vec![21.5; 768];
    let text = frame_to_csv(&f);
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let edit = |lines: &mut Vec<String>, line: usize, col: usize, v: &str| {
        let mut fields: Vec<String> = lines[line].split(',').map(String::from).collect();
        fields[col] = v.to_string();
        lines[line] = fields.join(",");
    };
    let p = Path::new("x_2.csv");
    edit(&mut lines, 4, 9, "abc");
    let err = parse_csv(p, &lines.join("\n")).expect_err("not a number");
    assert_eq!(err.to_string(), "x_2.csv:5:10: `abc` is not a number");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    edit(&mut lines, 0, 0, "NaN");
    assert!(matches!(
        parse_csv(p, &lines.join("\n")),
        Err(DatasetError::NotFinite {
            line: 1,
            column: 1,
            ..
        })
    ));
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    edit(&mut lines, 23, 31, "300.5");
    let err = parse_csv(p, &lines.join("\n")).expect_err("too hot");
    assert!(
        matches!(
            err,
            DatasetError::OutOfRange {
                line: 24,
                column: 32,
                ..
            }
        ),
        "{err}"
    );
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    edit(&mut lines, 2, 3, "-40.01");
    assert!(matches!(
        parse_csv(p, &lines.join("\n")),
        Err(DatasetError::OutOfRange {
            line: 3,
            column: 4,
            ..
        })
    ));
}

#[test]
fn an_empty_directory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("notes.txt"), "not a frame").expect("write");
    let err = load_dir(dir.path()).expect_err("no csv");
    assert!(matches!(err, DatasetError::EmptyDir { .. }));
    assert!(err.to_string().ends_with("no .csv files"));
}

#[test]
fn labels_come_from_the_last_digit_of_the_stem() {
    assert_eq!(label_from_stem("kitchen_007_1"), Some(ThermalClass::Person));
    assert_eq!(label_from_stem("cup2"), Some(ThermalClass::Object));
    assert_eq!(label_from_stem("empty-3"), Some(ThermalClass::Background));
    assert_eq!(label_from_stem("frame_4"), None);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("unlabelled.csv");
    std::fs::write(&path, frame_text(&good())).expect("write");
    assert_eq!(load_file(&path).expect("loads").label, None);
}

#[test]
fn synth_is_reproducible_balanced_and_loadable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = synth(&dir.path().join("a"), 30, 7).expect("writes");
    let b = synth(&dir.path().join("b"), 30, 7).expect("writes");
    assert_eq!(a.len(), 30);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            std::fs::read(x).expect("read"),
            std::fs::read(y).expect("read")
        );
    }
    let samples = load_dir(&dir.path().join("a")).expect("loads back");
    let mut per_class = [0; 3];
    for s in &samples {
        per_class[s.label.expect("labelled").index()] += 1;
        assert!(s.frame.iter().all(|v| (-40.0..=300.0).contains(v)));
    }
    assert_eq!(per_class, [10, 10, 10]);
    assert_ne!(generate(3, 7), generate(3, 8));
    // No temporary files are left behind.
    assert!(std::fs::read_dir(dir.path().join("a"))
        .expect("dir")
        .all(|e| !e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .starts_with('.')));
}

#[test]
fn zero_frames_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    assert!(matches!(
        synth(&out, 0, 1),
        Err(DatasetError::BadArgument(_))
    ));
    assert!(!out.exists());
}
