//! Bad inputs: each error names the file (and line) and the problem; with
//! `skip_bad_rows` bad rows are counted instead, but file-level errors remain.

mod data_support;

use std::path::{Path, PathBuf};

use data_support::*;
use fer::data::{load, DataError, LoadOptions, IMAGE_PIXELS};
use tempfile::{tempdir, TempDir};

fn strict() -> LoadOptions {
    LoadOptions::default()
}

fn skipping() -> LoadOptions {
    LoadOptions {
        skip_bad_rows: true,
        ..LoadOptions::default()
    }
}

/// A file with good rows on lines 2, 3 and 5 and `bad_row` on line 4.
fn with_bad_row(bad_row: &str) -> (TempDir, PathBuf) {
    let dir = tempdir().unwrap();
    let text = csv_text(
        KAGGLE_HEADER,
        &[
            kaggle_row(0, 1, "Training"),
            kaggle_row(3, 2, "PublicTest"),
            bad_row.to_string(),
            kaggle_row(6, 3, "Training"),
        ],
    );
    let path = write_file(dir.path(), "fer2013.csv", text.as_bytes());
    (dir, path)
}

fn load_error(path: &Path, options: &LoadOptions) -> DataError {
    match load(path, options) {
        Ok(dataset) => panic!(
            "{} loaded ({} train rows) but should fail",
            path.display(),
            dataset.train.len()
        ),
        Err(error) => error,
    }
}

/// Strict loading fails at line 4 with `problem`; skipping keeps the 3 good rows.
fn check_bad_row(bad_row: &str, problem: &str) {
    let (_dir, path) = with_bad_row(bad_row);
    let error = load_error(&path, &strict());
    assert_message(&error, &["fer2013.csv:4: ", problem]);
    assert!(
        matches!(error, DataError::BadRow { line: 4, .. }),
        "{error:?}"
    );
    let dataset = load(&path, &skipping()).unwrap();
    assert_eq!(dataset.skipped_rows, 1);
    assert_eq!(
        (dataset.train.labels.clone(), dataset.val.labels.clone()),
        (vec![0, 6], vec![3])
    );
}

fn pixels_with(position: usize, text: &str) -> String {
    let mut values: Vec<String> = pixels_for(9).iter().map(u8::to_string).collect();
    values[position] = text.to_string();
    values.join(" ")
}

#[test]
fn wrong_pixel_count() {
    let short = pixel_text(&pixels_for(9)[..IMAGE_PIXELS - 1]);
    check_bad_row(
        &format!("2,{short},Training"),
        "expected 2304 pixels, found 2303",
    );
    let long = format!("{} 7", pixel_text(&pixels_for(9)));
    check_bad_row(
        &format!("2,{long},Training"),
        "expected 2304 pixels, found 2305",
    );
}

#[test]
fn pixel_above_255() {
    check_bad_row(
        &format!("2,{},Training", pixels_with(99, "256")),
        "pixel 100 is 256, above 255",
    );
}

#[test]
fn pixel_not_a_number() {
    check_bad_row(
        &format!("2,{},Training", pixels_with(0, "1x")),
        "pixel 1 is not a number: `1x`",
    );
    check_bad_row(
        &format!("2,{},Training", pixels_with(5, "-3")),
        "pixel 6 is not a number: `-3`",
    );
}

#[test]
fn label_outside_range_or_not_a_number() {
    let pixels = pixel_text(&pixels_for(9));
    check_bad_row(
        &format!("7,{pixels},Training"),
        "emotion label 7 is outside 0..=6",
    );
    check_bad_row(
        &format!("-1,{pixels},Training"),
        "emotion label -1 is outside 0..=6",
    );
    check_bad_row(
        &format!("happy,{pixels},Training"),
        "emotion label `happy` is not a number",
    );
    check_bad_row(
        &format!(",{pixels},Training"),
        "emotion label `` is not a number",
    );
}

#[test]
fn unknown_usage() {
    let pixels = pixel_text(&pixels_for(9));
    check_bad_row(
        &format!("1,{pixels},Validation"),
        "unknown Usage `Validation`",
    );
}

#[test]
fn wrong_field_count() {
    let pixels = pixel_text(&pixels_for(9));
    check_bad_row(
        &format!("1,{pixels}"),
        "expected 3 comma-separated fields, found 2",
    );
    check_bad_row(
        &format!("1,{pixels},Training,extra"),
        "expected 3 comma-separated fields, found 4",
    );
}

#[test]
fn missing_file() {
    let dir = tempdir().unwrap();
    let path = dir.path().join("nowhere.csv");
    for options in [strict(), skipping()] {
        let error = load_error(&path, &options);
        assert_message(&error, &["nowhere.csv", "no such file"]);
    }
}

#[test]
fn empty_file() {
    let dir = tempdir().unwrap();
    let path = write_file(dir.path(), "empty.csv", b"");
    assert_message(
        &load_error(&path, &skipping()),
        &["empty.csv", "file is empty"],
    );
}

#[test]
fn header_without_rows() {
    let dir = tempdir().unwrap();
    let path = write_file(dir.path(), "header.csv", b"emotion,pixels,Usage\n");
    assert_message(
        &load_error(&path, &strict()),
        &["header.csv", "no data rows"],
    );
}

#[test]
fn only_bad_rows_while_skipping() {
    let dir = tempdir().unwrap();
    let text = csv_text(
        KAGGLE_HEADER,
        &["9,1 2 3,Training".into(), "x,1,Training".into()],
    );
    let path = write_file(dir.path(), "bad.csv", text.as_bytes());
    assert_message(
        &load_error(&path, &skipping()),
        &["bad.csv", "no data rows", "2 bad ones skipped"],
    );
}

#[test]
fn missing_column_is_named() {
    let dir = tempdir().unwrap();
    let pixels = pixel_text(&pixels_for(1));
    for (header, row, column) in [
        (
            "emotion,image,Usage",
            format!("1,{pixels},Training"),
            "`pixels`",
        ),
        (
            "label,pixels,Usage",
            format!("1,{pixels},Training"),
            "`emotion`",
        ),
    ] {
        let path = write_file(dir.path(), "cols.csv", csv_text(header, &[row]).as_bytes());
        for options in [strict(), skipping()] {
            let error = load_error(&path, &options);
            assert_message(&error, &["cols.csv", "missing column", column]);
            assert!(matches!(error, DataError::MissingColumn { .. }));
        }
    }
}

#[test]
fn headerless_file_reports_missing_column_briefly() {
    let dir = tempdir().unwrap();
    let text = csv_text(
        &kaggle_row(1, 1, "Training"),
        &[kaggle_row(2, 2, "Training")],
    );
    let path = write_file(dir.path(), "noheader.csv", text.as_bytes());
    let message = load_error(&path, &strict()).to_string();
    assert!(message.contains("missing column `emotion`"), "{message}");
    assert!(
        message.len() < 300,
        "header dump should be shortened: {message}"
    );
}

#[test]
fn truncated_gzip_fails_even_when_skipping() {
    let dir = tempdir().unwrap();
    let text = csv_text(KAGGLE_HEADER, &rows(40, 0, "Training"));
    let compressed = gzip(text.as_bytes());
    let path = write_file(
        dir.path(),
        "cut.csv.gz",
        &compressed[..compressed.len() / 2],
    );
    for options in [strict(), skipping()] {
        let error = load_error(&path, &options);
        assert_message(&error, &["cut.csv.gz", "gzip data is truncated or corrupt"]);
        assert!(matches!(error, DataError::BadGzip { .. }), "{error:?}");
    }
}

#[test]
fn corrupt_gzip_fails() {
    let dir = tempdir().unwrap();
    let mut compressed = gzip(csv_text(KAGGLE_HEADER, &rows(5, 0, "Training")).as_bytes());
    let middle = compressed.len() / 2;
    compressed[middle..middle + 64].fill(0xA5);
    let path = write_file(dir.path(), "mangled.gz", &compressed);
    assert_message(
        &load_error(&path, &skipping()),
        &["mangled.gz", "gzip data is truncated or corrupt"],
    );
}

#[test]
fn bad_row_line_numbers_count_across_chunks_and_blank_lines() {
    // ~10 MB so that the bad row sits in a later 1 MB chunk.
    let dir = tempdir().unwrap();
    let mut all = rows(1200, 0, "Training");
    all.insert(300, String::new());
    all[1100] = "8,1 2,Training".into();
    let path = write_file(
        dir.path(),
        "long.csv",
        csv_text(KAGGLE_HEADER, &all).as_bytes(),
    );
    assert_message(
        &load_error(&path, &strict()),
        &["long.csv:1102: ", "emotion label 8 is outside"],
    );
    let dataset = load(&path, &skipping()).unwrap();
    assert_eq!(
        (
            dataset.train.len() + dataset.val.len(),
            dataset.skipped_rows
        ),
        (1199, 1)
    );
}

#[test]
fn invalid_val_fraction_is_rejected() {
    let dir = tempdir().unwrap();
    let path = write_file(
        dir.path(),
        "f.csv",
        csv_text(KAGGLE_HEADER, &rows(7, 0, "Training")).as_bytes(),
    );
    for value in [1.0, -0.1, f64::NAN] {
        let options = LoadOptions {
            val_fraction: value,
            ..LoadOptions::default()
        };
        assert_message(&load_error(&path, &options), &["f.csv", "val_fraction"]);
    }
}
