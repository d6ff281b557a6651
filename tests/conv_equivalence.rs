//! `model::conv::forward` (the im2col + gemm kernels on the CPU backend) against
//! burn's own `Conv2d::forward`: outputs, input and weight gradients in training, and
//! inference outputs, for every kind of convolution the model zoo uses.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use common::numeric::{assert_close, assert_gradients_close, random, values};

type Train = Autodiff<Flex>;

/// (input shape, channels out, kernel, stride, padding).
const CASES: [([usize; 4], usize, usize, usize, usize); 7] = [
    ([8, 16, 20, 20], 16, 3, 1, 1),
    ([4, 16, 20, 20], 32, 3, 2, 1),
    ([3, 1, 48, 48], 16, 3, 1, 1),
    ([2, 1, 48, 48], 8, 7, 2, 3),
    ([4, 24, 6, 6], 12, 1, 1, 0),
    ([4, 16, 9, 9], 32, 1, 2, 0),
    ([2, 64, 5, 5], 64, 3, 1, 1),
];

fn conv(
    channels_in: usize,
    channels_out: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
) -> Conv2d<Train> {
    Conv2dConfig::new([channels_in, channels_out], [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(&Default::default())
}

#[test]
fn training_outputs_and_gradients_match_burn() {
    for (shape, channels_out, kernel, stride, pad) in CASES {
        let label = format!("{shape:?} -> {channels_out}, k{kernel} s{stride} p{pad}");
        let layer = conv(shape[1], channels_out, kernel, stride, pad);
        let x = random::<Train, 4>(shape, 0.0, 1.0).require_grad();
        assert!(
            fer::model::conv::runs_on_kernels(&layer, &x),
            "{label}: not on the kernels"
        );

        let expected = layer.forward(x.clone());
        let weights = random::<Train, 4>(expected.dims(), 0.0, 1.0);
        let expected_grads = (expected.clone() * weights.clone()).sum().backward();
        let actual = fer::model::conv::forward(&layer, x.clone());
        let actual_grads = (actual.clone() * weights).sum().backward();

        assert_close(
            &format!("{label} output"),
            values(actual),
            values(expected),
            1e-4,
        );
        let gradients = vec![
            ("input", x.grad(&actual_grads), x.grad(&expected_grads)),
            (
                "weight",
                layer.weight.grad(&actual_grads),
                layer.weight.grad(&expected_grads),
            ),
        ];
        assert_gradients_close(&label, gradients, 1e-4);
    }
}

#[test]
fn a_frozen_input_gets_no_gradient_but_the_weight_does() {
    let layer = conv(4, 8, 3, 1, 1);
    let x = random::<Train, 4>([2, 4, 6, 6], 0.0, 1.0);
    let grads = fer::model::conv::forward(&layer, x.clone())
        .sum()
        .backward();
    assert!(x.grad(&grads).is_none());
    assert!(layer.weight.grad(&grads).is_some());
}

#[test]
fn inference_outputs_match_burn() {
    for (shape, channels_out, kernel, stride, pad) in CASES {
        let label = format!("inference {shape:?} -> {channels_out}, k{kernel} s{stride} p{pad}");
        let layer = conv(shape[1], channels_out, kernel, stride, pad).valid();
        let x = random::<Flex, 4>(shape, 0.0, 1.0);
        assert!(
            fer::model::conv::runs_on_kernels(&layer, &x),
            "{label}: not on the kernels"
        );
        let expected = layer.forward(x.clone());
        let actual = fer::model::conv::forward(&layer, x);
        assert_close(&label, values(actual), values(expected), 1e-4);
    }
}

#[test]
fn convolutions_the_kernels_do_not_cover_fall_back_to_burn() {
    let device = Default::default();
    let with_bias = Conv2dConfig::new([2, 4], [3, 3]).init::<Train>(&device);
    let grouped = Conv2dConfig::new([4, 4], [3, 3])
        .with_groups(2)
        .with_bias(false)
        .init::<Train>(&device);
    let x = random::<Train, 4>([1, 2, 8, 8], 0.0, 1.0);
    assert!(!fer::model::conv::runs_on_kernels(&with_bias, &x));
    let expected = with_bias.forward(x.clone());
    assert_close(
        "bias",
        values(fer::model::conv::forward(&with_bias, x)),
        values(expected),
        1e-6,
    );
    let x = random::<Train, 4>([1, 4, 8, 8], 0.0, 1.0);
    assert!(!fer::model::conv::runs_on_kernels(&grouped, &x));
    let expected = grouped.forward(x.clone());
    assert_close(
        "groups",
        values(fer::model::conv::forward(&grouped, x)),
        values(expected),
        1e-6,
    );
}
