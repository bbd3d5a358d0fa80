//! Fuzz the export importer: any bytes offered to `vigil import` (a msgpack export) are either
//! imported whole, every record checked, or refused with a `StoreError`; never a panic. One
//! empty store in a temporary directory serves every run (a refused import writes nothing);
//! when an input is accepted the store is replaced by a fresh one.
#![no_main]

use std::io::Cursor;
use std::path::Path;
use std::sync::Mutex;

use libfuzzer_sys::fuzz_target;
use vigil_store::{Store, StoreError, StoreOptions};

struct Empty {
    // Dropped after the store (field order), which removes the directory.
    store: Store,
    _dir: tempfile::TempDir,
}

fn fresh() -> Empty {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::open(&dir.path().join("log"), StoreOptions::default())
        .expect("an empty store opens");
    Empty { store, _dir: dir }
}

static STORE: Mutex<Option<Empty>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut guard = STORE.lock().unwrap_or_else(|e| e.into_inner());
    let empty = guard.get_or_insert_with(fresh);
    match empty
        .store
        .import_msgpack(Cursor::new(data), Path::new("fuzz.vexp"))
    {
        Ok(summary) => {
            if summary.count > 0 {
                *guard = None;
            }
        }
        Err(StoreError::NotEmpty { .. }) => panic!("a refused import left records behind"),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
