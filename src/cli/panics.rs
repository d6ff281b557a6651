//! Panics on the engine thread are caught by the session and reported as the run's
//! failure (see `session::EngineTask`). This hook keeps them off the terminal (a
//! dashboard may own it) and keeps where they happened for that report.

use std::any::Any;
use std::sync::Mutex;

/// Where the engine thread last panicked: "message at file:line:column".
static ENGINE_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Installs the hook once, before any other (the dashboard's wraps it).
pub fn install() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let on_engine = std::thread::current().name() == Some(fer::run::ENGINE_THREAD);
        if !on_engine || std::env::var_os("RUST_BACKTRACE").is_some() {
            previous(info);
        }
        if on_engine {
            let text = fer::device::memory::panic_text(info.payload());
            let location = info
                .location()
                .map(|at| format!(" at {at}"))
                .unwrap_or_default();
            if let Ok(mut slot) = ENGINE_PANIC.lock() {
                *slot = Some(format!("{text}{location}"));
            }
        }
    }));
}

/// The engine's panic, with where it happened when the hook saw it.
pub fn take_text(payload: &(dyn Any + Send)) -> String {
    ENGINE_PANIC
        .lock()
        .ok()
        .and_then(|mut slot| slot.take())
        .unwrap_or_else(|| fer::device::memory::panic_text(payload))
}
