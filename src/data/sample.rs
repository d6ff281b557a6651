//! The small data set shipped inside the binary, so that `fer` can train and
//! demo without a download.
//!
//! `assets/sample.csv.gz` holds the first 720 Training and 180 PublicTest rows
//! of the shared `fer2013.csv.gz` (all 7 emotions occur in both), written with
//! python's gzip module at level 9 and mtime 0.

use std::path::Path;

use super::error::DataError;
use super::pipeline::parse_csv;
use super::source::open_bytes;
use super::split::complete_splits;
use super::{Dataset, LoadOptions};

const SAMPLE_GZ: &[u8] = include_bytes!("../../assets/sample.csv.gz");

/// Parses the bundled sample (900 rows; it has PublicTest rows, so no hold-out).
pub fn bundled_sample() -> Result<Dataset, DataError> {
    let options = LoadOptions::default();
    let mut dataset = parse_csv(
        open_bytes(SAMPLE_GZ),
        Path::new("bundled sample"),
        options.skip_bad_rows,
    )?;
    complete_splits(&mut dataset, options.val_fraction, options.seed);
    let rows = dataset.train.len() + dataset.val.len() + dataset.test.len();
    dataset.source = format!("bundled sample ({rows} rows)");
    Ok(dataset)
}
