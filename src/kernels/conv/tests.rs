//! The kernels against the convolution's definition, written as plain loops.

use super::patches::valid_outputs;
use super::*;

/// Deterministic values in [-1, 1) without a random-number crate.
fn values(len: usize, seed: u32) -> Vec<f32> {
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state as f32 / u32::MAX as f32) * 2.0 - 1.0
        })
        .collect()
}

/// Calls `visit(out_index, in_index, weight_index)` for every multiply-add of the
/// convolution, or skips it when the input position is padding.
fn each_term(g: &ConvGeometry, mut visit: impl FnMut(usize, usize, usize)) {
    let (oh, ow) = (g.out_height(), g.out_width());
    for n in 0..g.batch {
        for co in 0..g.channels_out {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ci in 0..g.channels_in {
                        for ky in 0..g.kernel[0] {
                            for kx in 0..g.kernel[1] {
                                let iy = (oy * g.stride[0] + ky) as isize - g.padding[0] as isize;
                                let ix = (ox * g.stride[1] + kx) as isize - g.padding[1] as isize;
                                if iy < 0
                                    || ix < 0
                                    || iy >= g.height as isize
                                    || ix >= g.width as isize
                                {
                                    continue;
                                }
                                let out = ((n * g.channels_out + co) * oh + oy) * ow + ox;
                                let input = ((n * g.channels_in + ci) * g.height + iy as usize)
                                    * g.width
                                    + ix as usize;
                                let weight = ((co * g.channels_in + ci) * g.kernel[0] + ky)
                                    * g.kernel[1]
                                    + kx;
                                visit(out, input, weight);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn assert_close(actual: &[f32], expected: &[f64], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (index, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (f64::from(a) - e).abs() <= 1e-4 * (1.0 + e.abs()),
            "{what}[{index}]: {a} vs {e}"
        );
    }
}

fn geometries() -> Vec<ConvGeometry> {
    let g =
        |batch, channels_in, height, width, channels_out, kernel, stride, padding| ConvGeometry {
            batch,
            channels_in,
            height,
            width,
            channels_out,
            kernel,
            stride,
            padding,
        };
    vec![
        g(3, 4, 9, 7, 5, [3, 3], [1, 1], [1, 1]),
        g(2, 3, 10, 10, 4, [3, 3], [2, 2], [1, 1]),
        g(2, 1, 12, 11, 6, [7, 7], [2, 2], [3, 3]),
        g(4, 6, 5, 5, 3, [1, 1], [1, 1], [0, 0]),
        g(2, 5, 8, 8, 4, [1, 1], [2, 2], [0, 0]),
        g(1, 2, 4, 6, 2, [3, 2], [1, 2], [0, 1]),
        // A larger pointwise convolution.
        g(2, 3, 32, 32, 4, [1, 1], [1, 1], [0, 0]),
        // Large enough for the batch to be split over threads.
        g(8, 16, 24, 24, 16, [3, 3], [1, 1], [1, 1]),
        // Stride 1 (the direct kernels with AVX2 or AVX-512): channel counts off the register
        // tile, no padding, a wide kernel, and images enough for several groups.
        g(3, 5, 7, 9, 7, [3, 3], [1, 1], [0, 0]),
        g(2, 3, 11, 10, 9, [5, 5], [1, 1], [2, 2]),
        g(2, 2, 6, 9, 3, [2, 3], [1, 1], [1, 0]),
        // Padding of kernel − 1: the output is larger than the input, and the input
        // gradient has no padding.
        g(3, 4, 7, 6, 5, [3, 3], [1, 1], [2, 2]),
        g(150, 3, 6, 5, 6, [3, 3], [1, 1], [1, 1]),
        // Over 64 channels (im2col + gemm for the weight gradient, and for every pass
        // without AVX): groups of 3 or 5 images per product (by the L2 cache's size) on
        // each of two threads, the last group short.
        g(26, 65, 9, 9, 66, [3, 3], [1, 1], [1, 1]),
        // Over 128 channels: im2col + gemm for every pass, the input gradient as the
        // forward convolution of the padded output gradient.
        g(5, 130, 5, 5, 129, [3, 3], [1, 1], [1, 1]),
        // Past 128 channels with whole blocks of 64 output channels (AVX-512: output
        // channels across the lanes): the forward, then the input gradient, with
        // reductions longer than one block and several groups of images a thread.
        g(60, 130, 5, 5, 128, [3, 3], [1, 1], [1, 1]),
        g(60, 128, 5, 4, 130, [3, 3], [1, 1], [1, 1]),
        // 64 channels at 10×10 (ResNet-20's last stage): the deep-layer kernel for every
        // pass, one group a thread.
        g(32, 64, 10, 10, 64, [3, 3], [1, 1], [1, 1]),
        // Winograd's F(2×2, 3×3) (AVX-512, input channels in vectors of 16, output
        // channels in blocks of 64): odd output sizes (the last tiles half outside),
        // no padding (then the input gradient's correlation pads by 2), bands of several
        // images, rows of tiles of one image, and a weight gradient large enough that
        // the cores split its points rather than the images.
        g(5, 16, 7, 9, 64, [3, 3], [1, 1], [1, 1]),
        g(3, 64, 6, 5, 128, [3, 3], [1, 1], [0, 0]),
        g(40, 48, 5, 5, 64, [3, 3], [1, 1], [1, 1]),
        g(2, 64, 61, 41, 64, [3, 3], [1, 1], [1, 1]),
        g(3, 176, 4, 5, 192, [3, 3], [1, 1], [1, 1]),
    ]
}

fn shapes(g: &ConvGeometry) -> (usize, usize, usize) {
    (
        g.batch * g.channels_in * g.height * g.width,
        g.batch * g.channels_out * g.out_height() * g.out_width(),
        g.channels_out * g.channels_in * g.kernel[0] * g.kernel[1],
    )
}

#[test]
fn forward_is_the_sum_over_each_window() {
    // Every instruction set this CPU has: im2col + gemm where none applies.
    crate::kernels::testing::with_each_simd(|simd| {
        for g in geometries() {
            let (in_len, out_len, weight_len) = shapes(&g);
            let (input, weight) = (values(in_len, 1), values(weight_len, 2));
            let mut expected = vec![0.0f64; out_len];
            each_term(&g, |o, i, w| {
                expected[o] += f64::from(input[i]) * f64::from(weight[w])
            });
            assert_close(
                &forward(&input, &weight, &g),
                &expected,
                &format!("forward {simd:?} {g:?}"),
            );
        }
    });
}

#[test]
fn input_gradient_sends_each_output_gradient_back_through_its_window() {
    // Every instruction set this CPU has: im2col + gemm where none applies.
    crate::kernels::testing::with_each_simd(|simd| {
        for g in geometries() {
            let (in_len, out_len, weight_len) = shapes(&g);
            let (grad_output, weight) = (values(out_len, 3), values(weight_len, 4));
            let mut expected = vec![0.0f64; in_len];
            each_term(&g, |o, i, w| {
                expected[i] += f64::from(grad_output[o]) * f64::from(weight[w])
            });
            let actual = input_gradient(&grad_output, &weight, &g);
            assert_close(
                &actual,
                &expected,
                &format!("input gradient {simd:?} {g:?}"),
            );
        }
    });
}

#[test]
fn weight_gradient_sums_output_gradient_times_input_over_the_batch() {
    // Every instruction set this CPU has: im2col + gemm where none applies.
    crate::kernels::testing::with_each_simd(|simd| {
        for g in geometries() {
            let (in_len, out_len, weight_len) = shapes(&g);
            let (input, grad_output) = (values(in_len, 5), values(out_len, 6));
            let mut expected = vec![0.0f64; weight_len];
            each_term(&g, |o, i, w| {
                expected[w] += f64::from(grad_output[o]) * f64::from(input[i])
            });
            let actual = weight_gradient(&input, &grad_output, &g);
            assert_close(
                &actual,
                &expected,
                &format!("weight gradient {simd:?} {g:?}"),
            );
        }
    });
}

#[test]
fn valid_outputs_keep_inputs_inside_the_image() {
    for size in 1usize..9 {
        for stride in 1..4 {
            for padding in 0..3 {
                for offset in 0..5 {
                    let out_size = (size + 2 * padding).saturating_sub(offset.max(1)) / stride + 1;
                    let range = valid_outputs(out_size, size, stride, offset, padding);
                    for o in 0..out_size {
                        let at = (o * stride + offset) as isize - padding as isize;
                        let inside = at >= 0 && at < size as isize;
                        assert_eq!(
                            range.contains(&o),
                            inside,
                            "{size} {stride} {padding} {offset} {o}"
                        );
                    }
                }
            }
        }
    }
}
