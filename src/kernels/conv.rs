//! 2-D convolution (groups 1, dilation 1, symmetric zero padding) on `f32` slices in
//! NCHW layout, forward and both gradients, as im2col + one matrix product per image.
//!
//! burn's CPU backend computes the input gradient as a transposed convolution and the
//! weight gradient through strided copies; here all three passes are a `gemm` call
//! per image on a reused patch matrix, with the batch split over the cores.
//! (Grouping several small images into one wider product was tried: no gain that
//! stood out from this machine's run-to-run noise, so the simpler form stays.)
//!
//! Stride-1 convolutions (every 3×3 of a ResNet but the downsampling ones) take the
//! direct kernels of `direct` instead where the CPU has AVX2 or AVX-512: no patch matrix at
//! all, 1.5–2× faster per pass at the zoo's small channel counts.

mod direct;
mod patches;
mod product;

use std::cell::RefCell;

use direct::{Correlation, PackedWeight};
use patches::{image_to_patches, patches_to_image};
use product::{multiply, row_major, transposed};

use super::parallel::{collect_rows, for_each_row_chunk, map_row_ranges};
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

    /// Multiply-adds per image, to decide whether a second thread pays.
    fn work_per_image(&self) -> usize {
        self.patch_len() * self.out_image_len()
    }
}

thread_local! {
    /// Each thread's patch matrix, kept between calls: the shapes repeat every step.
    static PATCHES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` with this thread's scratch buffer resized to `len`.
fn with_patches<R>(len: usize, work: impl FnOnce(&mut [f32]) -> R) -> R {
    PATCHES.with(|cell| {
        let mut buffer = cell.borrow_mut();
        if buffer.len() < len {
            buffer.resize(len, 0.0);
        }
        work(&mut buffer[..len])
    })
}

/// Runs `work` on the patch matrix of `image`: the image itself for a pointwise
/// convolution, else this thread's scratch buffer filled by im2col.
fn with_image_patches(image: &[f32], g: &ConvGeometry, work: impl FnOnce(&[f32])) {
    if g.is_pointwise() {
        return work(image);
    }
    with_patches(g.patch_len() * g.out_pixels(), |patches| {
        image_to_patches(image, g, patches);
        work(patches);
    });
}

/// Lets `work` write the gradient of the patch matrix, then folds it onto `image`
/// (all zeros on entry; written directly for a pointwise convolution).
fn into_image_gradient(image: &mut [f32], g: &ConvGeometry, work: impl FnOnce(&mut [f32])) {
    if g.is_pointwise() {
        return work(image);
    }
    with_patches(g.patch_len() * g.out_pixels(), |patches| {
        work(patches);
        patches_to_image(patches, g, image);
    });
}

/// `[batch, channels_out, out_height, out_width]` = conv(input, weight):
/// per image, `out [c_out, pixels] = weight [c_out, patch] x patches [patch, pixels]`.
pub fn forward(input: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    timed(KernelKind::ConvForward, || {
        forward_untimed(input, weight, g)
    })
}

fn forward_untimed(input: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    if let Some(simd) = direct::applies(g) {
        let c = Correlation::forward(g, simd);
        return correlate_batch(input, &PackedWeight::new(weight, &c), &c, g.batch);
    }
    let (patch_len, out_pixels) = (g.patch_len(), g.out_pixels());
    let (in_len, out_len) = (g.in_image_len(), g.out_image_len());
    let mut output = vec![0.0; g.batch * out_len];
    for_each_image(&mut output, out_len, |n, out| {
        with_image_patches(&input[n * in_len..][..in_len], g, |patches| {
            let dims = [g.channels_out, out_pixels, patch_len];
            let layouts = [
                row_major(out_pixels),
                row_major(patch_len),
                row_major(out_pixels),
            ];
            multiply(dims, out, false, weight, patches, layouts);
        });
    });
    output
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

/// Runs `work(n, image)` on every image `n` of a batch laid out back to back in
/// `batch` (`image_len` values each), the images split over the cores.
fn for_each_image(batch: &mut [f32], image_len: usize, work: impl Fn(usize, &mut [f32]) + Sync) {
    for_each_row_chunk(batch, image_len, |first, chunk| {
        for (offset, image) in chunk.chunks_exact_mut(image_len).enumerate() {
            work(first + offset, image);
        }
    });
}

/// The gradient with respect to the input, `[batch, channels_in, height, width]`:
/// per image, `patches' [patch, pixels] = weight^T x out' [c_out, pixels]`, folded back.
pub fn input_gradient(grad_output: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    timed(KernelKind::ConvInputGradient, || {
        input_gradient_untimed(grad_output, weight, g)
    })
}

fn input_gradient_untimed(grad_output: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    if let Some(simd) = direct::applies(g) {
        let c = Correlation::input_gradient(g, simd);
        let weight = PackedWeight::new(&direct::flipped_transposed(weight, g), &c);
        return correlate_batch(grad_output, &weight, &c, g.batch);
    }
    let (patch_len, out_pixels) = (g.patch_len(), g.out_pixels());
    let (in_len, out_len) = (g.in_image_len(), g.out_image_len());
    let mut grad_input = vec![0.0; g.batch * in_len];
    for_each_image(&mut grad_input, in_len, |n, image| {
        let grad = &grad_output[n * out_len..][..out_len];
        into_image_gradient(image, g, |patches| {
            let dims = [patch_len, out_pixels, g.channels_out];
            let layouts = [
                row_major(out_pixels),
                transposed(patch_len),
                row_major(out_pixels),
            ];
            multiply(dims, patches, false, weight, grad, layouts);
        });
    });
    grad_input
}

/// The gradient with respect to the weight, `[channels_out, channels_in, kh, kw]`:
/// `sum over images of out' [c_out, pixels] x patches^T [pixels, patch]`; each thread
/// sums its own images, then the partial sums are added.
pub fn weight_gradient(input: &[f32], grad_output: &[f32], g: &ConvGeometry) -> Vec<f32> {
    timed(KernelKind::ConvWeightGradient, || {
        weight_gradient_untimed(input, grad_output, g)
    })
}

fn weight_gradient_untimed(input: &[f32], grad_output: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let (patch_len, out_pixels) = (g.patch_len(), g.out_pixels());
    let (in_len, out_len) = (g.in_image_len(), g.out_image_len());
    let direct = direct::applies(g);
    let partials = map_row_ranges(g.batch, g.work_per_image(), |images| {
        if let Some(simd) = direct {
            let mut sum = vec![0.0; g.channels_out * patch_len];
            let (inputs, grads) = (
                images.start * in_len..images.end * in_len,
                images.start * out_len..images.end * out_len,
            );
            direct::add_weight_gradient(
                &input[inputs],
                &grad_output[grads],
                &Correlation::forward(g, simd),
                &mut sum,
            );
            return sum;
        }
        let mut sum = vec![0.0; g.channels_out * patch_len];
        for (index, n) in images.enumerate() {
            let grad = &grad_output[n * out_len..][..out_len];
            with_image_patches(&input[n * in_len..][..in_len], g, |patches| {
                let dims = [g.channels_out, patch_len, out_pixels];
                let layouts = [
                    row_major(patch_len),
                    row_major(out_pixels),
                    transposed(out_pixels),
                ];
                multiply(dims, &mut sum, index > 0, grad, patches, layouts);
            });
        }
        sum
    });
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
