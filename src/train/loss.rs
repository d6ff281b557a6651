//! Cross-entropy against soft targets: label smoothing, mixup and class weights all
//! become a target distribution per image (built on the host: 7 numbers per image).

use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use rand_distr::{Beta, Distribution};

use super::config::LossConfig;
use crate::data::NUM_CLASSES;

/// Smoothed one-hot rows: `1 - eps + eps/C` on the label, `eps/C` elsewhere (PyTorch's `label_smoothing`).
pub fn smoothed_targets(labels: &[u8], smoothing: f64) -> Vec<f32> {
    let off = (smoothing / NUM_CLASSES as f64) as f32;
    let on = (1.0 - smoothing) as f32 + off;
    let mut targets = vec![off; labels.len() * NUM_CLASSES];
    for (row, &label) in labels.iter().enumerate() {
        targets[row * NUM_CLASSES + label as usize] = on;
    }
    targets
}

/// A mixup pairing for one batch: image `i` is blended with image `partner[i]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mixup {
    pub lambda: f32,
    pub partner: Vec<usize>,
}

impl Mixup {
    /// `None` when mixup is off (alpha 0).
    pub fn draw(alpha: f64, batch: usize, rng: &mut impl Rng) -> Option<Self> {
        let beta = Beta::new(alpha, alpha).ok()?;
        let lambda = beta.sample(rng) as f32;
        let mut partner: Vec<usize> = (0..batch).collect();
        rand::seq::SliceRandom::shuffle(partner.as_mut_slice(), rng);
        Some(Self { lambda, partner })
    }

    /// Blends target rows the same way the images are blended.
    pub fn mix_targets(&self, targets: &[f32]) -> Vec<f32> {
        let mut mixed = Vec::with_capacity(targets.len());
        for (row, &other) in self.partner.iter().enumerate() {
            for class in 0..NUM_CLASSES {
                let own = targets[row * NUM_CLASSES + class];
                let theirs = targets[other * NUM_CLASSES + class];
                mixed.push(self.lambda * own + (1.0 - self.lambda) * theirs);
            }
        }
        mixed
    }

    pub fn mix_images<B: Backend>(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        let device = images.device();
        let partner: Vec<i64> = self.partner.iter().map(|&i| i as i64).collect();
        let index = Tensor::from_data(TensorData::new(partner, [self.partner.len()]), &device);
        images.clone() * self.lambda + images.select(0, index) * (1.0 - self.lambda)
    }
}

/// Class weights `n / (C * n_c)` (the "balanced" heuristic); 1 for classes absent from training.
pub fn balanced_class_weights(class_counts: &[usize; NUM_CLASSES]) -> Vec<f32> {
    let total: usize = class_counts.iter().sum();
    class_counts
        .iter()
        .map(|&n| match n {
            0 => 1.0,
            n => total as f32 / (NUM_CLASSES as f32 * n as f32),
        })
        .collect()
}

/// The training loss for one batch.
pub struct SoftCrossEntropy<B: Backend> {
    /// `[1, C]`, when class-balanced.
    class_weights: Option<Tensor<B, 2>>,
}

impl<B: Backend> SoftCrossEntropy<B> {
    pub fn new(config: &LossConfig, class_counts: &[usize; NUM_CLASSES], device: &B::Device) -> Self {
        let class_weights = config.class_balanced.then(|| {
            let weights = balanced_class_weights(class_counts);
            Tensor::from_data(TensorData::new(weights, [1, NUM_CLASSES]), device)
        });
        Self { class_weights }
    }

    /// Mean of `-sum_c target_c * log p_c`; with class weights, a weighted mean whose
    /// per-image weight is the target's expected class weight (PyTorch's weighted mean).
    pub fn forward(&self, logits: Tensor<B, 2>, targets: Tensor<B, 2>) -> Tensor<B, 1> {
        let per_image = (targets.clone() * log_softmax(logits, 1)).sum_dim(1).neg();
        match &self.class_weights {
            None => per_image.mean(),
            Some(weights) => {
                let image_weights = (targets * weights.clone()).sum_dim(1);
                (per_image * image_weights.clone()).sum() / image_weights.sum()
            }
        }
    }
}

/// Uploads host target rows as `[B, C]`.
pub fn upload_targets<B: Backend>(targets: Vec<f32>, device: &B::Device) -> Tensor<B, 2> {
    let batch = targets.len() / NUM_CLASSES;
    Tensor::from_data(TensorData::new(targets, [batch, NUM_CLASSES]), device)
}
