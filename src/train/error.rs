use crate::data::DataError;
use crate::run::RunError;

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error("{0}")]
    Config(String),
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("device: {0}")]
    Device(String),
}

impl TrainError {
    /// Bad input the user can fix (exit code 2) rather than an internal failure.
    pub fn is_user_error(&self) -> bool {
        match self {
            TrainError::Data(e) => e.is_user_error(),
            TrainError::Run(e) => e.is_user_error(),
            TrainError::Config(_) | TrainError::Checkpoint(_) | TrainError::Device(_) => true,
        }
    }
}
