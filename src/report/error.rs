use std::path::{Path, PathBuf};

use crate::run::RunError;

/// Why a report could not be written. Every variant names the file involved.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("{path}: {message}")]
    BadFile { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: drawing the figure failed: {message}")]
    Draw { path: PathBuf, message: String },
    #[error("nothing to report: {0}")]
    NoRuns(String),
    /// A run with nothing to describe yet: no row in metrics.csv, no best epoch in
    /// summary.json.
    #[error("{}: no finished epoch yet: no model card to write", .0.display())]
    NoFinishedEpoch(PathBuf),
}

impl ReportError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn bad_file(path: &Path, message: impl ToString) -> Self {
        ReportError::BadFile {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }

    /// Problems the user can fix (a path that is not a run, a corrupt file, no
    /// usable run) rather than bugs or a full disk.
    pub fn is_user_error(&self) -> bool {
        match self {
            ReportError::Run(error) => error.is_user_error(),
            ReportError::BadFile { .. }
            | ReportError::NoRuns(_)
            | ReportError::NoFinishedEpoch(_) => true,
            ReportError::Io { .. } | ReportError::Draw { .. } => false,
        }
    }
}
