//! Telling a device out of memory apart from other failures. burn's GPU runtimes
//! panic when an allocation fails; the session catches the panic and says what to
//! do about it instead of reporting a crash.

use std::any::Any;

/// What CubeCL, CUDA and wgpu say when an allocation does not fit.
const OUT_OF_MEMORY: [&str; 6] = [
    "out of memory",
    "out-of-memory",
    "outofmemory",
    "can't allocate buffer",
    "cuda_error_out_of_memory",
    "not enough memory",
];

/// True when a panic's text says the device ran out of memory.
pub fn out_of_memory(panic_text: &str) -> bool {
    let text = panic_text.to_lowercase();
    OUT_OF_MEMORY.iter().any(|needle| text.contains(needle))
}

/// The text of a panic's payload (`panic!` gives a `String` or a `&str`).
pub fn panic_text(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_runtimes_out_of_memory_messages() {
        for text in [
            // cubecl-runtime's IoError::BufferTooBig, what CUDA's allocator returns.
            "called `Result::unwrap()` on an `Err` value: can't allocate buffer of size: 8589934592\n",
            "An out-of-memory error happened during launch\nCaused by:\n  CUDA_ERROR_OUT_OF_MEMORY",
            "DriverError(CUDA_ERROR_OUT_OF_MEMORY, \"out of memory\")",
            "wgpu error: Validation Error\n\nCaused by:\n  Not enough memory left.",
            "OutOfMemory",
        ] {
            assert!(out_of_memory(text), "{text}");
        }
        for text in ["index out of bounds: the len is 3", "shape mismatch", ""] {
            assert!(!out_of_memory(text), "{text}");
        }
    }

    #[test]
    fn panic_payloads_become_text() {
        let payload: Box<dyn Any + Send> = Box::new("plain");
        assert_eq!(panic_text(payload.as_ref()), "plain");
        let payload: Box<dyn Any + Send> = Box::new(String::from("owned"));
        assert_eq!(panic_text(payload.as_ref()), "owned");
        let payload: Box<dyn Any + Send> = Box::new(3);
        assert_eq!(panic_text(payload.as_ref()), "a panic without a message");
    }
}
