//! Config errors: every one says where (file, line, column) and what was expected.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use vigil_events::ClassPolicyError;

use crate::schedule::ScheduleError;

/// Where in a config text something is: origin (file path or a name such as
/// `<builtin default.toml>`), 1-based line and 1-based column (in characters).
///
/// `line == 0` means the position is not known (the problem is not tied to one key); it is
/// then shown as the origin alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcePos {
    /// File path or name of the text.
    pub origin: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column in characters, 0 when unknown.
    pub column: usize,
}

impl SourcePos {
    /// The position of byte offset `offset` in `text`.
    pub fn from_offset(origin: &str, text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        // Step back to a char boundary so slicing never panics on odd spans.
        let mut cut = offset;
        while cut > 0 && !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let before = &text[..cut];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        SourcePos {
            origin: origin.to_string(),
            line,
            column,
        }
    }

    /// A position that is not tied to one place in the text.
    pub fn unknown(origin: &str) -> Self {
        SourcePos {
            origin: origin.to_string(),
            line: 0,
            column: 0,
        }
    }
}

impl fmt::Display for SourcePos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.origin)
        } else {
            write!(f, "{}:{}:{}", self.origin, self.line, self.column)
        }
    }
}

/// Why a config file was refused. Display is `path:line:col: message`.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read. Check the path and its permissions.
    #[error("{}: cannot read the config file: {error}", path.display())]
    Read {
        /// The path given.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    /// The text is not valid TOML, has an unknown key, a value of the wrong type, or a value
    /// that is not one of the accepted forms (durations, days, pins, times). Fix the value at
    /// `at`; `message` says what was expected.
    #[error("{at}: {message}")]
    Parse {
        /// Where.
        at: SourcePos,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Each value is well-formed but together they are refused (a pin used twice, a window
    /// without length, audit data kept too briefly, …). Fix the key at `at`.
    #[error("{at}: {problem}")]
    Invalid {
        /// Where (the key that has to change).
        at: SourcePos,
        /// What is wrong (boxed: keeps `Result<_, ConfigError>` small).
        problem: Box<Problem>,
    },
}

impl ConfigError {
    /// Where the error is.
    pub fn position(&self) -> Option<&SourcePos> {
        match self {
            ConfigError::Read { .. } => None,
            ConfigError::Parse { at, .. } | ConfigError::Invalid { at, .. } => Some(at),
        }
    }
}

/// A semantic problem in a config whose values each parse.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    /// `[schedule].timezone` is not an IANA zone name known to chrono-tz.
    #[error(
        "unknown time zone `{name}`{}, expected an IANA name such as \"Europe/Berlin\" or \"UTC\"",
        hint(suggestion)
    )]
    UnknownTimezone {
        /// What the file says.
        name: String,
        /// The closest known name, if one is close.
        suggestion: Option<String>,
    },
    /// A schedule window is refused.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// An event kind name that the catalogue does not have (names are case-sensitive).
    #[error("unknown event kind `{name}`{}", hint(suggestion))]
    UnknownEventKind {
        /// What the file says.
        name: String,
        /// The closest known kind, if one is close.
        suggestion: Option<String>,
    },
    /// `[classes]` raises a kind to `core`, whose payloads are encrypted at rest, but no
    /// encryption key is configured.
    #[error("{kind} = \"core\": core payloads are encrypted at rest; set [store] encryption_key_file (a 32-byte key file, mode 600)")]
    CoreWithoutEncryptionKey {
        /// The kind raised to core.
        kind: &'static str,
    },
    /// `[store] encryption_key_file` and `key_file` name the same file.
    #[error("encryption_key_file and key_file are the same file ({path}); the chain key and the encryption key must be separate key files")]
    SameKeyFile {
        /// The file named twice.
        path: String,
    },
    /// `[classes]` asked to lower a kind's class.
    #[error(transparent)]
    ClassLowered(#[from] ClassPolicyError),
    /// Retention would purge audit-relevant events before 180 days.
    #[error("{key} = {days} days keeps audit-relevant events ({kinds}) for less than the required {min} days")]
    AuditRetentionTooShort {
        /// The retention key that is too short.
        key: String,
        /// Days it asks for.
        days: u32,
        /// The minimum (180).
        min: u32,
        /// Audit kinds affected (comma-separated, maybe shortened).
        kinds: String,
    },
    /// Two pins (inputs, outputs, PWM) on the same GPIO.
    #[error("{pin} is already used by {first_role} \"{first}\" (line {first_line})")]
    PinUsedTwice {
        /// The pin (`BCM 17 (board:11)`).
        pin: String,
        /// Name of the earlier pin entry.
        first: String,
        /// Its role (`input`, `output`, `pwm`).
        first_role: &'static str,
        /// Its line.
        first_line: usize,
    },
    /// A GPIO used by the serial port of a board link.
    #[error("{pin} is the UART used by {key} = \"{port}\"; pick another pin")]
    PinOnUart {
        /// The pin.
        pin: String,
        /// The key holding the port (`power.port`).
        key: &'static str,
        /// The port.
        port: String,
    },
    /// Two entries with the same name where names must be unique.
    #[error("duplicate {what} name \"{name}\" (first at line {first_line})")]
    DuplicateName {
        /// What kind of entry (`pin`, `window`).
        what: &'static str,
        /// The name.
        name: String,
        /// Line of the first entry.
        first_line: usize,
    },
    /// A `[[gpio.rule]]` sets a pin that is not declared.
    #[error("rule sets \"{target}\", which is not a declared gpio output or pwm pin (declared: {declared})")]
    UnknownRuleTarget {
        /// The name in `set`.
        target: String,
        /// Declared output and PWM names.
        declared: String,
    },
    /// A `[[gpio.rule]]` action does not fit its target (level on PWM, duty on an output,
    /// neither, or both).
    #[error("{0}")]
    RuleAction(String),
    /// A `[[gpio.sim_press]]` cannot be scripted (unknown input, real backend, bad time).
    #[error("{0}")]
    SimPress(String),
    /// `match` names a field the event kind's payload does not have.
    #[error("{kind} has no field `{field}` to match (fields: {fields})")]
    UnknownMatchField {
        /// Event kind.
        kind: &'static str,
        /// The field named.
        field: String,
        /// Fields the kind has.
        fields: String,
    },
    /// `match` gives a value of another type than the payload field has.
    #[error("{kind}.{field} is a {expected}, the match value is not")]
    MatchType {
        /// Event kind.
        kind: &'static str,
        /// Field.
        field: String,
        /// Its type (`string`, `integer`, `boolean`, `number`).
        expected: &'static str,
    },
    /// Two settings that must be ordered are not.
    #[error("`{key}` ({value}) must be {relation} `{other_key}` ({other})")]
    OutOfOrder {
        /// Key that has to change.
        key: &'static str,
        /// Its value.
        value: String,
        /// `longer than`, `at least twice`, …
        relation: &'static str,
        /// The key it is compared with.
        other_key: &'static str,
        /// That key's value.
        other: String,
    },
    /// `[backup]` is refused (a dir inside the data dir, a schedule without a dir).
    #[error("{0}")]
    Backup(String),
}

fn hint(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

/// Source text and origin, to turn byte spans into positions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    pub origin: &'a str,
    pub text: &'a str,
}

impl Ctx<'_> {
    /// Position of a span's start.
    pub fn pos(&self, span: &Range<usize>) -> SourcePos {
        SourcePos::from_offset(self.origin, self.text, span.start)
    }

    /// Line of a span's start.
    pub fn line(&self, span: &Range<usize>) -> usize {
        self.pos(span).line
    }

    /// A semantic error at `span` (or without position when `None`).
    pub fn invalid(&self, span: Option<&Range<usize>>, problem: impl Into<Problem>) -> ConfigError {
        ConfigError::Invalid {
            at: match span {
                Some(s) => self.pos(s),
                None => SourcePos::unknown(self.origin),
            },
            problem: Box::new(problem.into()),
        }
    }

    /// A TOML parse error converted to a position.
    pub fn parse_error(&self, e: &toml::de::Error) -> ConfigError {
        ConfigError::Parse {
            at: match e.span() {
                Some(s) => self.pos(&s),
                None => SourcePos::unknown(self.origin),
            },
            message: e.message().trim_end().to_string(),
        }
    }
}

/// Closest candidate by edit distance (case-insensitive), if close enough to be a likely typo.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let w = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(&w, &c.to_lowercase());
        if best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    let limit = (word.chars().count() / 3).clamp(1, 3);
    best.filter(|(d, _)| *d <= limit)
        .map(|(_, c)| c.to_string())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_become_one_based_line_and_char_column() {
        let text = "a = 1\nbé = \"x\"\n";
        let p = SourcePos::from_offset("f.toml", text, 0);
        assert_eq!((p.line, p.column), (1, 1));
        // byte offset of `=` on line 2: "bé " is 4 bytes, 3 chars.
        let p = SourcePos::from_offset("f.toml", text, 6 + 4);
        assert_eq!((p.line, p.column), (2, 4));
        assert_eq!(p.to_string(), "f.toml:2:4");
        // Inside a multi-byte char: no panic, steps back.
        let p = SourcePos::from_offset("f.toml", text, 8);
        assert_eq!(p.line, 2);
        assert_eq!(SourcePos::unknown("x").to_string(), "x");
    }

    #[test]
    fn closest_finds_typos_only() {
        let zones = ["Europe/Berlin", "Europe/Paris", "UTC"];
        assert_eq!(
            closest("Europe/Berln", zones).as_deref(),
            Some("Europe/Berlin")
        );
        assert_eq!(closest("Mars/Olympus", zones), None);
    }
}
