//! `[gpio]`: input, output and PWM pins, and the rules that drive outputs from events.
//!
//! Pins are named by BCM number (`pin = 17`, or `"bcm:17"`) or by physical header pin
//! (`pin = "board:11"`); both forms are mapped to a [`PinRef`] carrying both numbers. A pin
//! used twice, a power or ground header pin, BCM 0/1 (reserved for the HAT ID EEPROM), a
//! number that is not on the 40-pin header, and GPIO 14/15 while a board link uses the
//! header UART are all refused.
//!
//! ```toml
//! [gpio]
//! backend = "sim"                  # or "rppal" (cargo feature `rpi`)
//!
//! [[gpio.input]]
//! name = "button"
//! pin = "board:11"                 # = BCM 17
//! pull = "up"                      # up | down | none
//! edge = "falling"                 # rising | falling | both
//! debounce_ms = 20
//!
//! [[gpio.output]]
//! name = "led"
//! pin = 18
//! initial = "low"
//!
//! [[gpio.pwm]]
//! name = "fan"
//! pin = 13
//! frequency_hz = 25000
//! duty = 0                         # percent, 0–100
//!
//! [[gpio.rule]]
//! on = "Detection"                 # an event kind
//! match = { class = "person" }     # optional: payload fields that must be equal
//! set = "led"
//! level = "high"                   # outputs: level; PWM pins: duty (and frequency_hz)
//! for = "5s"                       # optional: back to the previous state after this
//! ```
//!
//! ## Troubleshooting
//!
//! - "is a 5 V power pin" / "is a ground pin": the physical pin number is not a GPIO; see the
//!   header map in the docs of [`PinRef::from_board`].
//! - "is the UART used by power.port": GPIO 14/15 carry the serial link to the ESP32 when
//!   `power.port` (or `pico.port`) is `/dev/serial0`; pick another pin.
//!
//! The module is split in three: [`header`] (the 40-pin header table and [`PinRef`]), [`schema`]
//! (the validated types, what the GPIO actor takes as its input) and `validate` (the raw TOML
//! shapes and the checks that turn them into a [`GpioConfig`]).

pub mod header;
pub mod schema;
mod validate;

pub use header::{PinError, PinRef};
pub use schema::{
    EdgeMode, GpioBackend, GpioConfig, GpioRule, InputPin, MatchValue, OutputPin, Pull, PwmPin,
    RuleAction, SimPress, UnknownName,
};
pub(crate) use validate::{RawGpio, UartUsers};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn board_and_bcm_numbers_map_both_ways() {
        assert_eq!(
            PinRef::parse("board:11"),
            Ok(PinRef {
                bcm: 17,
                physical: 11
            })
        );
        assert_eq!(
            PinRef::parse("17"),
            Ok(PinRef {
                bcm: 17,
                physical: 11
            })
        );
        assert_eq!(
            PinRef::parse("bcm:21"),
            Ok(PinRef {
                bcm: 21,
                physical: 40
            })
        );
        // Every BCM 2–27 is on the header exactly once, and round-trips.
        for bcm in 2..=27 {
            let p = PinRef::from_bcm(bcm).unwrap_or(PinRef {
                bcm: 0,
                physical: 0,
            });
            assert_eq!(i64::from(p.bcm), bcm);
            assert_eq!(PinRef::from_board(i64::from(p.physical)), Ok(p));
        }
    }

    #[test]
    fn power_ground_reserved_and_unknown_pins_are_refused() {
        assert_eq!(
            PinRef::parse("board:2"),
            Err(PinError::NotGpio {
                physical: 2,
                what: "5 V power"
            })
        );
        assert_eq!(
            PinRef::parse("board:17"),
            Err(PinError::NotGpio {
                physical: 17,
                what: "3.3 V power"
            })
        );
        assert_eq!(
            PinRef::parse("board:39"),
            Err(PinError::NotGpio {
                physical: 39,
                what: "ground"
            })
        );
        assert_eq!(PinRef::parse("board:41"), Err(PinError::UnknownBoard(41)));
        assert_eq!(PinRef::parse("board:0"), Err(PinError::UnknownBoard(0)));
        assert_eq!(PinRef::parse("28"), Err(PinError::UnknownBcm(28)));
        assert_eq!(PinRef::parse("-3"), Err(PinError::UnknownBcm(-3)));
        assert_eq!(
            PinRef::parse("0"),
            Err(PinError::Reserved {
                bcm: 0,
                physical: 27
            })
        );
        assert_eq!(
            PinRef::parse("GPIO17"),
            Err(PinError::Syntax("GPIO17".into()))
        );
    }
}
