//! Keeping sled's panics off the user's terminal. sled 0.34 panics on some kinds of damage
//! (for instance `tried to serialize Uninitialized` while recovering a log cut by `kill -9`)
//! instead of returning an error; the store catches those panics and reports them as its own
//! errors. The default panic hook would still print the panic and its backtrace first, so a
//! process-wide hook is installed once that stays silent while the current thread is inside
//! [`quietly`] and defers to the previous hook everywhere else.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Run `f`, turning a panic into `Err(message)` without printing anything.
pub(crate) fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic without a message".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message() {
        assert_eq!(quietly(|| 7), Ok(7));
        let r: Result<(), String> = quietly(|| panic!("tried to serialize Uninitialized"));
        assert_eq!(r, Err("tried to serialize Uninitialized".to_string()));
        assert!(!QUIET.with(Cell::get), "the flag is restored");
    }
}
