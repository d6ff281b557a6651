//! Timings behind the fast BatchNorm (all `#[ignore]`d; run them in release):
//!
//! ```text
//! cargo test --release --test norm_speed -- --ignored --nocapture --test-threads 1
//! ```
//!
//! They print milliseconds per call (median of several runs) for burn's `BatchNorm`,
//! our [`Norm`], and the flex element-wise and reduction formulations BatchNorm can
//! be written with, on the `[64, 16, 40, 40]` activations of a ResNet's first stage.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::nn::BatchNormConfig;
use burn::tensor::{Distribution, Tensor};
use common::timing::{median_ms, report, touch};
use fer::model::Norm;

type Train = Autodiff<Flex>;

const SHAPE: [usize; 4] = [64, 16, 40, 40];

fn random<B: burn::tensor::backend::Backend, const D: usize>(shape: [usize; D]) -> Tensor<B, D> {
    Tensor::random(shape, Distribution::Normal(0.5, 2.0), &Default::default())
}

#[test]
#[ignore = "benchmark"]
fn flex_element_wise_and_reductions() {
    let [batch, channels, height, width] = SHAPE;
    let x = random::<Flex, 4>(SHAPE);
    let same_shape = random::<Flex, 4>(SHAPE);
    let per_channel = random::<Flex, 1>([channels]);

    report(
        "relu",
        median_ms(|| touch(burn::tensor::activation::relu(x.clone()))),
    );
    report(
        "mul, same shape, contiguous",
        median_ms(|| touch(x.clone() * same_shape.clone())),
    );
    report(
        "mul by [1,C,1,1] (burn BatchNorm's broadcast)",
        median_ms(|| touch(x.clone() * per_channel.clone().reshape([1, channels, 1, 1]))),
    );
    let rows = random::<Flex, 2>([batch * channels, 1]);
    report(
        "mul [N*C, H*W] by [N*C, 1] (per-row scalar)",
        median_ms(|| touch(x.clone().reshape([batch * channels, height * width]) * rows.clone())),
    );
    report(
        "mul by [1,C,1,1] materialised with repeat_dim",
        median_ms(|| {
            let full = per_channel
                .clone()
                .reshape([1, channels, 1])
                .repeat_dim(2, height * width)
                .repeat_dim(0, batch)
                .reshape(SHAPE);
            touch(x.clone() * full)
        }),
    );
    report(
        "mean: swap_dims(0,1).reshape([C,-1]).mean_dim(1) (burn)",
        median_ms(|| {
            touch(
                x.clone()
                    .swap_dims(0, 1)
                    .reshape([channels, batch * height * width])
                    .mean_dim(1),
            )
        }),
    );
    report(
        "mean: reshape([N,C,HW]).mean_dim(2).mean_dim(0)",
        median_ms(|| {
            touch(
                x.clone()
                    .reshape([batch, channels, height * width])
                    .mean_dim(2)
                    .mean_dim(0),
            )
        }),
    );
    report("sum of everything", median_ms(|| touch(x.clone())));
}

/// Backward from the 4-D output itself: burn seeds it with a contiguous tensor of
/// ones, like the gradient a convolution hands back, and adds no op of its own.
#[test]
#[ignore = "benchmark"]
fn batch_norm_train_forward_backward() {
    let device = Default::default();
    let channels = SHAPE[1];
    let x = random::<Train, 4>(SHAPE).require_grad();

    let reference = BatchNormConfig::new(channels).init::<Train>(&device);
    report(
        "burn BatchNorm forward (train)",
        median_ms(|| touch(reference.forward(x.clone()))),
    );
    report(
        "burn BatchNorm forward + backward (train)",
        median_ms(|| {
            let _ = reference.forward(x.clone()).backward();
        }),
    );

    let norm = Norm::<Train>::new(channels, &device);
    report(
        "Norm forward (train)",
        median_ms(|| touch(norm.forward(x.clone()))),
    );
    report(
        "Norm forward + backward (train)",
        median_ms(|| {
            let _ = norm.forward(x.clone()).backward();
        }),
    );
    report(
        "Norm::forward_portable forward + backward (train)",
        median_ms(|| {
            let _ = norm.forward_portable(x.clone()).backward();
        }),
    );
}

#[test]
#[ignore = "benchmark"]
fn batch_norm_inference_forward() {
    let device = Default::default();
    let channels = SHAPE[1];
    let x = random::<Flex, 4>(SHAPE);
    let reference = BatchNormConfig::new(channels).init::<Flex>(&device);
    report(
        "burn BatchNorm forward (inference)",
        median_ms(|| touch(reference.forward(x.clone()))),
    );
    let norm = Norm::<Flex>::new(channels, &device);
    report(
        "Norm forward (inference)",
        median_ms(|| touch(norm.forward(x.clone()))),
    );
    report(
        "Norm::forward_portable (inference)",
        median_ms(|| touch(norm.forward_portable(x.clone()))),
    );
}

/// The kernels alone on host slices: what a BatchNorm costs without burn around it.
#[test]
#[ignore = "benchmark"]
fn kernels_alone() {
    use fer::kernels::batch_norm::{
        gradient_sums, input_gradient_in_place, inverse_std, normalize, statistics, Affine,
        Forward, Layout,
    };
    let [batch, channels, height, width] = SHAPE;
    let layout = Layout {
        batch,
        channels,
        spatial: height * width,
    };
    let x: Vec<f32> = (0..layout.len())
        .map(|i| (i as f32 * 0.001).sin())
        .collect();
    let ones = vec![1.0f32; channels];
    let zeros = vec![0.0f32; channels];
    let stats = statistics(&x, layout);
    let inv_std = inverse_std(&stats.variance, 1e-5);
    report(
        "kernel: statistics",
        median_ms(|| drop(statistics(&x, layout))),
    );
    report(
        "kernel: normalize (allocates the output)",
        median_ms(|| {
            drop(normalize(
                &x,
                layout,
                Affine {
                    mean: &stats.mean,
                    scale: &inv_std,
                    shift: &zeros,
                },
                false,
            ))
        }),
    );
    report(
        "allocate + zero an output (vec![0.0; n])",
        median_ms(|| drop(std::hint::black_box(vec![0.0f32; layout.len()]))),
    );
    let grad = x.clone();
    let forward = Forward {
        mean: &stats.mean,
        inverse_std: &inv_std,
        gamma: &ones,
        relu: None,
    };
    report(
        "kernel: gradient_sums",
        median_ms(|| drop(gradient_sums(&x, &grad, layout, &forward))),
    );
    let shift = vec![0.1f32; layout.channels];
    let with_relu = Forward {
        relu: Some(Affine {
            mean: &stats.mean,
            scale: &inv_std,
            shift: &shift,
        }),
        ..forward
    };
    report(
        "kernel: gradient_sums through a fused ReLU",
        median_ms(|| drop(gradient_sums(&x, &grad, layout, &with_relu))),
    );
    let sums = gradient_sums(&x, &grad, layout, &forward);
    let mut in_place = grad.clone();
    report(
        "kernel: input_gradient_in_place",
        median_ms(|| input_gradient_in_place(&x, &mut in_place, layout, &forward, &sums)),
    );
}
