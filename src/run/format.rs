//! Number formats shared by every viewer of a run (dashboard, plain lines, board,
//! reports): counts with separators, run times, file sizes.

/// `1234567` -> `"1,234,567"`.
pub fn with_thousands_separators(value: usize) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

/// `3725.0` → `1h02m05s`.
pub fn duration(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    match h {
        0 => format!("{m}m{s:02}s"),
        _ => format!("{h}h{m:02}m{s:02}s"),
    }
}

/// Bytes in KiB/MiB.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b => format!("{:.1} KiB", b as f64 / 1024.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators_group_from_the_right() {
        assert_eq!(with_thousands_separators(0), "0");
        assert_eq!(with_thousands_separators(999), "999");
        assert_eq!(with_thousands_separators(1000), "1,000");
        assert_eq!(with_thousands_separators(271_991), "271,991");
        assert_eq!(with_thousands_separators(58_149_319), "58,149,319");
    }

    #[test]
    fn formats_numbers_for_people() {
        assert_eq!(with_thousands_separators(11_171_271), "11,171,271");
        assert_eq!(with_thousands_separators(999), "999");
        assert_eq!(duration(3725.0), "1h02m05s");
        assert_eq!(duration(65.4), "1m05s");
        assert_eq!(size(3 << 20), "3.0 MiB");
    }
}
