//! Cross-entropy against soft targets: label smoothing, mixup and class weights all
//! become a target distribution per image, built on the device from the labels.

use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::Rng;
use rand_distr::{Beta, Distribution};

use super::config::LossConfig;
use crate::data::NUM_CLASSES;

/// Smoothed one-hot rows `[B, C]` built on the device: `1 - eps + eps/C` on the label,
/// `eps/C` elsewhere (PyTorch's `label_smoothing`). `labels` is `[B]`.
pub fn smoothed_targets<B: Backend>(labels: Tensor<B, 1, Int>, smoothing: f64) -> Tensor<B, 2> {
    let batch = labels.dims()[0];
    let device = labels.device();
    let off = (smoothing / NUM_CLASSES as f64) as f32;
    let on = (1.0 - smoothing) as f32 + off;
    let shape = [batch, NUM_CLASSES];
    let classes = Tensor::<B, 1, Int>::arange(0..NUM_CLASSES as i64, &device)
        .reshape([1, NUM_CLASSES])
        .expand(shape);
    let is_label = labels.reshape([batch, 1]).expand(shape).equal(classes);
    // Filling (rather than `hot * (on - off) + off`) keeps `on` and `off` exact.
    Tensor::full(shape, off, &device).mask_fill(is_label, on)
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

    /// Blends target rows `[B, C]` the same way the images are blended.
    pub fn mix_targets<B: Backend>(&self, targets: Tensor<B, 2>) -> Tensor<B, 2> {
        let partners = targets
            .clone()
            .select(0, self.partner_index(&targets.device()));
        targets * self.lambda + partners * (1.0 - self.lambda)
    }

    pub fn mix_images<B: Backend>(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        let partners = images
            .clone()
            .select(0, self.partner_index(&images.device()));
        images * self.lambda + partners * (1.0 - self.lambda)
    }

    fn partner_index<B: Backend>(&self, device: &B::Device) -> Tensor<B, 1, Int> {
        super::device_split::index_tensor(&self.partner, device)
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
    pub fn new(
        config: &LossConfig,
        class_counts: &[usize; NUM_CLASSES],
        device: &B::Device,
    ) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    fn labels(values: &[i64]) -> Tensor<Flex, 1, Int> {
        Tensor::from_data(
            TensorData::new(values.to_vec(), [values.len()]),
            &Default::default(),
        )
    }

    #[test]
    fn smoothed_targets_put_the_mass_on_the_label() {
        let targets = smoothed_targets(labels(&[2, 0]), 0.1)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        let off = (0.1 / 7.0) as f32;
        let on = 0.9f32 + off;
        let mut expected = vec![off; 14];
        expected[2] = on;
        expected[7] = on;
        assert_eq!(targets, expected, "the same f32 values as the host formula");
    }

    #[test]
    fn mixup_blends_targets_with_the_partner_rows() {
        let mixup = Mixup {
            lambda: 0.25,
            partner: vec![1, 0],
        };
        let targets = smoothed_targets(labels(&[3, 5]), 0.0);
        let mixed = mixup
            .mix_targets(targets)
            .into_data()
            .to_vec::<f32>()
            .unwrap();
        assert_eq!(mixed[3], 0.25);
        assert_eq!(mixed[5], 0.75);
        assert_eq!(mixed[7 + 3], 0.75);
        assert_eq!(mixed[7 + 5], 0.25);
        assert!((mixed.iter().sum::<f32>() - 2.0).abs() < 1e-6);
    }
}
