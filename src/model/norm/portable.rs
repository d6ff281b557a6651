//! BatchNorm from plain tensor operations, for every backend without a hand-written
//! kernel (CUDA, `Autodiff<Cuda>`, ...); autodiff derives its backward.
//!
//! Same arithmetic as burn's `BatchNorm`, arranged so that the reductions run over the
//! contiguous last axis of `[N, C, H * W]` (burn's `swap_dims(0, 1)` then `mean_dim`
//! makes a strided reduction, 20x slower on the CPU backend).

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// What a training-mode forward pass yields.
pub struct BatchNormalized<B: Backend> {
    pub output: Tensor<B, 4>,
    /// Batch mean per channel, detached.
    pub mean: Tensor<B, 1>,
    /// Biased batch variance per channel, detached.
    pub variance: Tensor<B, 1>,
}

/// `[C]` -> `[1, C, 1]`, to broadcast over `[N, C, H * W]`.
fn per_channel<B: Backend>(values: Tensor<B, 1>) -> Tensor<B, 3> {
    let [channels] = values.dims();
    values.reshape([1, channels, 1])
}

/// Normalises with the batch statistics of `x` (`[N, C, H, W]`).
pub fn forward_train<B: Backend>(
    x: Tensor<B, 4>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    epsilon: f64,
) -> BatchNormalized<B> {
    let [batch, channels, height, width] = x.dims();
    let rows = x.reshape([batch, channels, height * width]);
    let mean = rows.clone().mean_dim(2).mean_dim(0);
    let centred = rows - mean.clone();
    let variance = centred.clone().square().mean_dim(2).mean_dim(0);
    let scale = per_channel(gamma) / (variance.clone() + epsilon).sqrt();
    let output = (centred * scale + per_channel(beta)).reshape([batch, channels, height, width]);
    BatchNormalized {
        output,
        mean: mean.reshape([channels]).detach(),
        variance: variance.reshape([channels]).detach(),
    }
}

/// Normalises with given (running) statistics.
pub fn forward_inference<B: Backend>(
    x: Tensor<B, 4>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    mean: Tensor<B, 1>,
    variance: Tensor<B, 1>,
    epsilon: f64,
) -> Tensor<B, 4> {
    let [batch, channels, height, width] = x.dims();
    let scale = gamma / (variance + epsilon).sqrt();
    let rows = x.reshape([batch, channels, height * width]);
    let output = (rows - per_channel(mean)) * per_channel(scale) + per_channel(beta);
    output.reshape([batch, channels, height, width])
}
