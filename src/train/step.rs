//! One optimisation step: gather → augment (device) → forward → loss → backward →
//! optimizer. Shared by the engine and `fer bench`.

use burn::module::AutodiffModule;
use burn::optim::GradientsParams;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::Rng;

use super::augment::{upload_images, AugmentDraws, Augmenter};
use super::config::TrainConfig;
use super::evaluate::{evaluate, Evaluation};
use super::loss::{smoothed_targets, upload_targets, Mixup, SoftCrossEntropy};
use super::optimizer::AnyOptimizer;
use super::{model_bytes, model_from_bytes, TrainError};
use crate::data::{Split, IMAGE_PIXELS, NUM_CLASSES};
use crate::model::{self, Model};

pub type Inner<B> = <B as AutodiffBackend>::InnerBackend;

/// Device-side outputs of one step; reading them forces a device sync, so callers
/// accumulate them and read rarely.
pub struct StepOutput<B: AutodiffBackend> {
    /// Sum of the per-image loss over the batch.
    pub loss_sum: Tensor<Inner<B>, 1>,
    /// Images whose top logit is their label.
    pub correct: Tensor<Inner<B>, 1, Int>,
}

/// The model, its optimizer and the per-batch machinery.
pub struct Trainer<B: AutodiffBackend> {
    pub model: Model<B>,
    optimizer: AnyOptimizer<Model<B>, B>,
    augmenter: Augmenter<Inner<B>>,
    loss: SoftCrossEntropy<B>,
    config: TrainConfig,
    device: B::Device,
}

impl<B: AutodiffBackend> Trainer<B> {
    /// Seeds the backend with `config.seed`, then builds the model, so initial weights
    /// depend on the seed only.
    pub fn new(
        config: &TrainConfig,
        class_counts: &[usize; NUM_CLASSES],
        device: &B::Device,
    ) -> Result<Self, TrainError> {
        B::seed(device, config.seed);
        let model = model::build(&config.model, device).map_err(|e| TrainError::Config(e.to_string()))?;
        Ok(Self {
            model,
            optimizer: AnyOptimizer::new(&config.optimizer),
            augmenter: Augmenter::new(config.augment.clone(), device),
            loss: SoftCrossEntropy::new(&config.loss, class_counts, device),
            config: config.clone(),
            device: device.clone(),
        })
    }

    /// Restores weights and optimizer state from checkpoint bytes.
    pub fn restore(mut self, model: Vec<u8>, optimizer: Vec<u8>) -> Result<Self, TrainError> {
        self.model = model_from_bytes(self.model, model, &self.device)?;
        self.optimizer = self.optimizer.load_bytes(optimizer, &self.device)?;
        Ok(self)
    }

    pub fn model_bytes(&self) -> Result<Vec<u8>, TrainError> {
        model_bytes(&self.model)
    }

    pub fn optimizer_bytes(&self) -> Result<Vec<u8>, TrainError> {
        self.optimizer.to_bytes()
    }

    pub fn augmenter(&self) -> &Augmenter<Inner<B>> {
        &self.augmenter
    }

    pub fn device(&self) -> &B::Device {
        &self.device
    }

    /// Trains on the images `batch` of `split` with learning rate `lr`.
    pub fn step(&mut self, split: &Split, batch: &[usize], lr: f64, rng: &mut impl Rng) -> StepOutput<B> {
        let mut pixels = Vec::with_capacity(batch.len() * IMAGE_PIXELS);
        for &index in batch {
            pixels.extend_from_slice(split.image(index));
        }
        let labels: Vec<u8> = batch.iter().map(|&i| split.labels[i]).collect();
        let inner_device = self.augmenter.device();
        let draws = AugmentDraws::draw(&self.config.augment, batch.len(), rng);
        let mut images = self.augmenter.augment(upload_images(&pixels, &inner_device), &draws);
        let mut targets = smoothed_targets(&labels, self.config.loss.label_smoothing);
        if let Some(mixup) = Mixup::draw(self.config.loss.mixup_alpha, batch.len(), rng) {
            images = mixup.mix_images(images);
            targets = mixup.mix_targets(&targets);
        }
        let logits = self.model.forward(Tensor::from_inner(images));
        let loss = self.loss.forward(logits.clone(), upload_targets(targets, &self.device));
        let label_index: Tensor<Inner<B>, 1, Int> = Tensor::from_data(
            TensorData::new(labels.iter().map(|&l| l as i64).collect(), [labels.len()]),
            &inner_device,
        );
        let predicted = logits.inner().argmax(1).squeeze_dim::<1>(1);
        let output = StepOutput {
            loss_sum: loss.clone().inner() * batch.len() as f64,
            correct: predicted.equal(label_index).int().sum(),
        };
        let grads = GradientsParams::from_grads(loss.backward(), &self.model);
        self.model = self.optimizer.step(lr, self.model.clone(), grads);
        output
    }

    /// Evaluates the current weights (in inference mode) on `split`.
    pub fn evaluate(&self, split: &Split) -> Evaluation {
        evaluate(
            &self.model.valid(),
            split,
            &self.augmenter,
            self.config.tta,
            self.config.eval_batch_size,
        )
    }
}
