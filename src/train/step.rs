//! One optimisation step: gather → augment → forward → loss → backward → optimizer,
//! all on the training device. Shared by the engine and `fer bench`, which also times
//! the phases one by one (`fer bench --profile`).

use burn::module::{AutodiffModule, Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor};
use rand::Rng;
use std::time::Instant;

use super::augment::{AugmentDraws, Augmenter};
use super::config::TrainConfig;
use super::device_split::{DeviceBatch, DeviceSplit};
use super::evaluate::{evaluate, Evaluation};
use super::loss::{smoothed_targets, Mixup, SoftCrossEntropy};
use super::optimizer::AnyOptimizer;
use super::parallel::{synchronize, Collective, StepAsk, StepControl};
use super::{model_bytes, model_from_bytes, TrainError};
use crate::data::{Split, NUM_CLASSES};
use crate::model::{self, Model};

pub type Inner<B> = <B as AutodiffBackend>::InnerBackend;

/// Sums `x - x` over every parameter: 0 when all are finite, NaN otherwise.
struct FiniteProbe<B: Backend> {
    zero_if_finite: Option<Tensor<B, 1>>,
}

impl<B: Backend> ModuleVisitor<B> for FiniteProbe<B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let value = param.val();
        let zero = (value.clone() - value).sum();
        self.zero_if_finite = Some(match self.zero_if_finite.take() {
            Some(sum) => sum + zero,
            None => zero,
        });
    }
}

/// Device-side outputs of one step; reading them forces a device sync, so callers
/// accumulate them and read rarely.
pub struct StepOutput<B: AutodiffBackend> {
    /// Sum of the per-image loss over the batch.
    pub loss_sum: Tensor<Inner<B>, 1>,
    /// Images whose top logit is their label.
    pub correct: Tensor<Inner<B>, 1, Int>,
}

/// A replica's step: the global batch's outputs, what the replicas agreed on, and
/// how long the agreement took (waiting for the slowest included).
pub struct SyncedStep<B: AutodiffBackend> {
    pub output: StepOutput<B>,
    pub control: StepControl,
    pub sync_seconds: f64,
}

/// A batch ready for the model: augmented images, soft targets and labels, on the device.
pub struct PreparedBatch<B: AutodiffBackend> {
    images: Tensor<Inner<B>, 4>,
    targets: Tensor<Inner<B>, 2>,
    labels: Tensor<Inner<B>, 1, Int>,
}

/// The loss of a batch (still tied to its autodiff graph) and its device-side outputs.
pub struct ForwardPass<B: AutodiffBackend> {
    pub loss: Tensor<B, 1>,
    pub output: StepOutput<B>,
}

const MODEL_PRESENT: &str = "the model is only out of the trainer during its own update";

/// The model, its optimizer and the per-batch machinery.
pub struct Trainer<B: AutodiffBackend> {
    /// Always `Some` outside [`Self::update`], which takes the model out so that the
    /// optimizer holds its parameters alone and updates them in place.
    model: Option<Model<B>>,
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
        let model =
            model::build(&config.model, device).map_err(|e| TrainError::Config(e.to_string()))?;
        Ok(Self {
            model: Some(model),
            optimizer: AnyOptimizer::new(&config.optimizer),
            augmenter: Augmenter::new(config.augment.clone(), device),
            loss: SoftCrossEntropy::new(&config.loss, class_counts, device),
            config: config.clone(),
            device: device.clone(),
        })
    }

    /// Restores weights and optimizer state from checkpoint bytes.
    pub fn restore(mut self, model: Vec<u8>, optimizer: Vec<u8>) -> Result<Self, TrainError> {
        let current = self.model().clone();
        self.model = Some(model_from_bytes(current, model, &self.device)?);
        self.optimizer = self.optimizer.load_bytes(optimizer, &self.device)?;
        Ok(self)
    }

    pub fn model_bytes(&self) -> Result<Vec<u8>, TrainError> {
        model_bytes(self.model())
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

    /// Replaces the weights (not the optimizer state) with checkpoint bytes: how two
    /// devices start from the same weights (`fer bench --parity`).
    pub fn load_model_bytes(&mut self, bytes: Vec<u8>) -> Result<(), TrainError> {
        self.model = Some(model_from_bytes(self.model().clone(), bytes, &self.device)?);
        Ok(())
    }

    /// Trains on the images `batch` (positions in `data`) with learning rate `lr`.
    /// Nothing is read back to the host: the outputs stay on the device.
    pub fn step(
        &mut self,
        data: &DeviceSplit<Inner<B>>,
        batch: &[usize],
        lr: f64,
        rng: &mut impl Rng,
    ) -> StepOutput<B> {
        let prepared = self.prepare(data, batch, rng);
        let pass = self.forward(prepared);
        let grads = self.backward(pass.loss);
        self.update(lr, grads);
        pass.output
    }

    /// [`step`](Self::step) as one replica of a data-parallel run: between backward
    /// and the optimizer, the replicas agree on the gradients, the running statistics,
    /// the learning rate (the leader's) and stop; `ask` is what this replica brings.
    pub fn step_synced(
        &mut self,
        data: &DeviceSplit<Inner<B>>,
        shard: &[usize],
        rng: &mut impl Rng,
        collective: &Collective<Inner<B>>,
        ask: StepAsk,
    ) -> Result<SyncedStep<B>, TrainError> {
        let prepared = self.prepare(data, shard, rng);
        let pass = self.forward(prepared);
        let grads = self.backward(pass.loss);
        let started = Instant::now();
        let (grads, output, control) =
            synchronize(collective, self.model_mut(), grads, pass.output, ask)?;
        let sync_seconds = started.elapsed().as_secs_f64();
        self.update(control.lr, grads);
        Ok(SyncedStep {
            output,
            control,
            sync_seconds,
        })
    }

    /// Phase 1: gather the batch on the device, augment it, build its targets. The host
    /// only draws the random augmentation (and mixup) parameters.
    pub fn prepare(
        &self,
        data: &DeviceSplit<Inner<B>>,
        batch: &[usize],
        rng: &mut impl Rng,
    ) -> PreparedBatch<B> {
        let DeviceBatch { images, labels } = data.gather(batch);
        let draws = AugmentDraws::draw(&self.config.augment, batch.len(), rng);
        let mut images = self.augmenter.augment(images, &draws);
        let mut targets = smoothed_targets(labels.clone(), self.config.loss.label_smoothing);
        if let Some(mixup) = Mixup::draw(self.config.loss.mixup_alpha, batch.len(), rng) {
            images = mixup.mix_images(images);
            targets = mixup.mix_targets(targets);
        }
        PreparedBatch {
            images,
            targets,
            labels,
        }
    }

    /// Phase 2: the model and the loss, plus the batch's loss sum and correct count.
    pub fn forward(&self, batch: PreparedBatch<B>) -> ForwardPass<B> {
        let images_in_batch = batch.labels.dims()[0];
        let logits = self.model().forward(Tensor::from_inner(batch.images));
        let loss = self
            .loss
            .forward(logits.clone(), Tensor::from_inner(batch.targets));
        let predicted = logits.inner().argmax(1).squeeze_dim::<1>(1);
        let output = StepOutput {
            loss_sum: loss.clone().inner() * images_in_batch as f64,
            correct: predicted.equal(batch.labels).int().sum(),
        };
        ForwardPass { loss, output }
    }

    /// Phase 3: gradients of the loss with respect to the weights.
    pub fn backward(&self, loss: Tensor<B, 1>) -> GradientsParams {
        GradientsParams::from_grads(loss.backward(), self.model())
    }

    pub fn model(&self) -> &Model<B> {
        self.model.as_ref().expect(MODEL_PRESENT)
    }

    fn model_mut(&mut self) -> &mut Model<B> {
        self.model.as_mut().expect(MODEL_PRESENT)
    }

    /// Phase 4: the optimizer step.
    pub fn update(&mut self, lr: f64, grads: GradientsParams) {
        if let Some(model) = self.model.take() {
            self.model = Some(self.optimizer.step(lr, model, grads));
        }
    }

    /// True when every weight and running statistic is a finite number (one host read).
    pub fn weights_finite(&self) -> bool {
        let mut probe = FiniteProbe::<Inner<B>> {
            zero_if_finite: None,
        };
        self.model().valid().visit(&mut probe);
        probe
            .zero_if_finite
            .is_none_or(|sum| sum.into_scalar().elem::<f64>() == 0.0)
    }

    /// Evaluates the current weights (in inference mode) on `split`, with the
    /// per-epoch validation's views.
    pub fn evaluate(&self, split: &Split) -> Evaluation {
        evaluate(
            &self.model().valid(),
            split,
            &self.augmenter,
            self.config.val_tta,
            self.config.eval_batch_size,
        )
    }
}
