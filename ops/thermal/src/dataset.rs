//! The dataset format of the seed: one frame per CSV file, 768 comma-separated readings in °C
//! (24 rows × 32 columns, row-major; line breaks anywhere are accepted), no header, and the
//! label digit at the end of the file stem: 1 Person, 2 Object, 3 Background
//! (`kitchen_007_1.csv` is a Person). [`synth`] writes a synthetic set in this format.

use std::path::{Path, PathBuf};

use vigil_wire::ThermalClass;

/// Readings per frame.
pub const FRAME_LEN: usize = vigil_scenes::FRAME_LEN;
/// Lowest plausible reading (°C), the sensor's lower limit.
pub const MIN_C: f32 = -40.0;
/// Highest plausible reading (°C), the sensor's upper limit.
pub const MAX_C: f32 = 300.0;

/// The label digit of a class in file names: 1 Person, 2 Object, 3 Background (its wire value).
pub fn label_digit(class: ThermalClass) -> char {
    char::from(b'0' + class.as_u8())
}

/// The class for a file stem ending in 1, 2 or 3.
pub fn label_from_stem(stem: &str) -> Option<ThermalClass> {
    let digit = stem.chars().last()?.to_digit(10)?;
    ThermalClass::from_u8(u8::try_from(digit).ok()?)
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
    pub label: Option<ThermalClass>,
    /// 768 readings in °C, row-major.
    pub frame: Vec<f32>,
}

impl Sample {
    /// The frame in centi-°C (what the Pico sends), rounded.
    pub fn centi(&self) -> Vec<i16> {
        vigil_scenes::to_centi(&self.frame)
    }
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
        .and_then(label_from_stem);
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
pub fn load_labelled_dir(dir: &Path) -> Result<Vec<(ThermalClass, Vec<f32>)>, DatasetError> {
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

/// Writes `n` labelled frames as `synth_<seed>_<index>_<class>_<digit>.csv` into `out_dir`
/// (created if missing). Each file is written to a temporary name and renamed, so no file
/// is ever half-written. Returns the paths written.
pub fn synth(out_dir: &Path, n: usize, seed: u64) -> Result<Vec<PathBuf>, DatasetError> {
    if n == 0 {
        return Err(DatasetError::BadArgument("--n must be at least 1".into()));
    }
    std::fs::create_dir_all(out_dir).map_err(|source| DatasetError::Io {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::with_capacity(n);
    for (i, (label, frame)) in vigil_scenes::generate(n, seed).into_iter().enumerate() {
        let name = format!(
            "synth_{seed}_{i:05}_{}_{}.csv",
            label.name(),
            label_digit(label)
        );
        let path = out_dir.join(&name);
        let tmp = out_dir.join(format!(".{name}.tmp"));
        let io = |source| DatasetError::Io {
            path: path.clone(),
            source,
        };
        std::fs::write(&tmp, frame_to_csv(&frame)).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        written.push(path);
    }
    Ok(written)
}
