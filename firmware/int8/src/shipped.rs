//! The default model shipped with vigil, trained and quantized by
//! `firmware/int8/models/reproduce.sh` (see `firmware/int8/models/README.md` for its figures).
//! The Pico firmware, the Pico simulator, the station's classifier and `vigil classify` all
//! use these bytes unless a config or flag names another model.
//!
//! [`INT8`] is there without the `std` feature (the RP2040 board compiles it in); the f32
//! reference ([`F32_JSON`], [`f32_model`]) needs `std`.

/// The int8 model (vigil-int8 `VGI8` format).
pub const INT8: &[u8] = include_bytes!("../models/default.vgi8");

/// The f32 reference the int8 model was quantized from ([`crate::f32model`] JSON format).
#[cfg(feature = "std")]
pub const F32_JSON: &str = include_str!("../models/default.f32.json");

/// The f32 reference, parsed.
#[cfg(feature = "std")]
pub fn f32_model() -> Result<crate::reference::F32Model, crate::f32model::F32ModelError> {
    crate::f32model::from_json(std::path::Path::new("<shipped default.f32.json>"), F32_JSON)
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn shipped_models_parse_and_agree_in_shape() {
        let q = crate::Model::parse(INT8).expect("int8 parses");
        assert!(INT8.len() <= 10 * 1024, "{} bytes", INT8.len());
        assert_eq!(q.n_classes(), 3);
        f32_model().expect("f32 parses");
    }
}
