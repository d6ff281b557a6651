//! FER2013 loading: Kaggle CSV (plain or gzip), the icml_face_data variant, and
//! per-image folders. Pixels stay `u8` on the host.

mod emotion;

pub use emotion::{Emotion, EMOTIONS, NUM_CLASSES};

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
