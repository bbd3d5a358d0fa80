//! The dataset format of the seed: one frame per CSV file, 768 comma-separated readings in °C
//! (24 rows × 32 columns, row-major; line breaks anywhere are accepted), no header, and the
//! label digit at the end of the file stem: 1 Person, 2 Object, 3 Background
//! (`kitchen_007_1.csv` is a Person).

use std::fmt;
use std::path::{Path, PathBuf};

/// Readings per frame.
pub const FRAME_LEN: usize = 768;
/// Lowest plausible reading (°C), the sensor's lower limit.
pub const MIN_C: f32 = -40.0;
/// Highest plausible reading (°C), the sensor's upper limit.
pub const MAX_C: f32 = 300.0;

/// A class label (the digit in the file name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    /// 1.
    Person,
    /// 2.
    Object,
    /// 3.
    Background,
}

impl Label {
    /// All labels in model output order.
    pub const ALL: [Label; 3] = [Label::Person, Label::Object, Label::Background];

    /// The model output index (0, 1, 2).
    pub fn index(self) -> usize {
        match self {
            Label::Person => 0,
            Label::Object => 1,
            Label::Background => 2,
        }
    }

    /// From a model output index.
    pub fn from_index(i: usize) -> Option<Self> {
        Label::ALL.get(i).copied()
    }

    /// The digit used in file names.
    pub fn digit(self) -> char {
        match self {
            Label::Person => '1',
            Label::Object => '2',
            Label::Background => '3',
        }
    }

    /// The label for a file stem ending in 1, 2 or 3.
    pub fn from_stem(stem: &str) -> Option<Self> {
        match stem.chars().last()? {
            '1' => Some(Label::Person),
            '2' => Some(Label::Object),
            '3' => Some(Label::Background),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Label::Person => "person",
            Label::Object => "object",
            Label::Background => "background",
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a dataset file or directory cannot be used. Paths and positions say where.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file does not hold exactly 768 readings.
    #[error("{path}: {found} values, expected 768 (24 rows × 32 columns)")]
    WrongCount {
        /// The file.
        path: PathBuf,
        /// Values found.
        found: usize,
    },
    /// A file of several rows is not 24 rows of 32 values (a frame is 24 rows × 32
    /// columns, or all 768 values on one line).
    #[error("{path}:{line}: {what}; a frame is 24 rows of 32 values (or one row of 768)")]
    BadShape {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first row that does not fit.
        line: usize,
        /// What is wrong with it.
        what: String,
    },
    /// A field is not a number.
    #[error("{path}:{line}:{column}: `{text}` is not a number")]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based field on that line.
        column: usize,
        /// The field.
        text: String,
    },
    /// A field is NaN or infinite.
    #[error("{path}:{line}:{column}: `{text}` is not a finite reading")]
    NotFinite {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based field on that line.
        column: usize,
        /// The field.
        text: String,
    },
    /// A reading is outside the sensor's −40…300 °C.
    #[error("{path}:{line}:{column}: {value} °C is outside −40…300 °C")]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based field on that line.
        column: usize,
        /// The reading.
        value: f32,
    },
    /// A directory holds no CSV file.
    #[error("{path}: no .csv files")]
    EmptyDir {
        /// The directory.
        path: PathBuf,
    },
    /// A file name does not end in a label digit where one is required.
    #[error("{path}: the file stem must end in 1 (person), 2 (object) or 3 (background)")]
    NoLabel {
        /// The file.
        path: PathBuf,
    },
    /// A bad argument (e.g. zero frames to generate).
    #[error("{0}")]
    BadArgument(String),
}

/// One frame with its origin and (optional) label.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The file it came from.
    pub path: PathBuf,
    /// The label from the file name, if any.
    pub label: Option<Label>,
    /// 768 readings in °C, row-major.
    pub frame: Vec<f32>,
}

impl Sample {
    /// The frame in centi-°C (what the Pico sends), rounded.
    pub fn centi(&self) -> Vec<i16> {
        to_centi(&self.frame)
    }
}

/// °C to centi-°C, rounded (readings are already within −40…300 °C).
pub fn to_centi(frame: &[f32]) -> Vec<i16> {
    frame
        .iter()
        .map(|&t| (t * 100.0).round().clamp(-4000.0, 30000.0) as i16)
        .collect()
}

/// Parses the text of one CSV file.
pub fn parse_csv(path: &Path, text: &str) -> Result<Vec<f32>, DatasetError> {
    let mut out = Vec::with_capacity(FRAME_LEN);
    // (1-based line, values on it) of each non-empty row.
    let mut rows: Vec<(usize, usize)> = Vec::new();
    for (l, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let before = out.len();
        let fields: Vec<&str> = line.split(',').collect();
        let n = fields.len();
        for (c, field) in fields.iter().enumerate() {
            let text = field.trim();
            if text.is_empty() && c + 1 == n && n > 1 {
                // A trailing comma at the end of a line is tolerated.
                continue;
            }
            let (line, column) = (l + 1, c + 1);
            let value: f32 = text.parse().map_err(|_| DatasetError::NotANumber {
                path: path.to_path_buf(),
                line,
                column,
                text: text.to_string(),
            })?;
            if !value.is_finite() {
                return Err(DatasetError::NotFinite {
                    path: path.to_path_buf(),
                    line,
                    column,
                    text: text.to_string(),
                });
            }
            if !(MIN_C..=MAX_C).contains(&value) {
                return Err(DatasetError::OutOfRange {
                    path: path.to_path_buf(),
                    line,
                    column,
                    value,
                });
            }
            out.push(value);
        }
        rows.push((l + 1, out.len() - before));
    }
    if rows.len() > 1 {
        let shape = |line: usize, what: String| DatasetError::BadShape {
            path: path.to_path_buf(),
            line,
            what,
        };
        if let Some(&(line, n)) = rows.iter().find(|(_, n)| *n != 32) {
            return Err(shape(line, format!("{n} values on this row")));
        }
        if let Some(&(line, _)) = rows.get(24) {
            return Err(shape(line, format!("{} rows", rows.len())));
        }
    }
    if out.len() != FRAME_LEN {
        return Err(DatasetError::WrongCount {
            path: path.to_path_buf(),
            found: out.len(),
        });
    }
    Ok(out)
}

/// Reads one CSV file.
pub fn load_file(path: &Path) -> Result<Sample, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let frame = parse_csv(path, &text)?;
    let label = path
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(Label::from_stem);
    Ok(Sample {
        path: path.to_path_buf(),
        label,
        frame,
    })
}

/// Reads every `.csv` in a directory (not recursive), sorted by file name.
pub fn load_dir(dir: &Path) -> Result<Vec<Sample>, DatasetError> {
    let io = |source| DatasetError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    files.retain(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")));
    files.sort();
    if files.is_empty() {
        return Err(DatasetError::EmptyDir {
            path: dir.to_path_buf(),
        });
    }
    files.iter().map(|p| load_file(p)).collect()
}

/// Reads files and directories (directories non-recursively), in the order given.
pub fn load_paths(paths: &[PathBuf]) -> Result<Vec<Sample>, DatasetError> {
    let mut out = vec![];
    for p in paths {
        if p.is_dir() {
            out.extend(load_dir(p)?);
        } else {
            out.push(load_file(p)?);
        }
    }
    Ok(out)
}

/// Reads a labelled directory: every file must carry a label digit.
pub fn load_labelled_dir(dir: &Path) -> Result<Vec<(Label, Vec<f32>)>, DatasetError> {
    load_dir(dir)?
        .into_iter()
        .map(|s| match s.label {
            Some(l) => Ok((l, s.frame)),
            None => Err(DatasetError::NoLabel { path: s.path }),
        })
        .collect()
}

/// The CSV text of one frame: 24 lines of 32 values with two decimals.
pub fn frame_to_csv(frame: &[f32]) -> String {
    let mut s = String::with_capacity(FRAME_LEN * 7);
    for row in frame.chunks(32) {
        let line: Vec<String> = row.iter().map(|v| format!("{v:.2}")).collect();
        s.push_str(&line.join(","));
        s.push('\n');
    }
    s
}
