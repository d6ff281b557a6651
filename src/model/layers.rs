//! Building bricks shared by every family: bias-free convolutions with He init,
//! conv + norm pairs, global average pooling and the 7-way classifier.

use burn::module::{Initializer, Module};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::backend::Backend;
use burn::tensor::module::{adaptive_avg_pool2d, avg_pool2d, max_pool2d};
use burn::tensor::Tensor;

use super::norm::Norm;

/// FER2013 images are grey.
pub const INPUT_CHANNELS: usize = 1;
/// angry, disgust, fear, happy, sad, surprise, neutral.
pub const NUM_CLASSES: usize = 7;

/// torchvision's conv init: kaiming-normal, fan_out, ReLU gain (std = sqrt(2 / fan_out)).
fn he_normal_fan_out() -> Initializer {
    Initializer::KaimingNormal {
        gain: std::f64::consts::SQRT_2,
        fan_out_only: true,
    }
}

/// A square, bias-free convolution with "same"-style padding `kernel / 2`
/// (a norm always follows, so a bias would be redundant).
pub fn conv<B: Backend>(
    channels_in: usize,
    channels_out: usize,
    kernel: usize,
    stride: usize,
    device: &B::Device,
) -> Conv2d<B> {
    let pad = kernel / 2;
    Conv2dConfig::new([channels_in, channels_out], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .with_initializer(he_normal_fan_out())
        .init(device)
}

/// Convolution followed by batch norm: the unit every ResNet and VGG layer is made of.
#[derive(Module, Debug)]
pub struct ConvNorm<B: Backend> {
    conv: Conv2d<B>,
    norm: Norm<B>,
}

impl<B: Backend> ConvNorm<B> {
    pub fn new(
        channels_in: usize,
        channels_out: usize,
        kernel: usize,
        stride: usize,
        device: &B::Device,
    ) -> Self {
        Self {
            conv: conv(channels_in, channels_out, kernel, stride, device),
            norm: Norm::new(channels_out, device),
        }
    }

    /// norm(conv(x)), for the places where something is added before the ReLU.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.norm.forward(super::conv::forward(&self.conv, x))
    }

    /// relu(norm(conv(x))), the ReLU fused into the norm.
    pub fn forward_relu(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.norm.forward_relu(super::conv::forward(&self.conv, x))
    }
}

/// Norm, ReLU, then convolution: DenseNet's pre-activation order.
#[derive(Module, Debug)]
pub struct NormReluConv<B: Backend> {
    norm: Norm<B>,
    conv: Conv2d<B>,
}

impl<B: Backend> NormReluConv<B> {
    pub fn new(channels_in: usize, channels_out: usize, kernel: usize, device: &B::Device) -> Self {
        Self {
            norm: Norm::new(channels_in, device),
            conv: conv(channels_in, channels_out, kernel, 1, device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        super::conv::forward(&self.conv, self.norm.forward_relu(x))
    }
}

/// `[B, C, H, W]` -> `[B, C]`, the mean over each map.
pub fn global_avg_pool<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 2> {
    adaptive_avg_pool2d(x, [1, 1]).flatten(1, 3)
}

/// The final fully connected layer (with bias, PyTorch's default init).
pub fn classifier<B: Backend>(features: usize, device: &B::Device) -> Linear<B> {
    LinearConfig::new(features, NUM_CLASSES).init(device)
}

/// `classifier(features)`, counted by [`super::macs`] as `inputs x outputs`.
pub fn classify<B: Backend>(classifier: &Linear<B>, features: Tensor<B, 2>) -> Tensor<B, 2> {
    let [batch, inputs] = features.dims();
    super::macs::add(batch * inputs * NUM_CLASSES);
    classifier.forward(features)
}

/// 2x2 stride-2 max-pool (PyTorch's `MaxPool2d(2)`, floor mode), skipped when a side is
/// already below 2 pixels so that small inputs never produce an empty map.
pub fn max_pool_halve<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    if !poolable(&x) {
        return x;
    }
    max_pool2d(x, [2, 2], [2, 2], [0, 0], [1, 1], false)
}

/// 2x2 stride-2 average pool (PyTorch's `AvgPool2d(2)`), skipped like [`max_pool_halve`].
pub fn avg_pool_halve<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    if !poolable(&x) {
        return x;
    }
    avg_pool2d(x, [2, 2], [2, 2], [0, 0], true, false)
}

fn poolable<B: Backend>(x: &Tensor<B, 4>) -> bool {
    let [_, _, height, width] = x.dims();
    height >= 2 && width >= 2
}
