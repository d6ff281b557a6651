//! The fully resolved training configuration: what `config.ron` holds and what
//! `fer train --config` reads back. Every hyper-parameter lives here, with its default.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::schedule::ScheduleConfig;
pub use crate::run::overrides::Tta;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainConfig {
    /// Model name from `fer models`.
    pub model: String,
    /// Data file or folder; `None` trains on the bundled sample.
    pub data: Option<PathBuf>,
    /// Skip malformed data rows instead of failing.
    pub skip_bad_rows: bool,
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate (the schedule scales it).
    pub lr: f64,
    pub optimizer: OptimizerConfig,
    pub schedule: ScheduleConfig,
    pub loss: LossConfig,
    pub augment: AugmentConfig,
    /// Test-time augmentation of the reported figures: the best checkpoint on
    /// validation (evaluated again at the end when `val_tta` differs) and test.
    pub tta: Tta,
    /// Test-time augmentation of the validation after each epoch, which selects the
    /// best checkpoint. Fewer views than `tta` because it runs every epoch: TenCrop
    /// there cost a quarter of a CPU epoch, time a budget gives to training instead.
    pub val_tta: Tta,
    pub eval_batch_size: usize,
    pub seed: u64,
    /// `auto`, `cpu`, `cuda`, `cuda:N`, `wgpu` or `wgpu:N` (see `fer::device`).
    pub device: String,
    /// Seconds between progress events.
    pub progress_interval_s: f64,
    /// Time budget: train for as many epochs as fit in this many minutes (measured
    /// from the epochs themselves, validation included); `epochs` is then only the
    /// plan for the first epoch. `None`: train for `epochs`.
    pub minutes: Option<f64>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            model: "resnet18".into(),
            data: None,
            skip_bad_rows: false,
            epochs: 30,
            batch_size: 64,
            lr: 0.1,
            optimizer: OptimizerConfig::default(),
            schedule: ScheduleConfig::default(),
            loss: LossConfig::default(),
            augment: AugmentConfig::default(),
            tta: Tta::TenCrop,
            val_tta: Tta::None,
            eval_batch_size: 256,
            seed: 0,
            device: "auto".into(),
            progress_interval_s: 2.0,
            minutes: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerConfig {
    /// PyTorch SGD semantics: dampening 0, L2 weight decay added to the gradient.
    Sgd {
        momentum: f64,
        nesterov: bool,
        weight_decay: f64,
    },
    /// Decoupled weight decay (Loshchilov & Hutter).
    AdamW {
        beta1: f64,
        beta2: f64,
        epsilon: f64,
        weight_decay: f64,
    },
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig::Sgd {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
        }
    }
}

impl OptimizerConfig {
    pub fn adamw_default() -> Self {
        OptimizerConfig::AdamW {
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            weight_decay: 0.05,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LossConfig {
    /// Label smoothing epsilon (0 = plain cross-entropy).
    pub label_smoothing: f64,
    /// Mixup Beta(alpha, alpha); 0 disables mixup.
    pub mixup_alpha: f64,
    /// Weight each class by `n / (classes * n_class)` of the training split.
    pub class_balanced: bool,
}

impl Default for LossConfig {
    fn default() -> Self {
        Self {
            label_smoothing: 0.1,
            mixup_alpha: 0.0,
            class_balanced: false,
        }
    }
}

/// Training-time augmentation, applied per batch on the training device. The
/// defaults are the PyTorch reference's (random zoom, shift, rotation and flip);
/// brightness/contrast jitter and random erasing are there for longer runs (a 51-minute
/// CPU run, 14 epochs, was underfitting with them on: 62% training accuracy).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AugmentConfig {
    /// Side of the training crop; evaluation crops the same size.
    pub crop: usize,
    /// Random zoom range (1 = no zoom).
    pub scale_min: f64,
    pub scale_max: f64,
    /// Largest shift as a fraction of the half-width (normalised coordinates), as in
    /// the PyTorch reference: 0.2 moves up to 4.8 px on a 48 px face.
    pub translate: f64,
    /// Largest rotation in degrees.
    pub rotate_degrees: f64,
    pub horizontal_flip: bool,
    /// Brightness shift drawn from ±this (pixels are in 0..1).
    pub brightness: f64,
    /// Contrast factor drawn from 1 ± this.
    pub contrast: f64,
    /// Probability of erasing one random rectangle (2–20% of the area).
    pub erasing_probability: f64,
    /// Turn augmentation off entirely (centre crop only); for parity checks.
    pub enabled: bool,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            crop: 40,
            scale_min: 0.8,
            scale_max: 1.2,
            translate: 0.2,
            rotate_degrees: 10.0,
            horizontal_flip: true,
            brightness: 0.0,
            contrast: 0.0,
            erasing_probability: 0.0,
            enabled: true,
        }
    }
}

impl Tta {
    /// How many views of each image evaluation averages (`Augmenter::test_views`).
    pub fn views(self) -> usize {
        match self {
            Tta::None => 1,
            Tta::Flip => 2,
            Tta::TenCrop => 10,
        }
    }
}
