//! Training: the engine loop, schedules, loss, augmentation, checkpoints.

pub mod augment;
pub mod budget;
pub mod checkpoint;
pub mod config;
pub mod device_split;
pub mod engine;
pub mod ensemble;
mod error;
pub mod evaluate;
pub mod loss;
pub mod optimizer;
pub mod overrides;
pub mod parallel;
pub mod random;
pub mod schedule;
pub mod sgd;
pub mod step;
pub mod summary;

pub use config::{AugmentConfig, LossConfig, OptimizerConfig, TrainConfig, Tta};
pub use engine::{Engine, EngineIo, EngineSetup, Outcome};
pub use error::TrainError;

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::Backend;

use crate::model::Model;

type Bytes = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// The model's weights (and BatchNorm running statistics) as bytes.
pub fn model_bytes<B: Backend>(model: &Model<B>) -> Result<Vec<u8>, TrainError> {
    Recorder::<B>::record(&Bytes::default(), model.clone().into_record(), ())
        .map_err(|e| TrainError::Checkpoint(format!("encoding model: {e}")))
}

/// Loads weights saved by [`model_bytes`] into a model of the same architecture.
pub fn model_from_bytes<B: Backend>(
    model: Model<B>,
    bytes: Vec<u8>,
    device: &B::Device,
) -> Result<Model<B>, TrainError> {
    let record = Recorder::<B>::load(&Bytes::default(), bytes, device).map_err(|e| {
        TrainError::Checkpoint(format!(
            "decoding model (is it the same architecture?): {e}"
        ))
    })?;
    Ok(model.load_record(record))
}
