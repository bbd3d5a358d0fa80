//! vigil power controller on an ESP32-C3 (e.g. ESP32-C3-DevKitM-1). All logic is in
//! `vigil-esp32-power` (tested on the host); this file only wires pins, flash and Wi-Fi.
//!
//! Wiring (3.3 V logic on both sides; never connect 5 V to a GPIO):
//!
//! | ESP32-C3                   | to                                                       |
//! |----------------------------|----------------------------------------------------------|
//! | GPIO6 (UART1 TX)           | Pi BCM GPIO15 / RXD, physical pin 10                     |
//! | GPIO7 (UART1 RX)           | Pi BCM GPIO14 / TXD, physical pin 8                      |
//! | GND                        | Pi GND, physical pin 6 (grounds must be joined)          |
//! | GPIO4 (relay, active high) | relay/MOSFET driver input switching the Pi's 5 V supply  |
//! | GPIO5 (override, pull-up)  | maintenance switch to GND: closed = keep the Pi powered  |
//!
//! The Pi side: `enable_uart=1`, serial console off, 115 200 baud 8N1 on /dev/serial0.
//! The relay: prefer a latching relay (or a driver that holds through a reset), so that a
//! reset of this board does not drop the Pi; the core re-asserts the saved state at boot.
//! Avoid the strapping pins GPIO2, GPIO8 and GPIO9. Flash: the `vigil` partition of
//! `partitions.csv` (32 KiB at 0x110000) holds boot id, relay state, windows and events.
#![no_std]
#![no_main]

mod net;

use esp_hal::gpio::{Input, InputConfig, Level, Output, OutputConfig, Pull};
use esp_hal::time::Instant;
use esp_hal::uart::{Config as UartConfig, Uart};
use esp_storage::FlashStorage;
use vigil_esp32_power::{Config, NorFlashStorage, Shell};

esp_bootloader_esp_idf::esp_app_desc!();

/// Offset of the `vigil` data partition (see partitions.csv).
const RECORDS_AT: u32 = 0x11_0000;

#[esp_hal::main]
fn main() -> ! {
    let p = esp_hal::init(esp_hal::Config::default());
    let now = || Instant::now().duration_since_epoch().as_micros();
    let uart = Uart::new(p.UART1, UartConfig::default().with_baudrate(115_200))
        .expect("UART1 accepts 115200 8N1")
        .with_tx(p.GPIO6)
        .with_rx(p.GPIO7);
    let relay = Output::new(p.GPIO4, Level::Low, OutputConfig::default());
    let override_in = Input::new(p.GPIO5, InputConfig::default().with_pull(Pull::Up));
    let store = NorFlashStorage::new(FlashStorage::new(p.FLASH), RECORDS_AT)
        .expect("the vigil partition fits the flash");
    let cfg = Config {
        device: option_env!("DEVICE_ID")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1),
        ..Config::default()
    };
    let mut shell = Shell::boot(cfg, store, uart, relay, override_in, true, now())
        .expect("UART and pins answer at boot");
    let mut net = net::Sntp::start(p.WIFI, p.TIMG0);
    loop {
        let reply = net.poll();
        match shell.poll(now(), reply.as_deref()) {
            Ok(Some(request)) => net.send(&request),
            Ok(None) => {}
            Err(e) => esp_println::println!("vigil: {e}"),
        }
    }
}
