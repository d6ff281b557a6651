//! VGG-11/13/16/19 with batch norm (configurations A, B, D, E of Simonyan & Zisserman),
//! grey input, global average pooling and one `Linear(512 -> 7)`, like the reference's `VGG`.
//!
//! Small inputs: five 2x2 max-pools need at least 32x32 input to stay non-empty
//! (40x40 and 48x48 end at 1x1). A pool whose input is already under 2 pixels on a side
//! is skipped rather than producing an empty map, so any input size gives logits; from
//! 32x32 upwards no pool is ever skipped and the result matches PyTorch's `MaxPool2d(2)`
//! (floor mode, e.g. 3x3 -> 1x1).

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::layers::{
    classifier, classify, global_avg_pool, max_pool_halve, ConvNorm, INPUT_CHANNELS,
};

/// Channel width of the five stages (fixed across VGG depths).
const STAGE_WIDTHS: [usize; 5] = [64, 128, 256, 512, 512];

#[derive(Config, Debug)]
pub struct VggConfig {
    /// 3x3 conv + norm + ReLU layers in each of the five stages (each stage ends in a
    /// max-pool, the 'M' of the paper's table); stages past the fifth are ignored.
    pub convs_per_stage: Vec<usize>,
}

impl VggConfig {
    /// Configuration A.
    pub fn vgg11() -> Self {
        Self::new(vec![1, 1, 2, 2, 2])
    }
    /// Configuration B.
    pub fn vgg13() -> Self {
        Self::new(vec![2, 2, 2, 2, 2])
    }
    /// Configuration D.
    pub fn vgg16() -> Self {
        Self::new(vec![2, 2, 3, 3, 3])
    }
    /// Configuration E.
    pub fn vgg19() -> Self {
        Self::new(vec![2, 2, 4, 4, 4])
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> Vgg<B> {
        let mut channels = INPUT_CHANNELS;
        let mut stages = Vec::new();
        for (&convs, &width) in self.convs_per_stage.iter().zip(&STAGE_WIDTHS) {
            let mut stage = Vec::new();
            for _ in 0..convs {
                stage.push(ConvNorm::new(channels, width, 3, 1, device));
                channels = width;
            }
            stages.push(stage);
        }
        Vgg {
            stages,
            classifier: classifier(channels, device),
        }
    }
}

#[derive(Module, Debug)]
pub struct Vgg<B: Backend> {
    stages: Vec<Vec<ConvNorm<B>>>,
    classifier: Linear<B>,
}

impl<B: Backend> Vgg<B> {
    /// `[B, 1, H, W]` images -> `[B, 7]` logits.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let mut x = images;
        for stage in &self.stages {
            x = stage.iter().fold(x, |x, layer| layer.forward_relu(x));
            x = max_pool_halve(x);
        }
        classify(&self.classifier, global_avg_pool(x))
    }
}
