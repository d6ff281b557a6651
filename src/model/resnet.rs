//! ResNets: ImageNet-style 18/34 (basic blocks) and 50/101/152 (bottlenecks),
//! adapted to 48x48 grey faces with a 3x3 stride-1 stem and no max-pool.
//! The CIFAR-style variants in [`super::cifar_resnet`] reuse the same [`ResNet`].

use burn::config::Config;
use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::layers::{classifier, classify, global_avg_pool, ConvNorm, INPUT_CHANNELS};
use super::residual::{BasicBlock, Bottleneck, ResidualBlock, BOTTLENECK_EXPANSION};

/// Which residual block the stages are made of.
#[derive(Config, Debug, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// Two 3x3 convs; output channels = stage width.
    Basic,
    /// 1x1 / 3x3 / 1x1; output channels = 4 x stage width.
    Bottleneck,
}

const IMAGENET_WIDTHS: [usize; 4] = [64, 128, 256, 512];

/// A ResNet as the reference builds it: stem conv3x3 + norm + ReLU at full resolution,
/// then stages of blocks where the first block of every stage but the first halves
/// the resolution. Like Python's `zip`, stages beyond the shorter of `blocks` and
/// `widths` are ignored.
#[derive(Config, Debug)]
pub struct ResNetConfig {
    /// Residual block type of every stage.
    pub block: BlockKind,
    /// Number of blocks per stage.
    pub blocks: Vec<usize>,
    /// Width (bottleneck width for `Bottleneck`) per stage; the stem has `widths[0]`.
    pub widths: Vec<usize>,
}

impl ResNetConfig {
    pub fn resnet18() -> Self {
        Self::imagenet(BlockKind::Basic, [2, 2, 2, 2])
    }
    pub fn resnet34() -> Self {
        Self::imagenet(BlockKind::Basic, [3, 4, 6, 3])
    }
    pub fn resnet50() -> Self {
        Self::imagenet(BlockKind::Bottleneck, [3, 4, 6, 3])
    }
    pub fn resnet101() -> Self {
        Self::imagenet(BlockKind::Bottleneck, [3, 4, 23, 3])
    }
    pub fn resnet152() -> Self {
        Self::imagenet(BlockKind::Bottleneck, [3, 8, 36, 3])
    }

    fn imagenet(block: BlockKind, blocks: [usize; 4]) -> Self {
        Self::new(block, blocks.to_vec(), IMAGENET_WIDTHS.to_vec())
    }

    pub fn init<B: Backend>(&self, device: &B::Device) -> ResNet<B> {
        let stem_width = self.widths.first().copied().unwrap_or(INPUT_CHANNELS);
        let stem = ConvNorm::new(INPUT_CHANNELS, stem_width, 3, 1, device);

        let mut channels = stem_width;
        let mut blocks = Vec::new();
        for (stage, (&count, &width)) in self.blocks.iter().zip(&self.widths).enumerate() {
            for index in 0..count {
                let stride = if stage > 0 && index == 0 { 2 } else { 1 };
                blocks.push(self.block(channels, width, stride, device));
                channels = self.channels_out(width);
            }
        }

        ResNet {
            stem,
            blocks,
            classifier: classifier(channels, device),
        }
    }

    fn block<B: Backend>(
        &self,
        channels_in: usize,
        width: usize,
        stride: usize,
        device: &B::Device,
    ) -> ResidualBlock<B> {
        match self.block {
            BlockKind::Basic => {
                ResidualBlock::Basic(BasicBlock::new(channels_in, width, stride, device))
            }
            BlockKind::Bottleneck => {
                ResidualBlock::Bottleneck(Bottleneck::new(channels_in, width, stride, device))
            }
        }
    }

    fn channels_out(&self, width: usize) -> usize {
        match self.block {
            BlockKind::Basic => width,
            BlockKind::Bottleneck => width * BOTTLENECK_EXPANSION,
        }
    }
}

#[derive(Module, Debug)]
pub struct ResNet<B: Backend> {
    stem: ConvNorm<B>,
    blocks: Vec<ResidualBlock<B>>,
    classifier: Linear<B>,
}

impl<B: Backend> ResNet<B> {
    /// `[B, 1, H, W]` images -> `[B, 7]` logits.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        let x = self.stem.forward_relu(images);
        let x = self.blocks.iter().fold(x, |x, block| block.forward(x));
        classify(&self.classifier, global_avg_pool(x))
    }
}
