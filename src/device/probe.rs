//! Asking a GPU backend for a tiny computation. burn's GPU runtimes load their
//! drivers lazily and panic when something is missing, so the question runs with the
//! panic caught and its message kept off the terminal.

use std::any::Any;

/// Runs `sum_of_four_ones` (which should give 4) quietly; `Err` is the first line of
/// what went wrong.
#[cfg_attr(not(any(feature = "cuda", feature = "wgpu")), allow(dead_code))]
pub fn answers(
    sum_of_four_ones: impl FnOnce() -> f32 + std::panic::UnwindSafe,
) -> Result<(), String> {
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let answer = std::panic::catch_unwind(sum_of_four_ones);
    std::panic::set_hook(previous_hook);
    match answer {
        Ok(sum) => (sum == 4.0)
            .then_some(())
            .ok_or_else(|| format!("a test computation gave {sum} instead of 4")),
        Err(panic) => Err(panic_message(&panic)),
    }
}

fn panic_message(panic: &Box<dyn Any + Send>) -> String {
    let text = super::memory::panic_text(panic.as_ref());
    text.lines().next().unwrap_or_default().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_first_line() {
        let result = answers(|| panic!("driver missing\nmore detail"));
        assert_eq!(result, Err("driver missing".to_string()));
        assert!(answers(|| 4.0).is_ok());
        assert!(answers(|| 3.0).unwrap_err().contains("gave 3"));
    }
}
