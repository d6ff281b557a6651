//! The convolution every model goes through.
//!
//! The weights live in burn's `Conv2d` module (so records and initialisation are
//! burn's); [`forward`] runs it. On `Autodiff<Flex>` / `Flex`, with `f32` data, no
//! bias, no groups or dilation and symmetric padding (every convolution in the zoo), it
//! uses the im2col + gemm kernels of [`crate::kernels::conv`] with their own backward:
//! burn's CPU backend spends most of a ResNet training step in its convolution
//! backward. Anything else goes through `Conv2d::forward`.

mod flex;

use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor};

use crate::kernels::conv::ConvGeometry;

/// `conv(x)`, through the CPU kernels where they apply.
pub fn forward<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    match kernel_geometry(conv, &x) {
        Some(geometry) => flex::forward(conv, x, geometry).unwrap_or_else(|x| conv.forward(x)),
        None => conv.forward(x),
    }
}

/// Whether [`forward`] runs `conv` on `x` through the kernels (else burn's own
/// convolution), for tests and benchmarks that must know which one they measure.
pub fn runs_on_kernels<B: Backend>(conv: &Conv2d<B>, x: &Tensor<B, 4>) -> bool {
    super::flex_bridge::is_cpu_backend::<B>() && kernel_geometry(conv, x).is_some()
}

/// The geometry when the kernels can run this convolution on `x`.
fn kernel_geometry<B: Backend>(conv: &Conv2d<B>, x: &Tensor<B, 4>) -> Option<ConvGeometry> {
    let weight = conv.weight.val();
    let plain = conv.bias.is_none()
        && conv.groups == 1
        && conv.dilation == [1, 1]
        && x.dtype() == DType::F32
        && weight.dtype() == DType::F32;
    let padding = match conv.padding {
        PaddingConfig2d::Valid => [0, 0],
        PaddingConfig2d::Explicit(top, left, bottom, right) if top == bottom && left == right => {
            [top, left]
        }
        _ => return None,
    };
    let [batch, channels_in, height, width] = x.dims();
    let [channels_out, weight_channels, kernel_rows, kernel_cols] = weight.dims();
    let fits = height + 2 * padding[0] >= kernel_rows && width + 2 * padding[1] >= kernel_cols;
    (plain && fits && weight_channels == channels_in).then_some(ConvGeometry {
        batch,
        channels_in,
        height,
        width,
        channels_out,
        kernel: [kernel_rows, kernel_cols],
        stride: conv.stride,
        padding,
    })
}
