//! The optimizer behind one type, so the engine and checkpoints need not care which.

use burn::module::AutodiffModule;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::{AdamW, AdamWConfig, GradientsParams, Optimizer};
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;

use super::config::OptimizerConfig;
use super::sgd::FusedSgd;
use super::TrainError;

type Bytes = NamedMpkBytesRecorder<FullPrecisionSettings>;

pub enum AnyOptimizer<M: AutodiffModule<B>, B: AutodiffBackend> {
    Sgd(OptimizerAdaptor<FusedSgd, M, B>),
    AdamW(OptimizerAdaptor<AdamW, M, B>),
}

impl<M: AutodiffModule<B>, B: AutodiffBackend> AnyOptimizer<M, B> {
    pub fn new(config: &OptimizerConfig) -> Self {
        match *config {
            OptimizerConfig::Sgd {
                momentum,
                nesterov,
                weight_decay,
            } => AnyOptimizer::Sgd(OptimizerAdaptor::from(FusedSgd {
                momentum: (momentum > 0.0).then_some(momentum as f32),
                nesterov,
                weight_decay: (weight_decay > 0.0).then_some(weight_decay as f32),
            })),
            OptimizerConfig::AdamW {
                beta1,
                beta2,
                epsilon,
                weight_decay,
            } => AnyOptimizer::AdamW(
                AdamWConfig::new()
                    .with_beta_1(beta1 as f32)
                    .with_beta_2(beta2 as f32)
                    .with_epsilon(epsilon as f32)
                    .with_weight_decay(weight_decay as f32)
                    .init(),
            ),
        }
    }

    pub fn step(&mut self, lr: f64, model: M, grads: GradientsParams) -> M {
        match self {
            AnyOptimizer::Sgd(optim) => optim.step(lr, model, grads),
            AnyOptimizer::AdamW(optim) => optim.step(lr, model, grads),
        }
    }

    pub fn to_bytes(&self) -> Result<Vec<u8>, TrainError> {
        let encoded = match self {
            AnyOptimizer::Sgd(optim) => {
                Recorder::<B>::record(&Bytes::default(), optim.to_record(), ())
            }
            AnyOptimizer::AdamW(optim) => {
                Recorder::<B>::record(&Bytes::default(), optim.to_record(), ())
            }
        };
        encoded.map_err(|e| TrainError::Checkpoint(format!("encoding optimizer: {e}")))
    }

    pub fn load_bytes(self, bytes: Vec<u8>, device: &B::Device) -> Result<Self, TrainError> {
        let fail = |e: burn::record::RecorderError| {
            TrainError::Checkpoint(format!("decoding optimizer: {e}"))
        };
        Ok(match self {
            AnyOptimizer::Sgd(optim) => AnyOptimizer::Sgd(
                optim.load_record(Bytes::default().load(bytes, device).map_err(fail)?),
            ),
            AnyOptimizer::AdamW(optim) => AnyOptimizer::AdamW(
                optim.load_record(Bytes::default().load(bytes, device).map_err(fail)?),
            ),
        })
    }
}
