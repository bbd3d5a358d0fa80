//! One payload type per event kind, grouped by the actor that emits them.

pub mod camera;
pub mod classifier;
pub mod clock;
pub mod gpio;
pub mod ops;
pub mod power;

pub use camera::*;
pub use classifier::*;
pub use clock::*;
pub use gpio::*;
pub use ops::*;
pub use power::*;
