//! The Pico thermal core: MLX90640 driver over embedded-hal, person detection with hysteresis, LED and wire events.
#![no_std]
