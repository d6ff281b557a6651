//! The one BatchNorm every model goes through.
//!
//! Same semantics as burn's `BatchNorm`, which it replaces because on the CPU backend
//! that one spends ~70% of a ResNet-20 training step in strided reductions and
//! broadcast element-wise ops (tests/norm_speed.rs): in training mode (`B::ad_enabled`, burn's rule) it normalises
//! with the batch mean and biased variance and moves the running statistics towards
//! them with momentum 0.1; in inference mode it uses the running statistics.
//!
//! On `Autodiff<Flex>` / `Flex` it runs hand-written kernels with their own backward
//! (`norm::flex`); every other backend gets the plain-tensor formulation of [`portable`].
//!
//! The running statistics live in fields named `running_mean` and `running_var`:
//! [`parameter_count`](super::parameter_count) relies on those names to leave them
//! out, as PyTorch's `parameters()` does. The record holds `gamma`, `beta` and both
//! running statistics, so checkpoints keep them.

mod flex;
pub mod portable;

use burn::module::{Module, Param, RunningState};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use portable::BatchNormalized;

/// `relu(x)` when asked, else `x`: the activation the kernels fuse, for the other paths.
fn then_relu<B: Backend>(x: Tensor<B, 4>, relu: bool) -> Tensor<B, 4> {
    if relu {
        burn::tensor::activation::relu(x)
    } else {
        x
    }
}

/// PyTorch's `BatchNorm2d` defaults, which the reference trainer uses.
pub const EPSILON: f64 = 1e-5;
pub const MOMENTUM: f64 = 0.1;

/// Batch normalisation over the channel axis of `[B, C, H, W]` maps
/// (weight 1, bias 0, running mean 0, running variance 1 at init).
#[derive(Module, Debug)]
pub struct Norm<B: Backend> {
    /// The learnable scale.
    pub gamma: Param<Tensor<B, 1>>,
    /// The learnable shift.
    pub beta: Param<Tensor<B, 1>>,
    pub running_mean: RunningState<Tensor<B, 1>>,
    /// Updated with the biased batch variance, as burn's `BatchNorm` does (PyTorch uses
    /// the unbiased one: larger by `n / (n - 1)`, `n` = batch x height x width).
    pub running_var: RunningState<Tensor<B, 1>>,
}

impl<B: Backend> Norm<B> {
    /// A fresh norm over `channels` channels.
    pub fn new(channels: usize, device: &B::Device) -> Self {
        Self {
            gamma: Param::from_tensor(Tensor::ones([channels], device)),
            beta: Param::from_tensor(Tensor::zeros([channels], device)),
            running_mean: RunningState::new(Tensor::zeros([channels], device)),
            running_var: RunningState::new(Tensor::ones([channels], device)),
        }
    }

    /// Normalises with batch statistics under autodiff (training), running ones otherwise.
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_then(x, false)
    }

    /// `relu(forward(x))`, in one sweep on the CPU kernels.
    pub fn forward_relu(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        self.forward_then(x, true)
    }

    fn forward_then(&self, x: Tensor<B, 4>, relu: bool) -> Tensor<B, 4> {
        if B::ad_enabled(&x.device()) {
            self.forward_train(x, relu)
        } else {
            self.forward_inference(x, relu)
        }
    }

    /// [`forward`](Self::forward) through the plain-tensor formulation on every
    /// backend, for checking the kernels against it.
    pub fn forward_portable(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        if B::ad_enabled(&x.device()) {
            let normalized = portable::forward_train(x, self.gamma.val(), self.beta.val(), EPSILON);
            self.update_running_statistics(&normalized);
            normalized.output
        } else {
            self.portable_inference(x)
        }
    }

    fn forward_train(&self, x: Tensor<B, 4>, relu: bool) -> Tensor<B, 4> {
        let (gamma, beta) = (self.gamma.val(), self.beta.val());
        match flex::forward_train(x, &gamma, &beta, EPSILON, relu) {
            Ok(normalized) => {
                self.update_running_statistics(&normalized);
                normalized.output
            }
            Err(x) => {
                let normalized = portable::forward_train(x, gamma, beta, EPSILON);
                self.update_running_statistics(&normalized);
                then_relu(normalized.output, relu)
            }
        }
    }

    fn forward_inference(&self, x: Tensor<B, 4>, relu: bool) -> Tensor<B, 4> {
        let device = x.device();
        flex::forward_inference(
            x,
            self.gamma.val(),
            self.beta.val(),
            self.running_mean.value().to_device(&device),
            self.running_var.value().to_device(&device),
            EPSILON,
            relu,
        )
        .unwrap_or_else(|x| then_relu(self.portable_inference(x), relu))
    }

    fn portable_inference(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let device = x.device();
        portable::forward_inference(
            x,
            self.gamma.val(),
            self.beta.val(),
            self.running_mean.value().to_device(&device),
            self.running_var.value().to_device(&device),
            EPSILON,
        )
    }

    /// `running = (1 - momentum) * running + momentum * batch`, as burn's `BatchNorm`.
    fn update_running_statistics(&self, batch: &BatchNormalized<B>) {
        let device = batch.mean.device();
        let blend = |running: &RunningState<Tensor<B, 1>>, batch: &Tensor<B, 1>| {
            let updated = running
                .value_sync()
                .to_device(&device)
                .mul_scalar(1.0 - MOMENTUM)
                .add(batch.clone().mul_scalar(MOMENTUM));
            running.update(updated.detach());
        };
        blend(&self.running_mean, &batch.mean);
        blend(&self.running_var, &batch.variance);
    }
}
