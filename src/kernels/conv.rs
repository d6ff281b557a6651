//! 2-D convolution (groups 1, dilation 1, symmetric zero padding) on `f32` slices in
//! NCHW layout, forward and both gradients.
//!
//! burn's CPU backend computes the input gradient as a transposed convolution and the
//! weight gradient through strided copies; here all three passes are matrix products
//! on a reused patch matrix (`lowered`: im2col + `gemm` per group of images), with the
//! batch split over the cores.
//!
//! Stride-1 convolutions of up to 128 channels (64 for the weight gradient; every 3×3 of
//! the CIFAR-style ResNets) take the direct kernels of `direct` instead where the CPU has
//! AVX2 or AVX-512: no patch matrix at all, 1.5–2× faster per pass at 16 to 64 channels.
//! A stride-1 input gradient is computed as the forward convolution it equals.
//!
//! 3×3 stride-1 convolutions with 16·k input and 64·k output channels (every 3×3 of
//! ResNet-18 but its stem and downsampling ones) take Winograd's F(2×2, 3×3) instead
//! where the CPU has AVX-512 (`direct::winograd`), all three passes: 4/9 of the
//! multiply-adds; per pass 1.15–1.7× faster at 64 to 256 channels, at 512 channels
//! (5×5) 1.25× forward and as fast for the weight gradient.

mod direct;
mod lowered;
mod patches;
mod product;

use direct::{Correlation, PackedWeight, Pass};

use super::parallel::{collect_rows, map_row_ranges};
use super::profile::{timed, KernelKind};

/// Shapes of one convolution: input `[batch, channels_in, height, width]`, weight
/// `[channels_out, channels_in, kernel[0], kernel[1]]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    pub batch: usize,
    pub channels_in: usize,
    pub height: usize,
    pub width: usize,
    pub channels_out: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

impl ConvGeometry {
    pub fn out_height(&self) -> usize {
        (self.height + 2 * self.padding[0]).saturating_sub(self.kernel[0]) / self.stride[0] + 1
    }

    pub fn out_width(&self) -> usize {
        (self.width + 2 * self.padding[1]).saturating_sub(self.kernel[1]) / self.stride[1] + 1
    }

    /// Rows of the patch matrix: one per (input channel, kernel row, kernel column).
    fn patch_len(&self) -> usize {
        self.channels_in * self.kernel[0] * self.kernel[1]
    }

    fn out_pixels(&self) -> usize {
        self.out_height() * self.out_width()
    }

    fn in_image_len(&self) -> usize {
        self.channels_in * self.height * self.width
    }

    fn out_image_len(&self) -> usize {
        self.channels_out * self.out_pixels()
    }

    /// A 1x1, stride-1, unpadded convolution reads the image itself as its patch matrix.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }

    /// The stride-1 convolution that computes this one's input gradient: the output
    /// gradient padded by `kernel − 1 − padding` and correlated with the kernel flipped,
    /// its channels swapped. None for strided convolutions, and where `padding ≥
    /// kernel` would crop instead of pad.
    fn input_gradient_correlation(&self) -> Option<ConvGeometry> {
        let fits = self.stride == [1, 1]
            && self.padding[0] < self.kernel[0]
            && self.padding[1] < self.kernel[1];
        fits.then(|| ConvGeometry {
            batch: self.batch,
            channels_in: self.channels_out,
            height: self.out_height(),
            width: self.out_width(),
            channels_out: self.channels_in,
            kernel: self.kernel,
            stride: [1, 1],
            padding: [
                self.kernel[0] - 1 - self.padding[0],
                self.kernel[1] - 1 - self.padding[1],
            ],
        })
    }

    /// Multiply-adds per image, to decide whether a second thread pays.
    fn work_per_image(&self) -> usize {
        self.patch_len() * self.out_image_len()
    }
}

/// `[batch, channels_out, out_height, out_width]` = conv(input, weight).
pub fn forward(input: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    timed(KernelKind::ConvForward, || convolve(input, weight, g))
}

/// The forward convolution, by the direct kernels where they apply.
fn convolve(input: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    if direct::applies_winograd(g) {
        let c = Correlation::forward(g, crate::kernels::Simd::Avx512);
        return correlate_batch(input, &PackedWeight::winograd(weight, &c), &c, g.batch);
    }
    #[cfg(target_arch = "x86_64")]
    if direct::applies_deep(g, Pass::Correlation) {
        let c = Correlation::forward(g, crate::kernels::Simd::Avx512);
        return correlate_batch(input, &PackedWeight::deep(weight, &c), &c, g.batch);
    }
    let Some(simd) = direct::applies(g, Pass::Correlation) else {
        return lowered::forward(input, weight, g);
    };
    let c = Correlation::forward(g, simd);
    correlate_batch(input, &PackedWeight::new(weight, &c), &c, g.batch)
}

/// The correlation `c` of `batch` images laid out back to back, the images split over
/// the cores.
fn correlate_batch(
    images: &[f32],
    weight: &PackedWeight,
    c: &Correlation,
    batch: usize,
) -> Vec<f32> {
    let (in_len, out_len) = (images.len() / batch.max(1), c.out_image_len());
    collect_rows(batch, out_len, |first, chunk| {
        let count = chunk.len() / out_len.max(1);
        direct::correlate(
            &images[first * in_len..][..count * in_len],
            weight,
            c,
            chunk,
        );
    })
}

/// The gradient with respect to the input, `[batch, channels_in, height, width]`.
///
/// At stride 1 it is a forward convolution (see `input_gradient_correlation`): im2col
/// of the output gradient and one product, instead of a product into a patch matrix
/// and its scatter-add back into images (col2im), 2-16% faster per pass at ResNet-18's
/// 128- to 512-channel layers; or the direct kernels where they apply.
pub fn input_gradient(grad_output: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    timed(KernelKind::ConvInputGradient, || {
        match g.input_gradient_correlation() {
            #[cfg(target_arch = "x86_64")]
            Some(correlation) if direct::applies_winograd(&correlation) => {
                let c = Correlation::forward(&correlation, crate::kernels::Simd::Avx512);
                let packed = PackedWeight::winograd_flipped_transposed(weight, g);
                correlate_batch(grad_output, &packed, &c, g.batch)
            }
            #[cfg(target_arch = "x86_64")]
            Some(correlation) if direct::applies_deep(&correlation, Pass::Correlation) => {
                let c = Correlation::forward(&correlation, crate::kernels::Simd::Avx512);
                let packed = PackedWeight::deep_flipped_transposed(weight, g);
                correlate_batch(grad_output, &packed, &c, g.batch)
            }
            Some(correlation) => {
                convolve(grad_output, &flipped_transposed(weight, g), &correlation)
            }
            None => lowered::input_gradient(grad_output, weight, g),
        }
    })
}

/// `[channels_in][channels_out][kernel]` flipped in both kernel axes: the weight
/// whose correlation computes the input gradient.
fn flipped_transposed(weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let taps = g.kernel[0] * g.kernel[1];
    let mut out = vec![0.0; weight.len()];
    // Written in order, read with a stride: ResNet-18's deepest weight is 9 MB.
    for (index, target) in out.chunks_exact_mut(taps).enumerate() {
        let (ci, co) = (index / g.channels_out, index % g.channels_out);
        let source = &weight[(co * g.channels_in + ci) * taps..][..taps];
        for (value, &tap) in target.iter_mut().zip(source.iter().rev()) {
            *value = tap;
        }
    }
    out
}

/// The gradient with respect to the weight, `[channels_out, channels_in, kh, kw]`.
pub fn weight_gradient(input: &[f32], grad_output: &[f32], g: &ConvGeometry) -> Vec<f32> {
    timed(KernelKind::ConvWeightGradient, || {
        #[cfg(target_arch = "x86_64")]
        if direct::applies_winograd(g) {
            let c = Correlation::forward(g, crate::kernels::Simd::Avx512);
            return direct::winograd_weight_gradient(input, grad_output, &c, g.batch);
        }
        #[cfg(target_arch = "x86_64")]
        if direct::applies_deep(g, Pass::WeightGradient) {
            let c = Correlation::forward(g, crate::kernels::Simd::Avx512);
            return direct::deep_weight_gradient(input, grad_output, &c, g.batch);
        }
        let Some(simd) = direct::applies(g, Pass::WeightGradient) else {
            return lowered::weight_gradient(input, grad_output, g);
        };
        let (in_len, out_len) = (g.in_image_len(), g.out_image_len());
        let partials = map_row_ranges(g.batch, g.work_per_image(), |images| {
            let mut sum = vec![0.0; g.channels_out * g.patch_len()];
            direct::add_weight_gradient(
                &input[images.start * in_len..images.end * in_len],
                &grad_output[images.start * out_len..images.end * out_len],
                &Correlation::forward(g, simd),
                &mut sum,
            );
            sum
        });
        add_partial_sums(partials)
    })
}

/// The sum of the threads' partial weight gradients.
fn add_partial_sums(partials: Vec<Vec<f32>>) -> Vec<f32> {
    let mut partials = partials.into_iter();
    let mut total = partials.next().unwrap_or_default();
    for partial in partials {
        total
            .iter_mut()
            .zip(partial)
            .for_each(|(sum, value)| *sum += value);
    }
    total
}

#[cfg(test)]
mod tests;
