//! Fuzz the config parser: any text either parses into a validated `Config` or gives a
//! `ConfigError` whose message renders; it never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, "fuzz.toml") {
        Ok(c) => {
            // A valid config yields its class policy (used at every append).
            let _ = c.class_policy();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
