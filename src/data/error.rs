//! Loading errors. Every message starts with the file it is about (and, for a
//! bad row, `file:line:`) so that a user can jump straight to the problem.

use std::io;
use std::path::PathBuf;

use super::{IMAGE_PIXELS, NUM_CLASSES};

/// Why a FER2013 source could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The sample compiled into the binary does not decode (a build problem).
    #[error("the bundled sample: {0}")]
    Sample(String),

    #[error("{}: no such file or directory", file.display())]
    NotFound { file: PathBuf },

    #[error("{}: cannot read: {source}", file.display())]
    Io {
        file: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{}: file is empty", file.display())]
    EmptyFile { file: PathBuf },

    #[error("{}: missing column `{column}` in the header (found: {found})", file.display())]
    MissingColumn {
        file: PathBuf,
        column: &'static str,
        found: String,
    },

    #[error("{}: the gzip data is truncated or corrupt: {source}", file.display())]
    BadGzip {
        file: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{}:{line}: {problem}", file.display())]
    BadRow {
        file: PathBuf,
        line: u64,
        problem: RowProblem,
    },

    #[error("{}: has no data rows{}", file.display(), skipped_suffix(*skipped))]
    NoRows { file: PathBuf, skipped: usize },

    #[error("{}: cannot decode image: {source}", file.display())]
    BadImage {
        file: PathBuf,
        #[source]
        source: image::ImageError,
    },

    #[error(
        "{}: no images found (expected <root>/train/<emotion>/*.png|jpg|jpeg and/or <root>/test/<emotion>/...){}",
        folder.display(),
        skipped_suffix(*skipped)
    )]
    NoImages { folder: PathBuf, skipped: usize },

    #[error(
        "{}: folder name `{name}` is not an emotion (expected one of: angry, disgust, fear, happy, sad, surprise, neutral)",
        folder.display()
    )]
    UnknownEmotionFolder { folder: PathBuf, name: String },

    #[error("{}: val_fraction must be in [0, 1), got {value}", file.display())]
    InvalidValFraction { file: PathBuf, value: f64 },
}

fn skipped_suffix(skipped: usize) -> String {
    if skipped == 0 {
        String::new()
    } else {
        format!(" ({skipped} bad ones skipped)")
    }
}

impl DataError {
    /// True when the input (file, folder, option) is at fault rather than the
    /// machine, so the binary can exit with the "bad input" status.
    pub fn is_user_error(&self) -> bool {
        match self {
            DataError::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::PermissionDenied
                    | io::ErrorKind::IsADirectory
                    | io::ErrorKind::NotADirectory
                    | io::ErrorKind::InvalidData
                    | io::ErrorKind::InvalidInput
                    | io::ErrorKind::UnexpectedEof
            ),
            _ => true,
        }
    }

    /// Whether `skip_bad_rows` may skip past this error and keep loading.
    pub(crate) fn is_row_level(&self) -> bool {
        matches!(self, DataError::BadRow { .. } | DataError::BadImage { .. })
    }

    pub(crate) fn io(file: impl Into<PathBuf>, source: io::Error) -> Self {
        let file = file.into();
        if source.kind() == io::ErrorKind::NotFound {
            DataError::NotFound { file }
        } else {
            DataError::Io { file, source }
        }
    }
}

/// What is wrong with one CSV row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error("expected {expected} comma-separated fields, found {found}")]
    FieldCount { expected: usize, found: usize },

    #[error("expected {IMAGE_PIXELS} pixels, found {found}")]
    PixelCount { found: usize },

    #[error("pixel {position} is {value}, above 255")]
    PixelTooLarge { position: usize, value: String },

    #[error("pixel {position} is not a number: `{text}`")]
    PixelNotNumber { position: usize, text: String },

    #[error("emotion label `{text}` is not a number in 0..={}", NUM_CLASSES - 1)]
    LabelNotNumber { text: String },

    #[error("emotion label {value} is outside 0..={}", NUM_CLASSES - 1)]
    LabelOutOfRange { value: String },

    #[error("unknown Usage `{text}` (expected Training, PublicTest or PrivateTest)")]
    UnknownUsage { text: String },
}
