//! `Norm` against burn's own `BatchNorm` on `Autodiff<Flex>` / `Flex`: outputs, input
//! and parameter gradients, running statistics and inference outputs, through both
//! the CPU kernels (`forward`) and the plain-tensor path (`forward_portable`).

mod common;

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module, Param};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::tensor::activation::relu;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::Tensor;
use common::numeric::{assert_close, assert_gradients_close, random, values};
use fer::model::{trainable_parameter_count, Norm};

type Train = Autodiff<Flex>;

const SHAPES: [[usize; 4]; 4] = [
    [8, 16, 10, 10],
    [4, 3, 5, 7],
    [3, 5, 1, 2],
    [32, 16, 40, 40],
];

/// Which `Norm` entry point a check goes through.
#[derive(Clone, Copy, Debug)]
enum Path {
    Kernels,
    Portable,
}

fn run<B: Backend>(norm: &Norm<B>, path: Path, x: Tensor<B, 4>) -> Tensor<B, 4> {
    match path {
        Path::Kernels => norm.forward(x),
        Path::Portable => norm.forward_portable(x),
    }
}

/// A burn `BatchNorm` and a `Norm` sharing random gamma and beta.
fn pair<B: Backend>(channels: usize) -> (BatchNorm<B>, Norm<B>) {
    let device = Default::default();
    let gamma = random::<B, 1>([channels], 1.0, 0.5);
    let beta = random::<B, 1>([channels], 0.0, 0.5);
    let mut reference = BatchNormConfig::new(channels).init::<B>(&device);
    reference.gamma = Param::from_tensor(gamma.clone());
    reference.beta = Param::from_tensor(beta.clone());
    let mut norm = Norm::new(channels, &device);
    norm.gamma = Param::from_tensor(gamma);
    norm.beta = Param::from_tensor(beta);
    (reference, norm)
}

/// One training step of both on the same batch: output, input and parameter
/// gradients of `sum(weights * bn(x))` must agree.
fn check_training_step(
    reference: &BatchNorm<Train>,
    norm: &Norm<Train>,
    path: Path,
    shape: [usize; 4],
    input_requires_grad: bool,
) -> Vec<f32> {
    let label = format!("{path:?} {shape:?}");
    let mut x = random::<Train, 4>(shape, 0.5, 2.0);
    if input_requires_grad {
        x = x.require_grad();
    }
    let weights = random::<Train, 4>(shape, 0.0, 1.0);

    let expected = reference.forward(x.clone());
    let expected_grads = (expected.clone() * weights.clone()).sum().backward();
    let actual = run(norm, path, x.clone());
    let actual_grads = (actual.clone() * weights).sum().backward();

    assert_close(
        &format!("{label} output"),
        values(actual),
        values(expected),
        1e-4,
    );
    if input_requires_grad {
        assert_input_gradients_close(&label, &x, [&actual_grads, &expected_grads], 1e-4);
    }
    let parameter_grads = vec![
        (
            "gamma",
            norm.gamma.grad(&actual_grads),
            reference.gamma.grad(&expected_grads),
        ),
        (
            "beta",
            norm.beta.grad(&actual_grads),
            reference.beta.grad(&expected_grads),
        ),
    ];
    assert_gradients_close(&label, parameter_grads, 1e-4);
    values(x)
}

/// The input gradients `x` got in two backward passes agree.
fn assert_input_gradients_close(
    label: &str,
    x: &Tensor<Train, 4>,
    [actual, expected]: [&<Train as AutodiffBackend>::Gradients; 2],
    tolerance: f64,
) {
    let (Some(actual_dx), Some(expected_dx)) = (x.grad(actual), x.grad(expected)) else {
        panic!("{label}: no input gradient");
    };
    let what = format!("{label} input gradient");
    assert_close(&what, values(actual_dx), values(expected_dx), tolerance);
}

/// Running statistics computed in `f64` from the batches, updated like burn's
/// `BatchNorm` (momentum 0.1, biased variance).
struct ExactRunning {
    shape: [usize; 4],
    mean: Vec<f64>,
    var: Vec<f64>,
}

impl ExactRunning {
    fn new(shape: [usize; 4]) -> Self {
        Self {
            shape,
            mean: vec![0.0; shape[1]],
            var: vec![1.0; shape[1]],
        }
    }

    fn update(&mut self, batch: &[f32]) {
        let [_, channels, height, width] = self.shape;
        let spatial = height * width;
        for channel in 0..channels {
            let values: Vec<f64> = batch
                .chunks(spatial)
                .skip(channel)
                .step_by(channels)
                .flatten()
                .map(|&v| f64::from(v))
                .collect();
            let count = values.len() as f64;
            let mean = values.iter().sum::<f64>() / count;
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / count;
            self.mean[channel] = 0.9 * self.mean[channel] + 0.1 * mean;
            self.var[channel] = 0.9 * self.var[channel] + 0.1 * var;
        }
    }
}

fn as_f32(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| v as f32).collect()
}

/// Ours within 1e-6 of the exact statistics; burn's own `f32` sums drift by a few
/// 1e-6 on large batches, so ours and burn's agree within 1e-5.
fn check_running_statistics(
    reference: &BatchNorm<Train>,
    norm: &Norm<Train>,
    exact: &ExactRunning,
    label: &str,
) {
    let ours = [
        ("mean", values(norm.running_mean.value_sync()), &exact.mean),
        ("var", values(norm.running_var.value_sync()), &exact.var),
    ];
    for (name, actual, exact) in ours {
        assert_close(
            &format!("{label} running {name} vs exact"),
            actual,
            as_f32(exact),
            1e-6,
        );
    }
    let burns = [
        (
            "mean",
            values(norm.running_mean.value_sync()),
            values(reference.running_mean.value_sync()),
        ),
        (
            "var",
            values(norm.running_var.value_sync()),
            values(reference.running_var.value_sync()),
        ),
    ];
    for (name, actual, expected) in burns {
        assert_close(
            &format!("{label} running {name} vs burn"),
            actual,
            expected,
            1e-5,
        );
    }
}

/// Several training steps, then the running statistics and the inference outputs.
fn check_path(path: Path) {
    for shape in SHAPES {
        let (reference, norm) = pair::<Train>(shape[1]);
        let mut exact = ExactRunning::new(shape);
        for _ in 0..4 {
            let batch = check_training_step(&reference, &norm, path, shape, true);
            exact.update(&batch);
        }
        let label = format!("{path:?} {shape:?}");
        check_running_statistics(&reference, &norm, &exact, &label);

        let x = random::<Flex, 4>(shape, 0.5, 2.0);
        let expected = reference.valid().forward(x.clone());
        let actual = run(&norm.valid(), path, x);
        assert_close(
            &format!("{label} inference output"),
            values(actual),
            values(expected),
            1e-5,
        );
    }
}

#[test]
fn kernels_match_burn_batch_norm_in_training_and_inference() {
    check_path(Path::Kernels);
}

#[test]
fn portable_path_matches_burn_batch_norm_in_training_and_inference() {
    check_path(Path::Portable);
}

#[test]
fn parameter_gradients_flow_when_the_input_needs_none() {
    let shape = [4, 6, 3, 3];
    let (reference, norm) = pair::<Train>(shape[1]);
    let _ = check_training_step(&reference, &norm, Path::Kernels, shape, false);
}

#[test]
fn non_contiguous_input_is_normalised_like_a_contiguous_one() {
    let (reference, norm) = pair::<Train>(5);
    // [N, H, W, C] permuted to [N, C, H, W]: a strided view.
    let x = random::<Train, 4>([3, 4, 6, 5], 0.5, 2.0)
        .permute([0, 3, 1, 2])
        .require_grad();
    let weights = random::<Train, 4>([3, 5, 4, 6], 0.0, 1.0);
    let expected = reference.forward(x.clone());
    let expected_grad = x.grad(&(expected.clone() * weights.clone()).sum().backward());
    let actual = norm.forward(x.clone());
    let actual_grad = x.grad(&(actual.clone() * weights).sum().backward());
    assert_close("permuted output", values(actual), values(expected), 1e-4);
    let (Some(actual_grad), Some(expected_grad)) = (actual_grad, expected_grad) else {
        panic!("no input gradient");
    };
    assert_close(
        "permuted input gradient",
        values(actual_grad),
        values(expected_grad),
        1e-4,
    );
}

#[test]
fn running_statistics_survive_the_record_and_stay_out_of_the_parameter_count() {
    let device = Default::default();
    let channels = 7;
    let norm = Norm::<Train>::new(channels, &device);
    let _ = norm.forward(random::<Train, 4>([4, channels, 5, 5], 3.0, 2.0));
    let trained_mean = values(norm.running_mean.value_sync());
    assert!(
        trained_mean.iter().all(|&mean| mean > 0.1),
        "running mean moved: {trained_mean:?}"
    );

    let restored = Norm::<Train>::new(channels, &device).load_record(norm.clone().into_record());
    assert_eq!(values(restored.running_mean.value()), trained_mean);
    assert_eq!(
        values(restored.running_var.value()),
        values(norm.running_var.value_sync())
    );
    assert_eq!(trainable_parameter_count(&restored), 2 * channels);
    assert_eq!(restored.num_params(), 4 * channels);
}

/// `forward_relu` (the ReLU fused into the kernels' sweep, its backward a mask
/// recomputed from the input) against the kernels' `forward` followed by burn's
/// ReLU: the same pre-activations, so outputs and every gradient agree.
/// (Against burn's own `BatchNorm`, values within rounding of zero may land on
/// either side of the ReLU; `forward` is checked against it above.)
#[test]
fn the_fused_relu_matches_norm_then_relu() {
    for shape in SHAPES {
        let label = format!("fused relu {shape:?}");
        let (_, fused) = pair::<Train>(shape[1]);
        let unfused = fused.clone();
        let x = random::<Train, 4>(shape, 0.5, 2.0).require_grad();
        let weights = random::<Train, 4>(shape, 0.0, 1.0);
        let actual = fused.forward_relu(x.clone());
        let expected = relu(unfused.forward(x.clone()));
        let actual_grads = (actual.clone() * weights.clone()).sum().backward();
        let expected_grads = (expected.clone() * weights).sum().backward();
        assert_close(
            &format!("{label} output"),
            values(actual),
            values(expected),
            1e-6,
        );
        assert_input_gradients_close(&label, &x, [&actual_grads, &expected_grads], 1e-5);
        let parameter_grads = vec![
            (
                "gamma",
                fused.gamma.grad(&actual_grads),
                unfused.gamma.grad(&expected_grads),
            ),
            (
                "beta",
                fused.beta.grad(&actual_grads),
                unfused.beta.grad(&expected_grads),
            ),
        ];
        assert_gradients_close(&label, parameter_grads, 1e-5);

        let x = random::<Flex, 4>(shape, 0.5, 2.0);
        let inference = values(fused.valid().forward_relu(x.clone()));
        let reference = values(relu(unfused.valid().forward(x)));
        assert!(inference_has_zeros_and_positives(&label, &reference));
        assert_close(&format!("{label} inference"), inference, reference, 1e-6);
    }
}

/// Whether the check saw both sides of the ReLU (else it proves little).
fn inference_has_zeros_and_positives(label: &str, values: &[f32]) -> bool {
    let zeros = values.iter().filter(|&&v| v == 0.0).count();
    assert!(
        zeros > 0 && zeros < values.len(),
        "{label}: {zeros} zeros of {}",
        values.len()
    );
    true
}
