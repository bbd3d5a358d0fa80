#![doc = include_str!("../README.md")]

mod catalogue;
mod class;
pub mod kinds;
pub mod legacy;
mod record;
pub mod samples;
mod source;

pub use catalogue::{Event, EventKind};
pub use class::{ClassPolicy, ClassPolicyError, DataClass, UnknownClass};
pub use record::{
    decode_payload, encode_raw, seal_aad, BoardOrigin, DecodeError, Envelope, Hash, NewEvent,
    RecordHeader, SealedPayload, UtcMicros, SEALED_EXT, SEALED_KEY_ID,
};
pub use source::{Source, UnknownSource};
