//! Timings behind the CPU convolution kernels (`#[ignore]`d; run them in release):
//!
//! ```text
//! cargo test --release --test conv_speed -- --ignored --nocapture --test-threads 1
//! ```
//!
//! Milliseconds per call (median of 7) for burn's `Conv2d` and for
//! `fer::model::conv::forward` on the 3x3 convolutions of a ResNet-20 at 40x40 (and
//! the 64-channel one at full size), batch 64; `benches/torch_ops.py` prints
//! PyTorch's figures for the same shapes.

mod common;

use burn::backend::{Autodiff, Flex};
use burn::module::AutodiffModule;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::PaddingConfig2d;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use common::numeric::random;
use common::timing::{median_ms, report, touch};

type Train = Autodiff<Flex>;

const SHAPES: [(usize, usize); 4] = [(16, 40), (32, 20), (64, 10), (64, 40)];
const BATCH: usize = 64;

fn conv3x3(channels: usize) -> Conv2d<Train> {
    Conv2dConfig::new([channels, channels], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .with_bias(false)
        .init(&Default::default())
}

/// Forward, then backward seeded with ones (weight and input gradients).
fn train_step(run: &dyn Fn(Tensor<Train, 4>) -> Tensor<Train, 4>, x: &Tensor<Train, 4>) {
    let grads = run(x.clone()).backward();
    touch(x.grad(&grads).expect("an input gradient"));
}

fn inference<B: Backend>(run: impl Fn(Tensor<B, 4>) -> Tensor<B, 4>, x: &Tensor<B, 4>) -> f64 {
    median_ms(|| touch(run(x.clone())))
}

#[test]
#[ignore = "benchmark"]
fn conv3x3_burn_against_kernels() {
    for (channels, side) in SHAPES {
        let label = format!("conv 3x3 {channels}->{channels} @{side}x{side}, batch {BATCH}");
        let layer = conv3x3(channels);
        let frozen = layer.valid();
        let x = random::<Flex, 4>([BATCH, channels, side, side], 0.0, 1.0);
        report(
            &format!("{label} forward, burn"),
            inference(|x| frozen.forward(x), &x),
        );
        report(
            &format!("{label} forward, fer"),
            inference(|x| fer::model::conv::forward(&frozen, x), &x),
        );
        let x = random::<Train, 4>([BATCH, channels, side, side], 0.0, 1.0).require_grad();
        let burn = |x| layer.forward(x);
        let ours = |x| fer::model::conv::forward(&layer, x);
        report(
            &format!("{label} fwd + bwd, burn"),
            median_ms(|| train_step(&burn, &x)),
        );
        report(
            &format!("{label} fwd + bwd, fer"),
            median_ms(|| train_step(&ours, &x)),
        );
    }
}

/// Each pass of the kernels alone on `f32` slices (no autodiff, no tensor copies),
/// with the rate of multiply-adds it reaches: where a layer's time goes. The 3x3
/// convolutions of a ResNet-20 (and the 64-channel one at full size), then ResNet-18's
/// wider ones and its downsampling (stride-2) ones.
#[test]
#[ignore = "benchmark"]
fn conv3x3_kernel_passes() {
    use fer::kernels::conv::{self, ConvGeometry};
    let same = SHAPES.map(|(channels, side)| (channels, channels, side, 1));
    let resnet18 = [
        (128, 128, 20, 1),
        (256, 256, 10, 1),
        (512, 512, 5, 1),
        (64, 128, 40, 2),
        (128, 256, 20, 2),
        (256, 512, 10, 2),
    ];
    for (channels_in, channels_out, side, stride) in same.into_iter().chain(resnet18) {
        let g = ConvGeometry {
            batch: BATCH,
            channels_in,
            height: side,
            width: side,
            channels_out,
            kernel: [3, 3],
            stride: [stride, stride],
            padding: [1, 1],
        };
        let image = vec![0.5f32; BATCH * channels_in * side * side];
        let grad = vec![0.5f32; BATCH * channels_out * g.out_height() * g.out_width()];
        let weight = vec![0.25f32; channels_out * channels_in * 9];
        let macs = (BATCH * channels_in * channels_out * 9 * g.out_height() * g.out_width()) as f64;
        let label = format!("kernels 3x3 {channels_in}->{channels_out} @{side}x{side} /{stride}");
        for (pass, ms) in [
            (
                "forward",
                median_ms(|| drop(conv::forward(&image, &weight, &g))),
            ),
            (
                "input gradient",
                median_ms(|| drop(conv::input_gradient(&grad, &weight, &g))),
            ),
            (
                "weight gradient",
                median_ms(|| drop(conv::weight_gradient(&image, &grad, &g))),
            ),
        ] {
            let gflops = 2.0 * macs / ms / 1e6;
            report(&format!("{label} {pass} ({gflops:.0} GFLOP/s)"), ms);
        }
    }
}
