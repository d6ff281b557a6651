//! The CPU's cache sizes, for kernels whose blocking depends on them.

use std::sync::OnceLock;

/// The first CPU's level-2 (data or unified) cache in bytes, as Linux's sysfs says;
/// None elsewhere or when it does not say.
pub(crate) fn l2_bytes() -> Option<usize> {
    static BYTES: OnceLock<Option<usize>> = OnceLock::new();
    *BYTES.get_or_init(read_l2_bytes)
}

fn read_l2_bytes() -> Option<usize> {
    let caches = std::fs::read_dir("/sys/devices/system/cpu/cpu0/cache").ok()?;
    caches.filter_map(Result::ok).find_map(|entry| {
        let read = |name: &str| std::fs::read_to_string(entry.path().join(name)).ok();
        let is_l2 = read("level")?.trim() == "2" && read("type")?.trim() != "Instruction";
        is_l2.then(|| parse_size(&read("size")?)).flatten()
    })
}

/// sysfs's `2048K` (or `2M`, or plain bytes) as bytes.
fn parse_size(text: &str) -> Option<usize> {
    let text = text.trim();
    let (digits, unit) = if let Some(digits) = text.strip_suffix('K') {
        (digits, 1 << 10)
    } else if let Some(digits) = text.strip_suffix('M') {
        (digits, 1 << 20)
    } else {
        (text, 1)
    };
    digits.parse::<usize>().ok()?.checked_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sysfs_sizes_parse() {
        assert_eq!(parse_size("2048K\n"), Some(2 << 20));
        assert_eq!(parse_size("2M"), Some(2 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("big"), None);
        assert_eq!(parse_size(""), None);
    }
}
