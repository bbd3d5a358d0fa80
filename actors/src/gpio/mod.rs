//! The GPIO actor: debounced input edges, and outputs and PWM driven only by rules.
//!
//! Split as the power actor is: [`plan`] (what the config resolves to, and its checks),
//! [`core`] (the pure core), [`performer`] with the pin backends ([`sim`], `rppal`).
//!
//! # Config ([`vigil_config::GpioConfig`] → [`GpioPlan`])
//!
//! The station resolves the validated `[gpio]` section straight to a plan
//! ([`GpioPlan::from_config`]): the pins are the BCM numbers the config resolved, through the
//! one header table ([`vigil_config::gpio::header`]); `Pull`, `EdgeMode`, `RuleAction` and
//! every check of names, pins, kinds, fields and targets are the config's. Each pin is an input
//! (pull, edge mode, debounce), an output (rest level) or a PWM output (rest frequency and
//! duty). A rule says: on an event of kind `on` (optionally only when some payload fields have
//! given values, e.g. `class = person` on `Detection`), set an output high or low, or set a
//! PWM output's duty (and optionally its frequency); with a hold time, the pin returns to the
//! state it had before the rule fired once the hold has passed.
//! The plan refuses what is the actor's own to refuse: a rule on `OutputChanged`/`PwmChanged`
//! (it would feed on itself), a PWM duty outside 0–100 % or a frequency that is not above
//! zero, and an input debounced faster than it is sampled.
//!
//! # Core ([`GpioCore`])
//!
//! Rule outputs are the core's decisions: for each matching rule it emits `OutputChanged` /
//! `PwmChanged` (only when the level or setting actually changes) and a [`GpioCommand`] for
//! the hardware. A rule firing again while its hold runs extends the hold (the state to return
//! to stays the one from before the first firing); a rule without hold on the same pin
//! cancels a pending hold. Rules are applied in config order. The core subscribes to every kind
//! (rules may name any) and ignores the rest.
//!
//! # Performer ([`GpioPerformer`])
//!
//! Sets the pins up from the plan, drives outputs on command, and — when its thread calls
//! [`GpioPerformer::poll`] every [`GpioPerformer::poll_interval`] — samples inputs through the
//! [`debounce::Debouncer`] and returns `GpioEdge` events. On stop every pin goes back to an
//! input without bias, recorded as `OutputChanged { rule: "release" }` for each output.
pub mod core;
pub mod debounce;
pub mod performer;
pub mod pins;
pub mod plan;
#[cfg(feature = "rpi")]
pub mod rppal;
pub mod sim;

pub use self::core::{GpioCommand, GpioCore};
pub use debounce::{Debounced, Debouncer};
pub use performer::GpioPerformer;
pub use pins::{EdgeMode, PinBackend, PinError, Pull};
pub use plan::{
    GpioConfigError, GpioPlan, PinRole, ResolvedPin, Rule, RuleAction, DEFAULT_POLL_INTERVAL,
};
pub use sim::{SimHandle, SimPins};
