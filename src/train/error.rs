use super::engine::Divergence;
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
    /// Found inside the engine, which turns it into `Diverged` with the account.
    #[error("{} at epoch {}, step {}", .0.what, .0.epoch, .0.step)]
    NonFinite(Divergence),
    /// The whole account of a diverged run: what, where, what to resume from.
    #[error("{0}")]
    Diverged(String),
    /// The run ended with files the disk never took.
    #[error("{0}")]
    Unsaved(String),
    /// Another replica of a data-parallel run stopped answering.
    #[error("{0}")]
    ReplicaLost(String),
    /// The engine panicked (a bug); the message says where.
    #[error("{0}")]
    Crashed(String),
}

impl TrainError {
    /// Bad input the user can fix (exit code 2) rather than an internal failure.
    pub fn is_user_error(&self) -> bool {
        match self {
            TrainError::Data(e) => e.is_user_error(),
            TrainError::Run(e) => e.is_user_error(),
            TrainError::Config(_) | TrainError::Checkpoint(_) | TrainError::Device(_) => true,
            TrainError::NonFinite(_)
            | TrainError::Diverged(_)
            | TrainError::Unsaved(_)
            | TrainError::ReplicaLost(_)
            | TrainError::Crashed(_) => false,
        }
    }
}
