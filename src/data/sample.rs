//! The small data set shipped inside the binary, so that `fer` can train and
//! demo without a download.
//!
//! `assets/sample.png` and `assets/sample-labels.txt` (the format of
//! [`super::atlas`]) hold the first Training and PublicTest faces of the shared
//! `fer2013.csv.gz`, in file order; `cargo run --release --example make_sample`
//! writes them.

use super::error::DataError;
use super::split::complete_splits;
use super::{atlas, Dataset, LoadOptions};

const SAMPLE_PNG: &[u8] = include_bytes!("../../assets/sample.png");
const SAMPLE_LABELS: &str = include_str!("../../assets/sample-labels.txt");

/// Decodes the bundled sample (it has PublicTest rows, so no hold-out).
pub fn bundled_sample() -> Result<Dataset, DataError> {
    let mut dataset = atlas::read(SAMPLE_PNG, SAMPLE_LABELS)
        .map_err(|error| DataError::Sample(error.to_string()))?;
    complete_splits(
        &mut dataset,
        LoadOptions::default().val_fraction,
        LoadOptions::default().seed,
    );
    let rows = dataset.train.len() + dataset.val.len() + dataset.test.len();
    dataset.source = format!("bundled sample ({rows} faces)");
    Ok(dataset)
}
