//! The serial wire protocol shared by the boards and the Pi: COBS frames with CRC-32 around MessagePack bodies.
#![no_std]
