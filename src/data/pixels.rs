//! The hot loop: turning `"70 80 82 ..."` into 2304 bytes.
//!
//! The fast path avoids the two things that make a byte-by-byte parser slow:
//! a mispredicted branch per number (1, 2 and 3 digit numbers are mixed at
//! random) and a serial dependency from one number's length to the next one's
//! start. Pass 1 computes, for every position, the value of the number that
//! would end just before it and whether the bytes are valid; it has no
//! branches, so the compiler vectorises it. Pass 2 walks a bit mask of the
//! spaces (where numbers end) and picks those values out. Only a valid/invalid
//! answer comes out; an invalid field is re-scanned slowly to say exactly what
//! is wrong, which is rare and so free.

use super::error::RowProblem;
use super::IMAGE_PIXELS;

/// Longest valid field: 2304 three-digit numbers and the spaces between them.
const MAX_FIELD: usize = 4 * IMAGE_PIXELS - 1;
/// Spaces in front of the copied field, so pass 1 can look three bytes back.
const LEAD: usize = 3;
/// Room after the field for the closing space and a full 64-byte mask block.
const TAIL: usize = 1 + 64;

/// Scratch space reused across rows (allocating it per row would cost more
/// than parsing).
pub struct PixelParser {
    padded: Vec<u8>,
    values: Vec<u8>,
}

impl Default for PixelParser {
    fn default() -> Self {
        PixelParser {
            padded: vec![b' '; LEAD + MAX_FIELD + TAIL],
            values: vec![0; MAX_FIELD + 1],
        }
    }
}

impl PixelParser {
    /// Parses a pixel field (surrounding spaces allowed) into `out`.
    pub fn parse(&mut self, field: &[u8], out: &mut [u8; IMAGE_PIXELS]) -> Result<(), RowProblem> {
        let field = field.trim_ascii();
        if self.parse_fast(field, out) {
            Ok(())
        } else {
            parse_slow(field, out)
        }
    }

    /// Accepts exactly 2304 numbers of 1-3 digits, at most 255, single spaces between.
    fn parse_fast(&mut self, field: &[u8], out: &mut [u8; IMAGE_PIXELS]) -> bool {
        let length = field.len();
        if length == 0 || length > MAX_FIELD {
            return false;
        }
        // Layout: 3 spaces, the field, then spaces (the first one ends the last number).
        self.padded[LEAD..LEAD + length].copy_from_slice(field);
        self.padded[LEAD + length..LEAD + length + TAIL].fill(b' ');
        if !values_and_validity(&self.padded, length, &mut self.values) {
            return false;
        }
        compact_at_spaces(&self.padded[LEAD..], length, &self.values, out)
    }
}

/// Pass 1: `values[i]` is the number ending just before position `i` of the
/// field (meaningful where position `i` is a space). Returns false if a byte is
/// neither digit nor space, a space does not follow a digit, a number has more
/// than 3 digits, or a value is above 255.
fn values_and_validity(padded: &[u8], length: usize, values: &mut [u8]) -> bool {
    let positions = length + 1; // the field plus its closing space
    let current = &padded[LEAD..LEAD + positions];
    let back1 = &padded[LEAD - 1..LEAD - 1 + positions];
    let back2 = &padded[LEAD - 2..LEAD - 2 + positions];
    let back3 = &padded[LEAD - 3..LEAD - 3 + positions];
    let values = &mut values[..positions];
    let mut invalid = 0u8;
    for i in 0..positions {
        let digit = |byte: u8| byte.wrapping_sub(b'0');
        let (d0, d1, d2, d3) = (
            digit(current[i]),
            digit(back1[i]),
            digit(back2[i]),
            digit(back3[i]),
        );
        let (is0, is1, is2, is3) = (d0 < 10, d1 < 10, d2 < 10, d3 < 10);
        let space = current[i] == b' ';
        // Digits count only while the run of digits before position i lasts.
        let value = u16::from(d1) * u16::from(is1)
            + 10 * u16::from(d2) * u16::from(is1 & is2)
            + 100 * u16::from(d3) * u16::from(is1 & is2 & is3);
        values[i] = value as u8;
        let bad =
            (!is0 & !space) | (space & !is1) | (is0 & is1 & is2 & is3) | (space & (value > 255));
        invalid |= u8::from(bad);
    }
    invalid == 0
}

/// Pass 2: the values at the spaces among positions `0..=length`, in order.
/// Needs 64 readable bytes past `length` and only digits and spaces before it.
fn compact_at_spaces(
    field: &[u8],
    length: usize,
    values: &[u8],
    out: &mut [u8; IMAGE_PIXELS],
) -> bool {
    let positions = length + 1;
    let mut count = 0usize;
    let mut base = 0usize;
    while base < positions {
        let mut spaces = space_mask(&field[base..base + 64]);
        if positions - base < 64 {
            spaces &= (1u64 << (positions - base)) - 1;
        }
        while spaces != 0 {
            let end = base + spaces.trailing_zeros() as usize;
            // Writing past 2304 is impossible; an over-long field just fails the count.
            if let Some(slot) = out.get_mut(count) {
                *slot = values[end];
            }
            count += 1;
            spaces &= spaces - 1;
        }
        base += 64;
    }
    count == IMAGE_PIXELS
}

/// Bit `j` set where `block[j]` is a space; valid only for digits and spaces,
/// which differ in bit 4 (0x3_ versus 0x20).
#[inline(always)]
fn space_mask(block: &[u8]) -> u64 {
    let mut mask = 0u64;
    for (k, word) in block.chunks_exact(8).enumerate() {
        let word = u64::from_le_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
        let spaces = (!word >> 4) & 0x0101_0101_0101_0101;
        // Gathers the low bit of each byte into the top byte (a portable movemask).
        mask |= (spaces.wrapping_mul(0x0102_0408_1020_4080) >> 56) << (8 * k);
    }
    mask
}

/// Tolerant parse (any run of spaces or tabs separates numbers) that names the
/// first problem. Only runs when the fast path fails, so speed does not matter.
pub fn parse_slow(field: &[u8], out: &mut [u8; IMAGE_PIXELS]) -> Result<(), RowProblem> {
    let mut count = 0usize;
    for token in field
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|t| !t.is_empty())
    {
        count += 1;
        let text = || String::from_utf8_lossy(token).into_owned();
        if !token.iter().all(u8::is_ascii_digit) {
            return Err(RowProblem::PixelNotNumber {
                position: count,
                text: text(),
            });
        }
        let value = token.iter().try_fold(0u32, |acc, &b| {
            acc.checked_mul(10)?.checked_add(u32::from(b - b'0'))
        });
        match value {
            Some(value) if value <= 255 => {
                if let Some(slot) = out.get_mut(count - 1) {
                    *slot = value as u8;
                }
            }
            _ => {
                return Err(RowProblem::PixelTooLarge {
                    position: count,
                    value: text(),
                })
            }
        }
    }
    if count == IMAGE_PIXELS {
        Ok(())
    } else {
        Err(RowProblem::PixelCount { found: count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn parse_pixels(field: &[u8], out: &mut [u8; IMAGE_PIXELS]) -> Result<(), RowProblem> {
        PixelParser::default().parse(field, out)
    }

    /// Random fields, some with one defect: the fast path accepts exactly the
    /// clean ones, and then agrees with the slow path on every pixel.
    #[test]
    fn fast_path_agrees_with_slow_path() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut parser = PixelParser::default();
        let defects: [&[u8]; 9] = [
            b"256", b"0999", b"1  2", b" ", b"x", b"12a", b"1,2", b"\t7", b"300",
        ];
        for round in 0..400 {
            let count = match round % 4 {
                0 => IMAGE_PIXELS - 1 + rng.random_range(0..3),
                _ => IMAGE_PIXELS,
            };
            let mut tokens: Vec<Vec<u8>> = (0..count)
                .map(|_| rng.random_range(0..256u32).to_string().into_bytes())
                .collect();
            if round % 3 == 0 {
                let at = rng.random_range(0..count);
                tokens[at] = defects[rng.random_range(0..defects.len())].to_vec();
            }
            let field = tokens.join(&b' ');
            let (mut fast, mut slow) = ([0u8; IMAGE_PIXELS], [0u8; IMAGE_PIXELS]);
            let fast_accepts = parser.parse_fast(&field, &mut fast);
            let slow_result = parse_slow(&field, &mut slow);
            let clean = round % 3 != 0 && count == IMAGE_PIXELS;
            assert_eq!(fast_accepts, clean, "round {round}");
            if fast_accepts {
                assert_eq!(slow_result, Ok(()), "round {round}");
                assert_eq!(fast, slow, "round {round}");
            }
        }
    }

    fn field(values: &[u32]) -> Vec<u8> {
        values
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(" ")
            .into_bytes()
    }

    fn pattern() -> Vec<u32> {
        (0..IMAGE_PIXELS as u32)
            .map(|i| (i * 37 + i / 7) % 256)
            .collect()
    }

    #[test]
    fn parses_every_value_and_digit_count() {
        let values = pattern();
        let mut out = [0u8; IMAGE_PIXELS];
        parse_pixels(&field(&values), &mut out).unwrap();
        assert!(values
            .iter()
            .zip(out.iter())
            .all(|(&v, &o)| v == u32::from(o)));
        let all_values: Vec<u32> = (0..IMAGE_PIXELS as u32).map(|i| i % 256).collect();
        parse_pixels(&field(&all_values), &mut out).unwrap();
        assert_eq!(out[255], 255);
        assert_eq!(out[256], 0);
    }

    #[test]
    fn accepts_surrounding_spaces() {
        let mut text = b"  ".to_vec();
        text.extend(field(&pattern()));
        text.extend(b" \r");
        let mut out = [0u8; IMAGE_PIXELS];
        assert_eq!(parse_pixels(&text, &mut out), Ok(()));
    }

    #[test]
    fn reports_count_range_and_junk() {
        let mut out = [0u8; IMAGE_PIXELS];
        let mut values = pattern();
        values.pop();
        assert_eq!(
            parse_pixels(&field(&values), &mut out),
            Err(RowProblem::PixelCount {
                found: IMAGE_PIXELS - 1
            })
        );
        values.extend([1, 2]);
        assert_eq!(
            parse_pixels(&field(&values), &mut out),
            Err(RowProblem::PixelCount {
                found: IMAGE_PIXELS + 1
            })
        );
        let mut values = pattern();
        values[9] = 256;
        assert_eq!(
            parse_pixels(&field(&values), &mut out),
            Err(RowProblem::PixelTooLarge {
                position: 10,
                value: "256".into()
            })
        );
        values[9] = 1000;
        assert!(matches!(
            parse_pixels(&field(&values), &mut out),
            Err(RowProblem::PixelTooLarge { position: 10, .. })
        ));
        let mut text = field(&pattern());
        text[0] = b'x';
        assert!(matches!(
            parse_pixels(&text, &mut out),
            Err(RowProblem::PixelNotNumber { position: 1, .. })
        ));
    }

    #[test]
    fn slow_path_accepts_odd_spacing_and_leading_zeros() {
        let values = pattern();
        let spaced: Vec<String> = values.iter().map(|v| format!("{v:04}")).collect();
        let text = spaced.join(" \t ").into_bytes();
        let mut out = [0u8; IMAGE_PIXELS];
        assert_eq!(parse_pixels(&text, &mut out), Ok(()));
        assert!(values
            .iter()
            .zip(out.iter())
            .all(|(&v, &o)| v == u32::from(o)));
    }

    #[test]
    fn rejects_extra_and_missing_numbers_after_odd_spacing() {
        let mut out = [0u8; IMAGE_PIXELS];
        let mut text = field(&pattern());
        text.extend(b"  1");
        assert_eq!(
            parse_pixels(&text, &mut out),
            Err(RowProblem::PixelCount {
                found: IMAGE_PIXELS + 1
            })
        );
        assert_eq!(
            parse_pixels(b"", &mut out),
            Err(RowProblem::PixelCount { found: 0 })
        );
        assert!(matches!(
            parse_pixels(b"1 2 3,4", &mut out),
            Err(RowProblem::PixelNotNumber { position: 3, .. })
        ));
    }
}
