//! The convolution every model goes through.
//!
//! The weights live in burn's `Conv2d` module (so records and initialisation are
//! burn's); [`forward`] runs it. On `Autodiff<Flex>` / `Flex`, with `f32` data, no
//! bias, no groups or dilation and symmetric padding (every convolution in the zoo), it
//! uses the kernels of [`crate::kernels::conv`] (direct or im2col + gemm) with their own backward:
//! burn's CPU backend spends most of a ResNet training step in its convolution
//! backward. Anything else goes through `Conv2d::forward`.

mod flex;

use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::tensor::backend::Backend;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, Slice, Tensor};

use super::macs;
use crate::kernels::conv::ConvGeometry;

/// `conv(x)`, through the CPU kernels where they apply.
pub fn forward<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    if macs::counting() {
        return count_only(conv, x);
    }
    match kernel_geometry(conv, &x) {
        Some(geometry) => flex::forward(conv, x, geometry).unwrap_or_else(|x| portable(conv, x)),
        None => portable(conv, x),
    }
}

/// burn's convolution, except for a strided 1×1 one (a ResNet's downsampling
/// shortcut): burn-cubecl 0.21 computes its input gradient as zeros, so on every GPU
/// backend no gradient would flow back through the shortcuts (strided data gradients
/// go through its `conv_transpose2d`, which gets the 1×1 case wrong; found on Vulkan
/// by tests/wgpu.rs, not yet reported upstream). Keeping every stride-th pixel and
/// convolving with stride 1 computes the same output, and the gradient flows back
/// through the slice.
fn portable<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [_, _, kernel_rows, kernel_cols] = conv.weight.dims();
    let unpadded = match conv.padding {
        PaddingConfig2d::Valid => true,
        PaddingConfig2d::Explicit(top, left, bottom, right) => top + left + bottom + right == 0,
        _ => false,
    };
    let [stride_rows, stride_cols] = conv.stride;
    let strided_pointwise = [kernel_rows, kernel_cols] == [1, 1]
        && conv.stride != [1, 1]
        && conv.dilation == [1, 1]
        && unpadded;
    if !strided_pointwise {
        return conv.forward(x);
    }
    let step = |stride: usize| Slice::with_step(0, None, stride as isize);
    let kept = x.slice([
        Slice::full(),
        Slice::full(),
        step(stride_rows),
        step(stride_cols),
    ]);
    conv2d(
        kept,
        conv.weight.val(),
        conv.bias.as_ref().map(|bias| bias.val()),
        ConvOptions::new([1, 1], [0, 0], [1, 1], conv.groups),
    )
}

/// During a multiply-accumulate count: zeros of the output's shape, from the
/// weight's shape alone (so a lazily initialised weight is never materialised), and
/// the count `outputs x inputs per group x kernel area`.
fn count_only<B: Backend>(conv: &Conv2d<B>, x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [channels_out, inputs_per_group, kernel_rows, kernel_cols] =
        conv.weight.lazy_shape().dims::<4>();
    let [batch, _, height, width] = x.dims();
    let output = match conv.padding {
        PaddingConfig2d::Valid | PaddingConfig2d::Explicit(..) => {
            let [top, left, bottom, right] = match conv.padding {
                PaddingConfig2d::Explicit(top, left, bottom, right) => [top, left, bottom, right],
                _ => [0; 4],
            };
            let side = |size: usize, kernel: usize, axis: usize, padding: usize| {
                let reach = conv.dilation[axis] * (kernel - 1) + 1;
                (size + padding).saturating_sub(reach) / conv.stride[axis].max(1) + 1
            };
            let shape = [
                batch,
                channels_out,
                side(height, kernel_rows, 0, top + bottom),
                side(width, kernel_cols, 1, left + right),
            ];
            macs::placeholder(shape, &x)
        }
        // Padding worked out by burn: let it compute (no model of the zoo uses it).
        _ => conv.forward(x),
    };
    let [_, _, out_height, out_width] = output.dims();
    macs::add(
        batch
            * channels_out
            * out_height
            * out_width
            * inputs_per_group
            * kernel_rows
            * kernel_cols,
    );
    output
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
        && conv.stride.iter().all(|&stride| stride > 0)
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
