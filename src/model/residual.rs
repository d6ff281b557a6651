//! Residual blocks shared by the ImageNet-style and CIFAR-style ResNets.

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::join::add_relu;
use super::layers::ConvNorm;

/// Bottleneck blocks widen their output by this factor (torchvision's `expansion`).
pub const BOTTLENECK_EXPANSION: usize = 4;

/// The identity, or a strided 1x1 conv + norm where the block changes shape
/// ("option B" of the ResNet paper, as in the reference's `Basic.sc`).
fn projection<B: Backend>(
    channels_in: usize,
    channels_out: usize,
    stride: usize,
    device: &B::Device,
) -> Option<ConvNorm<B>> {
    let changes_shape = stride != 1 || channels_in != channels_out;
    changes_shape.then(|| ConvNorm::new(channels_in, channels_out, 1, stride, device))
}

fn shortcut<B: Backend>(projection: &Option<ConvNorm<B>>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    match projection {
        Some(projection) => projection.forward(x),
        None => x,
    }
}

/// Two 3x3 convs (the first carries the stride) plus a shortcut.
#[derive(Module, Debug)]
pub struct BasicBlock<B: Backend> {
    conv1: ConvNorm<B>,
    conv2: ConvNorm<B>,
    projection: Option<ConvNorm<B>>,
}

impl<B: Backend> BasicBlock<B> {
    pub fn new(channels_in: usize, width: usize, stride: usize, device: &B::Device) -> Self {
        Self {
            conv1: ConvNorm::new(channels_in, width, 3, stride, device),
            conv2: ConvNorm::new(width, width, 3, 1, device),
            projection: projection(channels_in, width, stride, device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let y = self.conv2.forward(self.conv1.forward_relu(x.clone()));
        add_relu(y, shortcut(&self.projection, x))
    }
}

/// torchvision's bottleneck: 1x1 reduce to `width`, 3x3 with the stride, 1x1 expand
/// to `4 * width`, plus a shortcut.
#[derive(Module, Debug)]
pub struct Bottleneck<B: Backend> {
    reduce: ConvNorm<B>,
    conv: ConvNorm<B>,
    expand: ConvNorm<B>,
    projection: Option<ConvNorm<B>>,
}

impl<B: Backend> Bottleneck<B> {
    pub fn new(channels_in: usize, width: usize, stride: usize, device: &B::Device) -> Self {
        let channels_out = width * BOTTLENECK_EXPANSION;
        Self {
            reduce: ConvNorm::new(channels_in, width, 1, 1, device),
            conv: ConvNorm::new(width, width, 3, stride, device),
            expand: ConvNorm::new(width, channels_out, 1, 1, device),
            projection: projection(channels_in, channels_out, stride, device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let y = self.reduce.forward_relu(x.clone());
        let y = self.expand.forward(self.conv.forward_relu(y));
        add_relu(y, shortcut(&self.projection, x))
    }
}

/// Either kind of block, so one `ResNet` type holds both families.
// burn's Module derive cannot see through a Box, and blocks are built once and only
// borrowed afterwards, so the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum ResidualBlock<B: Backend> {
    Basic(BasicBlock<B>),
    Bottleneck(Bottleneck<B>),
}

impl<B: Backend> ResidualBlock<B> {
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        match self {
            Self::Basic(block) => block.forward(x),
            Self::Bottleneck(block) => block.forward(x),
        }
    }
}
