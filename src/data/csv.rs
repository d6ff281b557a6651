//! The Kaggle `fer2013.csv` format and its `icml_face_data.csv` variant:
//! columns found by header name, one image per line.
//!
//! Lines are split by hand instead of with the `csv` crate: the pixel field has
//! no commas or quotes, so the small fields are found by scanning from both
//! ends of the line and the 8 KB pixel field is only ever read by the pixel
//! parser.

use std::path::Path;

use super::error::{DataError, RowProblem};
use super::pixels::PixelParser;
use super::{IMAGE_PIXELS, NUM_CLASSES};

/// Where the columns we need sit in each line.
#[derive(Debug, Clone, Copy)]
pub struct Columns {
    count: usize,
    emotion: usize,
    pixels: usize,
    pub usage: Option<usize>,
}

/// Which split a row's `Usage` puts it in; the value indexes
/// `[train, val, test]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    Training = 0,
    PublicTest = 1,
    PrivateTest = 2,
}

/// One parsed row (its pixels go to a caller-provided buffer).
pub struct Row {
    pub label: u8,
    pub usage: Usage,
}

pub fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Trims spaces and one pair of surrounding double quotes.
fn clean_field(field: &[u8]) -> &[u8] {
    let field = field.trim_ascii();
    field
        .strip_prefix(b"\"")
        .and_then(|inner| inner.strip_suffix(b"\""))
        .map_or(field, <[u8]>::trim_ascii)
}

pub fn find_columns(header: &[u8], file: &Path) -> Result<Columns, DataError> {
    let header = trim_line_end(header);
    let header = header.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(header);
    let names: Vec<String> = header
        .split(|&b| b == b',')
        .map(|name| String::from_utf8_lossy(clean_field(name)).to_ascii_lowercase())
        .collect();
    let position = |wanted: &str| names.iter().position(|name| name == wanted);
    let missing = |column: &'static str| DataError::MissingColumn {
        file: file.to_path_buf(),
        column,
        found: describe_header(&names),
    };
    Ok(Columns {
        count: names.len(),
        emotion: position("emotion").ok_or_else(|| missing("emotion"))?,
        pixels: position("pixels").ok_or_else(|| missing("pixels"))?,
        usage: position("usage"),
    })
}

/// Header names for an error message, shortened in case the "header" is data.
fn describe_header(names: &[String]) -> String {
    let shorten = |name: &String| match name.char_indices().nth(24) {
        Some((cut, _)) => format!("`{}...`", &name[..cut]),
        None => format!("`{name}`"),
    };
    names.iter().map(shorten).collect::<Vec<_>>().join(", ")
}

pub fn parse_row(
    line: &[u8],
    columns: &Columns,
    parser: &mut PixelParser,
    pixels: &mut [u8; IMAGE_PIXELS],
) -> Result<Row, RowProblem> {
    let wrong_field_count = || RowProblem::FieldCount {
        expected: columns.count,
        found: line.iter().filter(|&&b| b == b',').count() + 1,
    };
    // Fields left of the pixels end at the pixels'th comma from the start;
    // fields right of them start after the (count - 1 - pixels)'th comma from the end.
    let left_end = nth_comma(line.iter().enumerate(), columns.pixels);
    let right_start = nth_comma(
        line.iter().enumerate().rev(),
        columns.count - 1 - columns.pixels,
    );
    let (Some(left_end), Some(right_start)) = (left_end, right_start) else {
        return Err(wrong_field_count());
    };
    let pixel_start = if columns.pixels == 0 { 0 } else { left_end + 1 };
    let pixel_end = if columns.pixels + 1 == columns.count {
        line.len()
    } else {
        right_start
    };
    if pixel_start > pixel_end {
        return Err(wrong_field_count());
    }
    let field = |index: usize| -> &[u8] {
        let found = if index < columns.pixels {
            line[..left_end].split(|&b| b == b',').nth(index)
        } else {
            line[right_start + 1..]
                .split(|&b| b == b',')
                .nth(index - columns.pixels - 1)
        };
        clean_field(found.unwrap_or_default())
    };

    let pixel_field = clean_field(&line[pixel_start..pixel_end]);
    // Extra commas shift the small fields and land in the pixel field: on any
    // problem, blame the field count first.
    let explain = |problem: RowProblem| {
        if pixel_field.contains(&b',') {
            wrong_field_count()
        } else {
            problem
        }
    };
    let label = parse_label(field(columns.emotion)).map_err(explain)?;
    let usage = match columns.usage {
        Some(index) => parse_usage(field(index)).map_err(explain)?,
        None => Usage::Training,
    };
    parser.parse(pixel_field, pixels).map_err(explain)?;
    Ok(Row { label, usage })
}

/// Position of the `n`th comma (1-based) in `bytes`; `n == 0` yields `Some(0)`
/// as a placeholder because the caller then does not use it.
fn nth_comma<'a>(bytes: impl Iterator<Item = (usize, &'a u8)>, n: usize) -> Option<usize> {
    if n == 0 {
        return Some(0);
    }
    bytes
        .filter(|(_, &b)| b == b',')
        .nth(n - 1)
        .map(|(position, _)| position)
}

fn parse_label(text: &[u8]) -> Result<u8, RowProblem> {
    let owned = || String::from_utf8_lossy(text).into_owned();
    let value: i64 = std::str::from_utf8(text)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| RowProblem::LabelNotNumber { text: owned() })?;
    match u8::try_from(value) {
        Ok(label) if usize::from(label) < NUM_CLASSES => Ok(label),
        _ => Err(RowProblem::LabelOutOfRange { value: owned() }),
    }
}

fn parse_usage(text: &[u8]) -> Result<Usage, RowProblem> {
    const NAMES: [(&[u8], Usage); 3] = [
        (b"training", Usage::Training),
        (b"publictest", Usage::PublicTest),
        (b"privatetest", Usage::PrivateTest),
    ];
    NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(text))
        .map(|&(_, usage)| usage)
        .ok_or_else(|| RowProblem::UnknownUsage {
            text: String::from_utf8_lossy(text).into_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(header: &str) -> Columns {
        find_columns(header.as_bytes(), Path::new("x.csv")).unwrap()
    }

    fn pixel_text() -> String {
        vec!["7"; IMAGE_PIXELS].join(" ")
    }

    #[test]
    fn finds_columns_in_any_order_with_spaces() {
        let found = columns("\u{feff}emotion, Usage, pixels\r\n");
        assert_eq!(
            (found.count, found.emotion, found.usage, found.pixels),
            (3, 0, Some(1), 2)
        );
        let found = columns("pixels,\"Emotion\"");
        assert_eq!(
            (found.count, found.emotion, found.usage, found.pixels),
            (2, 1, None, 0)
        );
    }

    #[test]
    fn splits_rows_around_the_pixel_field() {
        let mut pixels = [0u8; IMAGE_PIXELS];
        let line = format!("4, PrivateTest, {}", pixel_text());
        let row = parse_row(
            line.as_bytes(),
            &columns("emotion, Usage, pixels"),
            &mut PixelParser::default(),
            &mut pixels,
        )
        .unwrap();
        assert_eq!((row.label, row.usage), (4, Usage::PrivateTest));
        assert!(pixels.iter().all(|&p| p == 7));
        let line = format!("x,\"{}\",2,PublicTest", pixel_text());
        let row = parse_row(
            line.as_bytes(),
            &columns("id,pixels,emotion,Usage"),
            &mut PixelParser::default(),
            &mut pixels,
        )
        .unwrap();
        assert_eq!((row.label, row.usage), (2, Usage::PublicTest));
    }

    #[test]
    fn names_field_count_problems() {
        let mut pixels = [0u8; IMAGE_PIXELS];
        let header = columns("emotion,pixels,Usage");
        let short = format!("3,{}", pixel_text());
        assert_eq!(
            parse_row(
                short.as_bytes(),
                &header,
                &mut PixelParser::default(),
                &mut pixels
            )
            .err(),
            Some(RowProblem::FieldCount {
                expected: 3,
                found: 2
            })
        );
        let long = format!("3,{},Training,extra", pixel_text());
        assert_eq!(
            parse_row(
                long.as_bytes(),
                &header,
                &mut PixelParser::default(),
                &mut pixels
            )
            .err(),
            Some(RowProblem::FieldCount {
                expected: 3,
                found: 4
            })
        );
    }
}
