//! FER2013 loading: Kaggle CSV (plain or gzip), the icml_face_data variant, and
//! per-image folders. Pixels stay `u8` on the host.

pub mod atlas;
mod chunk;
mod csv;
mod emotion;
mod error;
mod folder;
mod merge;
mod pipeline;
mod pixels;
mod sample;
mod source;
mod split;
mod summary;

use std::path::Path;

pub use emotion::{Emotion, EMOTIONS, NUM_CLASSES};
pub use error::{DataError, RowProblem};
pub use folder::{load_image, training_pixels};
pub use sample::bundled_sample;
pub use split::hold_out;
pub use summary::{constant_images, pixel_stats, summary, PixelStats};

/// Side length of a FER2013 image.
pub const IMAGE_SIDE: usize = 48;
/// Pixels per FER2013 image.
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;

/// One split: `images` holds `len() * IMAGE_PIXELS` grey values, row-major per image.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Split {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image(&self, index: usize) -> &[u8] {
        &self.images[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS]
    }

    pub fn push(&mut self, pixels: &[u8], label: u8) {
        self.images.extend_from_slice(pixels);
        self.labels.push(label);
    }

    /// Number of images of each emotion.
    pub fn class_counts(&self) -> [usize; NUM_CLASSES] {
        let mut counts = [0; NUM_CLASSES];
        for &label in &self.labels {
            counts[label as usize] += 1;
        }
        counts
    }
}

/// A loaded data set. `val` is PublicTest (or a held-out part of Training),
/// `test` is PrivateTest when the source has it.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Where the data came from, for display ("bundled sample" or a path).
    pub source: String,
    pub train: Split,
    pub val: Split,
    pub test: Split,
    /// Things the user should know (e.g. "no PublicTest rows: held out 10% of Training").
    pub notes: Vec<String>,
    /// Rows skipped with `--skip-bad-rows`.
    pub skipped_rows: usize,
}

/// How to load a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadOptions {
    /// Skip (and count in `Dataset::skipped_rows`) rows or images that cannot be
    /// read, instead of failing. File-level problems still fail.
    pub skip_bad_rows: bool,
    /// Share of each emotion's Training rows held out as validation when the
    /// source has no PublicTest rows. In `[0, 1)`.
    pub val_fraction: f64,
    /// Seed of that hold-out.
    pub seed: u64,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            skip_bad_rows: false,
            val_fraction: 0.1,
            seed: 0,
        }
    }
}

/// Loads FER2013 from a Kaggle-style CSV (plain or gzip, detected by content)
/// or from a `<root>/{train,test}/<emotion>/` image folder.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Dataset, DataError> {
    if !(0.0..1.0).contains(&options.val_fraction) {
        return Err(DataError::InvalidValFraction {
            file: path.to_path_buf(),
            value: options.val_fraction,
        });
    }
    let metadata = std::fs::metadata(path).map_err(|source| DataError::io(path, source))?;
    let mut dataset = if metadata.is_dir() {
        folder::load_folder(path, options.skip_bad_rows)?
    } else {
        pipeline::parse_csv(source::open_file(path)?, path, options.skip_bad_rows)?
    };
    dataset.source = path.display().to_string();
    split::complete_splits(&mut dataset, options.val_fraction, options.seed);
    Ok(dataset)
}
