use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is not a run directory (no config.ron in it)")]
    NotARun(PathBuf),
    #[error("{path}: {message}")]
    BadFile { path: PathBuf, message: String },
    #[error("event encoding failed: {0}")]
    Json(serde_json::Error),
}

impl RunError {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        RunError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn bad_file(path: &Path, message: impl ToString) -> Self {
        RunError::BadFile {
            path: path.to_path_buf(),
            message: message.to_string(),
        }
    }

    /// The cause alone, for messages that name the file themselves.
    pub fn reason(&self) -> String {
        match self {
            RunError::Io { source, .. } => source.to_string(),
            RunError::BadFile { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// Problems the user can fix (a wrong path, a corrupt file) rather than bugs.
    pub fn is_user_error(&self) -> bool {
        matches!(self, RunError::NotARun(_) | RunError::BadFile { .. })
            || matches!(self, RunError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}
