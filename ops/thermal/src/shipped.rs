//! The default model shipped with vigil, trained and quantized by
//! `ops/thermal/models/reproduce.sh` (see `ops/thermal/models/README.md` for its figures).
//! The Pico firmware, the Pico simulator, the station's classifier and `vigil classify` all
//! use these bytes unless a config or flag names another model.

use std::path::Path;

use crate::f32model::{from_json, F32ModelError};
use vigil_int8::reference::F32Model;

/// The int8 model (vigil-int8 `VGI8` format).
pub const INT8: &[u8] = include_bytes!("../models/default.vgi8");

/// The f32 reference the int8 model was quantized from (vigil-thermal JSON format).
pub const F32_JSON: &str = include_str!("../models/default.f32.json");

/// The f32 reference, parsed.
pub fn f32_model() -> Result<F32Model, F32ModelError> {
    from_json(Path::new("<shipped default.f32.json>"), F32_JSON)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_models_parse_and_agree_in_shape() {
        let q = vigil_int8::Model::parse(INT8).expect("int8 parses");
        assert!(INT8.len() <= 10 * 1024, "{} bytes", INT8.len());
        assert_eq!(q.n_classes(), 3);
        f32_model().expect("f32 parses");
    }
}
