//! The int8 inference engine shared by the Pico and the Pi: integer-only, bit-identical everywhere.
#![no_std]
