//! BatchNorm on burn's CPU backend through the kernels of [`crate::kernels::batch_norm`]:
//! `Flex` for inference and `Autodiff<Flex>` for training, with a hand-written backward.
//!
//! For any other backend, or data that is not `f32`, they hand the input back and the
//! caller uses the portable formulation.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};

use super::portable::BatchNormalized;
use crate::kernels::batch_norm::{
    gradient_sums, input_gradient_in_place, inverse_std, normalize, statistics, Affine, Forward,
    Layout,
};
use crate::kernels::profile::{timed, KernelKind};
use crate::model::flex_bridge::{flex_tensor, matched, same_type, values, Train};

/// `gamma / std` per channel: what [`normalize`] multiplies the centred input by.
fn scale(gamma: &[f32], inverse_std: &[f32]) -> Vec<f32> {
    gamma
        .iter()
        .zip(inverse_std)
        .map(|(gamma, inv_std)| gamma * inv_std)
        .collect()
}

fn layout_of(dims: [usize; 4]) -> Layout {
    let [batch, channels, height, width] = dims;
    Layout {
        batch,
        channels,
        spatial: height * width,
    }
}

/// A `[C]` tensor of `B` from host values.
fn host_tensor<B: Backend>(values: Vec<f32>, device: &B::Device) -> Tensor<B, 1> {
    let channels = values.len();
    Tensor::from_data(TensorData::new(values, [channels]), device)
}

/// `None` unless the tensor holds `f32` values.
fn host_values<B: Backend>(tensor: Tensor<B, 1>) -> Option<Vec<f32>> {
    tensor.into_data().into_vec::<f32>().ok()
}

/// The kernels read `f32` only; anything else takes the portable path.
fn all_f32<B: Backend>(x: &Tensor<B, 4>, gamma: &Tensor<B, 1>, beta: &Tensor<B, 1>) -> bool {
    [x.dtype(), gamma.dtype(), beta.dtype()]
        .iter()
        .all(|&dtype| dtype == DType::F32)
}

/// Training-mode forward on `Autodiff<Flex>` with `f32` data, followed by a ReLU in
/// the same sweep when `relu`; anything else gets `x` back.
pub(super) fn forward_train<B: Backend>(
    x: Tensor<B, 4>,
    gamma: &Tensor<B, 1>,
    beta: &Tensor<B, 1>,
    epsilon: f64,
    relu: bool,
) -> Result<BatchNormalized<B>, Tensor<B, 4>> {
    if !all_f32(&x, gamma, beta) {
        return Err(x);
    }
    let device = x.device();
    let x = same_type::<Tensor<B, 4>, Tensor<Train, 4>>(x)?;
    let gamma = matched::<Tensor<B, 1>, Tensor<Train, 1>>(gamma.clone());
    let beta = matched::<Tensor<B, 1>, Tensor<Train, 1>>(beta.clone());
    let (output, mean, variance) = train(x, gamma, beta, epsilon, relu);
    Ok(BatchNormalized {
        output: matched(output),
        mean: host_tensor(mean, &device),
        variance: host_tensor(variance, &device),
    })
}

/// Output, batch mean and biased batch variance of `f32` tensors, with the backward
/// pass registered on the autodiff graph.
fn train(
    x: Tensor<Train, 4>,
    gamma: Tensor<Train, 1>,
    beta: Tensor<Train, 1>,
    epsilon: f64,
    relu: bool,
) -> (Tensor<Train, 4>, Vec<f32>, Vec<f32>) {
    let dims = x.dims();
    let layout = layout_of(dims);
    let x = x.into_primitive().tensor();
    let gamma = gamma.into_primitive().tensor();
    let beta = beta.into_primitive().tensor();
    let input = x.primitive.to_contiguous();
    let gamma_values = values(&gamma.primitive.to_contiguous()).to_vec();
    let beta_values = values(&beta.primitive.to_contiguous()).to_vec();

    let stats = timed(KernelKind::NormForward, || {
        statistics(values(&input), layout)
    });
    let inverse_std = inverse_std(&stats.variance, epsilon);
    let scale = scale(&gamma_values, &inverse_std);
    let affine = Affine {
        mean: &stats.mean,
        scale: &scale,
        shift: &beta_values,
    };
    let output = timed(KernelKind::NormForward, || {
        normalize(values(&input), layout, affine, relu)
    });
    let output = flex_tensor(output, dims.to_vec());

    let nodes = [x.node.clone(), gamma.node.clone(), beta.node.clone()];
    let output = match BatchNormBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let saved = SavedForBackward {
                input,
                layout,
                mean: stats.mean.clone(),
                inverse_std,
                relu: relu.then(|| (scale.clone(), beta_values.clone())),
                gamma: gamma_values,
            };
            prep.finish(saved, output)
        }
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    (
        Tensor::from_primitive(TensorPrimitive::Float(output)),
        stats.mean,
        stats.variance,
    )
}

/// Inference-mode forward on `Flex` with the given per-channel statistics; any other
/// backend gets `x` back.
pub(super) fn forward_inference<B: Backend>(
    x: Tensor<B, 4>,
    gamma: Tensor<B, 1>,
    beta: Tensor<B, 1>,
    mean: Tensor<B, 1>,
    variance: Tensor<B, 1>,
    epsilon: f64,
    relu: bool,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    if x.dtype() != DType::F32 {
        return Err(x);
    }
    let x = same_type::<Tensor<B, 4>, Tensor<Flex, 4>>(x)?;
    let host = (
        host_values(gamma),
        host_values(beta),
        host_values(mean),
        host_values(variance),
    );
    let (Some(gamma), Some(beta), Some(mean), Some(variance)) = host else {
        return Err(matched(x));
    };
    let dims = x.dims();
    let input = x.into_primitive().tensor().to_contiguous();
    let scale = scale(&gamma, &inverse_std(&variance, epsilon));
    let affine = Affine {
        mean: &mean,
        scale: &scale,
        shift: &beta,
    };
    let output = timed(KernelKind::NormForward, || {
        normalize(values(&input), layout_of(dims), affine, relu)
    });
    let output = flex_tensor(output, dims.to_vec());
    Ok(matched(Tensor::<Flex, 4>::from_primitive(
        TensorPrimitive::Float(output),
    )))
}

#[derive(Debug)]
struct BatchNormBackward;

/// What the backward pass needs from the forward one (the input is shared, not copied).
#[derive(Clone, Debug)]
struct SavedForBackward {
    input: FlexTensor,
    layout: Layout,
    mean: Vec<f32>,
    inverse_std: Vec<f32>,
    /// `(scale, shift)` of the forward's affine map when a ReLU followed it.
    relu: Option<(Vec<f32>, Vec<f32>)>,
    gamma: Vec<f32>,
}

impl Backward<Flex, 3> for BatchNormBackward {
    type State = SavedForBackward;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [input_node, gamma_node, beta_node] = ops.parents;
        let saved = ops.state;
        let grad_output = grads.consume::<Flex>(&ops.node).to_contiguous();
        let x = values(&saved.input);
        let forward = Forward {
            mean: &saved.mean,
            inverse_std: &saved.inverse_std,
            gamma: &saved.gamma,
            relu: saved.relu.as_ref().map(|(scale, shift)| Affine {
                mean: &saved.mean,
                scale,
                shift,
            }),
        };
        let sums = timed(KernelKind::NormBackward, || {
            gradient_sums(x, values(&grad_output), saved.layout, &forward)
        });
        let channels = vec![saved.layout.channels];

        if let Some(node) = gamma_node {
            let grad_gamma = sums
                .grad_times_centred
                .iter()
                .zip(&saved.inverse_std)
                .map(|(&sum, &inv_std)| (sum * f64::from(inv_std)) as f32)
                .collect();
            grads.register::<Flex>(node.id, flex_tensor(grad_gamma, channels.clone()));
        }
        if let Some(node) = beta_node {
            let grad_beta = sums.grad.iter().map(|&sum| sum as f32).collect();
            grads.register::<Flex>(node.id, flex_tensor(grad_beta, channels));
        }
        if let Some(node) = input_node {
            // The output gradient becomes the input gradient in place (copied first
            // only if someone else still holds it).
            let mut grad_input = grad_output;
            timed(KernelKind::NormBackward, || {
                input_gradient_in_place(
                    x,
                    grad_input.storage_mut::<f32>(),
                    saved.layout,
                    &forward,
                    &sums,
                );
            });
            grads.register::<Flex>(node.id, grad_input);
        }
    }
}
