//! Fuzz the thermal dataset's CSV frame reader: any text gives 768 finite readings or a
//! `DatasetError`; never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigil_thermal::dataset::parse_csv;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse_csv(Path::new("fuzz_1.csv"), text) {
        Ok(frame) => assert_eq!(frame.len(), 768, "an accepted frame has 768 readings"),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
