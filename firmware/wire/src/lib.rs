#![doc = include_str!("../README.md")]
#![no_std]
#![warn(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;

mod codec;
mod frame;
mod message;

pub use codec::{decode_body, encode_body, BodyError, EncodeError, MAX_BODY_LEN, THERMAL_BYTES};
#[cfg(feature = "alloc")]
pub use frame::encode_frame_to_vec;
pub use frame::{
    decode_frame, encode_frame, encode_raw_frame, Decoded, FrameDecoder, Reject, RejectCounts,
    RejectReason, CRC_LEN, FRAME_CRC, MAX_ENCODED_LEN, MAX_FRAME_LEN,
};
pub use heapless;
pub use message::*;
