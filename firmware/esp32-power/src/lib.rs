//! The ESP32 power-controller core: SNTP time, UTC windows, halt handshake, heartbeat watchdog, event ring buffer.
#![no_std]
