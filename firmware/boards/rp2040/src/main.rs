//! Pico (RP2040) thermal board.
//!
//! Wiring (Raspberry Pi Pico pin numbers):
//! - MLX90640 SDA → GP8 (physical pin 11), SCL → GP9 (pin 12) — I2C0, 400 kHz; VIN → 3V3(OUT)
//!   (pin 36), GND → GND (pin 38). Most breakouts have pull-ups; otherwise 2.2 kΩ to 3V3.
//! - LED: GP3 (pin 5) → 330 Ω → LED anode; cathode → GND (pin 8).
//! - UART0 to the Pi: GP0 TX (pin 1) → Pi RXD (GPIO15, header pin 10); GP1 RX (pin 2) ← Pi
//!   TXD (GPIO14, header pin 8); GND ↔ GND. 115200 8N1. (Or use USB CDC and `/dev/ttyACM0`.)
//!
//! Everything but the pins lives in the host-tested crates: the driver and the per-frame core
//! (`vigil-pico-thermal`), the wire frames (`vigil-wire`). The protocol handling mirrors
//! `vigil-sim`'s `PicoProtocol`: hello at boot, a thermal frame and a detection per
//! frame, `pico_config` answered with `pico_config_ack`.
#![no_std]
#![no_main]

use embassy_executor::Spawner;
use embassy_rp::gpio::{Level, Output};
use embassy_rp::i2c::{self, I2c};
use embassy_rp::uart::{self, Uart};
use panic_halt as _;
use rand_core::RngCore;
use vigil_pico_thermal::{DetectorConfig, Mlx90640, PicoCore, Station};
use vigil_wire::{
    encode_frame, BoardRole, BoardTime, Detection, FirmwareVersion, Header, Hello, Packet,
    ThermalFrame, MAX_FRAME_LEN,
};

// The shipped model (`firmware/int8/models/default.vgi8`), compiled in by vigil-int8.
static MODEL: &[u8] = vigil_int8::shipped::INT8;
const DEVICE: u32 = 0x0050_1C01;

#[embassy_executor::main]
async fn main(_spawner: Spawner) {
    let p = embassy_rp::init(Default::default());
    let i2c = I2c::new_blocking(p.I2C0, p.PIN_9, p.PIN_8, i2c::Config::default());
    let led = Output::new(p.PIN_3, Level::Low);
    let mut uart = Uart::new_blocking(p.UART0, p.PIN_0, p.PIN_1, uart::Config::default());

    let Ok(model) = vigil_int8::Model::parse(MODEL) else {
        loop {}
    };
    let arena = static_cell::make_static!([0i8; 16 * 1024]);
    let Ok(core) = PicoCore::new(model, arena, DetectorConfig::default(), led) else {
        loop {}
    };
    let Ok(mut station) = Station::new(Mlx90640::new(i2c), core) else {
        loop {}
    };

    // A persisted boot counter belongs in flash; the ROM's random source will do for a sketch.
    let boot = embassy_rp::clocks::RoscRng.next_u32();
    let mut seq = 0u32;
    let mut out = [0u8; MAX_FRAME_LEN];
    let mut send = |uart: &mut Uart<'_, _, _>, m: vigil_wire::Message| {
        seq = seq.wrapping_add(1);
        let packet = Packet {
            header: Header {
                device: DEVICE,
                boot,
                seq,
            },
            message: m,
        };
        if let Ok(n) = encode_frame(&packet, &mut out) {
            let _ = uart.blocking_write(&out[..n]);
        }
    };
    let fw = FirmwareVersion {
        major: 0,
        minor: 1,
        patch: 0,
    };
    send(
        &mut uart,
        Hello {
            role: BoardRole::Thermal,
            protocol: 1,
            firmware: fw,
            time: BoardTime::default(),
            uptime_ms: 0,
        }
        .into(),
    );
    loop {
        // Sensor wait and inference together (the Pi measures its own inference alone).
        let t0 = embassy_time::Instant::now();
        if let Ok(Some((o, frame))) = station.step(100_000) {
            let latency_us = t0.elapsed().as_micros() as u32;
            if o.send_frame {
                send(
                    &mut uart,
                    ThermalFrame {
                        frame: o.frame,
                        centi_c: *frame,
                    }
                    .into(),
                );
            }
            let d = o.detection;
            // The core's class is the wire's ThermalClass (one enum on both sides).
            let class = d.class;
            send(
                &mut uart,
                Detection {
                    frame: d.frame,
                    class,
                    confidence_permille: d.confidence_permille,
                    person_present: d.person_present,
                    latency_us,
                }
                .into(),
            );
        }
    }
}
