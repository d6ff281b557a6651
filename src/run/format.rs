//! Number formats shared by every viewer of a run (dashboard, board, reports).

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
}
