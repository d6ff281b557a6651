//! DenseNet-BC (Huang et al. 2017) laid out exactly like the reference's `DenseNet`:
//! a 3x3 stem to `2 * growth` channels (no norm after it), dense blocks of bottleneck
//! layers whose outputs are concatenated, and compression-0.5 transitions with a 2x2
//! average pool between blocks. Like the VGG pools, a transition pool is skipped on maps
//! under 2 pixels a side (only inputs below 8x8 reach that with three transitions).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::layers::{
    avg_pool_halve, classifier, classify, conv, global_avg_pool, NormReluConv, INPUT_CHANNELS,
};
use super::norm::Norm;

/// Bottleneck width of a dense layer, in multiples of the growth rate.
const BOTTLENECK_FACTOR: usize = 4;

#[derive(Config, Debug)]
pub struct DenseNetConfig {
    /// Dense layers in each block.
    pub blocks: Vec<usize>,
    /// Channels each dense layer adds (`k` in the paper).
    pub growth: usize,
}

impl DenseNetConfig {
    pub fn densenet121() -> Self {
        Self::new(vec![6, 12, 24, 16], 32)
    }
    pub fn densenet169() -> Self {
        Self::new(vec![6, 12, 32, 32], 32)
    }
    pub fn densenet201() -> Self {
        Self::new(vec![6, 12, 48, 32], 32)
    }
    /// Growth 48, so the stem has 96 channels.
    pub fn densenet161() -> Self {
        Self::new(vec![6, 12, 36, 24], 48)
    }
    /// A cheap model for CPU runs: growth 12, three blocks of 4 layers.
    pub fn densenet_small() -> Self {
        Self::new(vec![4, 4, 4], 12)
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> DenseNet<B> {
        let growth = self.growth;
        let mut channels = 2 * growth;
        let stem = conv(INPUT_CHANNELS, channels, 3, 1, device);

        let mut blocks = Vec::new();
        let mut transitions = Vec::new();
        for (index, &layers) in self.blocks.iter().enumerate() {
            let mut block = Vec::new();
            for _ in 0..layers {
                block.push(DenseLayer::new(channels, growth, device));
                channels += growth;
            }
            blocks.push(block);
            if index + 1 < self.blocks.len() {
                transitions.push(NormReluConv::new(channels, channels / 2, 1, device));
                channels /= 2;
            }
        }

        DenseNet {
            stem,
            blocks,
            transitions,
            final_norm: Norm::new(channels, device),
            classifier: classifier(channels, device),
        }
    }
}

/// norm, ReLU, 1x1 conv to `4 * growth`; norm, ReLU, 3x3 conv to `growth`;
/// the result is concatenated in front of the input.
#[derive(Module, Debug)]
pub struct DenseLayer<B: Backend> {
    bottleneck: NormReluConv<B>,
    conv: NormReluConv<B>,
}

impl<B: Backend> DenseLayer<B> {
    fn new(channels_in: usize, growth: usize, device: &B::Device) -> Self {
        let width = BOTTLENECK_FACTOR * growth;
        Self {
            bottleneck: NormReluConv::new(channels_in, width, 1, device),
            conv: NormReluConv::new(width, growth, 3, device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let new_features = self.conv.forward(self.bottleneck.forward(x.clone()));
        Tensor::cat(vec![new_features, x], 1)
    }
}

#[derive(Module, Debug)]
pub struct DenseNet<B: Backend> {
    stem: Conv2d<B>,
    blocks: Vec<Vec<DenseLayer<B>>>,
    /// norm, ReLU, 1x1 conv halving the channels; followed by a 2x2 average pool.
    transitions: Vec<NormReluConv<B>>,
    final_norm: Norm<B>,
    classifier: Linear<B>,
}

impl<B: Backend> DenseNet<B> {
    /// `[B, 1, H, W]` images -> `[B, 7]` logits.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let mut x = super::conv::forward(&self.stem, images);
        for (index, block) in self.blocks.iter().enumerate() {
            x = block.iter().fold(x, |x, layer| layer.forward(x));
            if let Some(transition) = self.transitions.get(index) {
                x = avg_pool_halve(transition.forward(x));
            }
        }
        let x = self.final_norm.forward_relu(x);
        classify(&self.classifier, global_avg_pool(x))
    }
}
