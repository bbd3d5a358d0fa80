//! Data classes (grades) of the industrial data-security rules, and the policy that lets
//! config raise, never lower, the class of a kind.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::EventKind;

/// The three grades of the data-security rules, ordered from least to most sensitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataClass {
    /// Ordinary operational data.
    General,
    /// Data whose loss or tampering harms operations or audit (power decisions, config).
    Important,
    /// The most sensitive grade.
    Core,
}

impl DataClass {
    /// All classes, least sensitive first.
    pub const ALL: [DataClass; 3] = [DataClass::General, DataClass::Important, DataClass::Core];

    /// The lowercase name used in config files, the CLI and the stored bytes.
    pub fn as_str(self) -> &'static str {
        match self {
            DataClass::General => "general",
            DataClass::Important => "important",
            DataClass::Core => "core",
        }
    }

    /// One byte code, stable forever (used in index keys).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Inverse of [`DataClass::code`].
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }
}

impl fmt::Display for DataClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A class name that is not one of `general`, `important`, `core`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown data class `{0}` (expected general, important or core)")]
pub struct UnknownClass(pub String);

impl FromStr for DataClass {
    type Err = UnknownClass;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "general" => Ok(DataClass::General),
            "important" => Ok(DataClass::Important),
            "core" => Ok(DataClass::Core),
            other => Err(UnknownClass(other.to_string())),
        }
    }
}

/// Refused change to a kind's class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClassPolicyError {
    /// Config asked for a class below the kind's default. Raise it or remove the entry.
    #[error("class of {kind} may be raised, never lowered: default is {default}, config asks for {asked}")]
    Lowered {
        /// The kind whose class was asked for.
        kind: &'static str,
        /// Its built-in default.
        default: DataClass,
        /// What config asked for.
        asked: DataClass,
    },
}

/// Per-kind class overrides from config. Overrides may only raise a kind's default class.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassPolicy {
    raised: BTreeMap<EventKind, DataClass>,
}

impl ClassPolicy {
    /// Raise `kind` to `class`; refused when it would lower the default.
    pub fn raise(&mut self, kind: EventKind, class: DataClass) -> Result<(), ClassPolicyError> {
        let default = kind.default_class();
        if class < default {
            return Err(ClassPolicyError::Lowered {
                kind: kind.name(),
                default,
                asked: class,
            });
        }
        self.raised.insert(kind, class);
        Ok(())
    }

    /// The class events of `kind` are recorded with.
    pub fn class_for(&self, kind: EventKind) -> DataClass {
        self.raised
            .get(&kind)
            .copied()
            .unwrap_or_else(|| kind.default_class())
    }
}
