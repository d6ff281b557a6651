//! Convolution lowered to matrix products: im2col, then one `gemm` call per group of
//! images, the batch split over the cores.
//!
//! A product packs its weight operand on every call, and a deep layer's weight is
//! megabytes (ResNet-18's last stage: 512 × 4,608 values) against 25 output pixels per
//! image. One product per image re-read and re-packed that weight 64 times a pass;
//! groups of images side by side in one patch matrix give every product at least
//! `min_columns()` columns (200–400, by the L2 cache's size), so the weight is packed
//! once per group.

use std::cell::RefCell;
use std::ops::Range;

use super::patches::{image_to_patches, patches_to_image, Columns};
use super::product::{multiply, Stored};
use super::ConvGeometry;
use crate::kernels::parallel::{for_each_row_chunk, map_row_ranges};

/// Columns a product gets at least (when the batch has images enough), per MiB of L2
/// cache, between `MIN_COLUMNS` and twice that. Measured with 2 threads, batch 64,
/// settings alternated in one process: on the AVX2 machine (512 KiB L2) 200 columns ran
/// the 512-channel 5×5 layer's passes up to 1.5× faster than one image's 25, and
/// 400–800 made the 256-channel 10×10 layer 5–15% slower than one image's 100; on the
/// AVX-512 machine (2 MiB L2) 400 ran the 256- and 512-channel layers' passes 3–12%
/// faster than 200, and 800 no faster than 400. Between the two, untested.
const COLUMNS_PER_MIB: usize = 200;
const MIN_COLUMNS: usize = 200;

fn min_columns() -> usize {
    let l2 = crate::kernels::cache::l2_bytes().unwrap_or(0);
    (COLUMNS_PER_MIB * l2 / (1 << 20)).clamp(MIN_COLUMNS, 2 * MIN_COLUMNS)
}

thread_local! {
    /// Each thread's patch matrix, kept between calls: the shapes repeat every step.
    static PATCHES: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// Each thread's output (gradient) matrix of a group, in the product's layout.
    static GROUPED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `work` with `buffer` resized to at least `len` (contents unspecified).
fn with_scratch<R>(
    buffer: &'static std::thread::LocalKey<RefCell<Vec<f32>>>,
    len: usize,
    work: impl FnOnce(&mut [f32]) -> R,
) -> R {
    buffer.with(|cell| {
        let mut buffer = cell.borrow_mut();
        if buffer.len() < len {
            buffer.resize(len, 0.0);
        }
        work(&mut buffer[..len])
    })
}

impl ConvGeometry {
    /// Images per matrix product.
    fn group_size(&self) -> usize {
        min_columns().div_ceil(self.out_pixels().max(1))
    }
}

/// `range` cut into consecutive groups of at most `size` (at least 1) images.
fn groups(range: Range<usize>, size: usize) -> impl Iterator<Item = Range<usize>> {
    let (end, size) = (range.end, size.max(1));
    range
        .step_by(size)
        .map(move |start| start..(start + size).min(end))
}

/// Runs `work` on this thread's patch matrix for `count` images (contents unspecified).
fn with_patch_matrix(g: &ConvGeometry, count: usize, work: impl FnOnce(&mut [f32])) {
    with_scratch(&PATCHES, g.patch_len() * count * g.out_pixels(), work);
}

/// Where row `channel` of image `index` lies in a group's `[channels, count x pixels]`
/// matrix.
fn grouped_row(channel: usize, index: usize, count: usize, pixels: usize) -> Range<usize> {
    let start = (channel * count + index) * pixels;
    start..start + pixels
}

/// Runs `work` on the patch matrix `[patch_len, images x out_pixels]` of the images
/// laid out back to back in `images`: `images` itself for one image of a pointwise
/// convolution, else this thread's scratch buffer filled by im2col.
fn with_group_patches(images: &[f32], g: &ConvGeometry, work: impl FnOnce(&[f32])) {
    let count = images.len() / g.in_image_len().max(1);
    if count == 1 && g.is_pointwise() {
        return work(images);
    }
    with_patch_matrix(g, count, |patches| {
        for (index, image) in images.chunks_exact(g.in_image_len()).enumerate() {
            image_to_patches(image, g, patches, Columns::in_group(g, index, count));
        }
        work(patches);
    });
}

/// Lets `work` write the gradient of the group's patch matrix, then folds it onto
/// `images` (all zeros on entry; written directly for one image of a pointwise
/// convolution).
fn into_group_gradient(images: &mut [f32], g: &ConvGeometry, work: impl FnOnce(&mut [f32])) {
    let count = images.len() / g.in_image_len().max(1);
    if count == 1 && g.is_pointwise() {
        return work(images);
    }
    with_patch_matrix(g, count, |patches| {
        work(patches);
        for (index, image) in images.chunks_exact_mut(g.in_image_len()).enumerate() {
            patches_to_image(patches, g, Columns::in_group(g, index, count), image);
        }
    });
}

/// Runs `work` on the group's `[channels_out, images x out_pixels]` matrix gathered
/// from the images' `[channels_out, out_pixels]` blocks in `outputs` (the slice itself
/// for one image).
fn with_gathered(outputs: &[f32], g: &ConvGeometry, work: impl FnOnce(&[f32])) {
    let (count, pixels) = (outputs.len() / g.out_image_len().max(1), g.out_pixels());
    if count == 1 {
        return work(outputs);
    }
    with_scratch(&GROUPED, outputs.len(), |matrix| {
        for (index, image) in outputs.chunks_exact(g.out_image_len()).enumerate() {
            for (channel, row) in image.chunks_exact(pixels).enumerate() {
                matrix[grouped_row(channel, index, count, pixels)].copy_from_slice(row);
            }
        }
        work(matrix);
    });
}

/// Lets `work` write the group's `[channels_out, images x out_pixels]` matrix, then
/// scatters it to the images' blocks in `outputs` (written directly for one image).
fn into_scattered(outputs: &mut [f32], g: &ConvGeometry, work: impl FnOnce(&mut [f32])) {
    let (count, pixels) = (outputs.len() / g.out_image_len().max(1), g.out_pixels());
    if count == 1 {
        return work(outputs);
    }
    with_scratch(&GROUPED, outputs.len(), |matrix| {
        work(matrix);
        for (index, image) in outputs.chunks_exact_mut(g.out_image_len()).enumerate() {
            for (channel, row) in image.chunks_exact_mut(pixels).enumerate() {
                row.copy_from_slice(&matrix[grouped_row(channel, index, count, pixels)]);
            }
        }
    });
}

/// Runs `work(sources, targets, columns)` on consecutive groups of images, the groups
/// split over the cores: `targets` is the group's images in `target_batch` (images of
/// `target_len` values back to back), `sources` the same images in `source_batch`,
/// `columns` the group's output pixels (the width of its matrix products).
fn for_each_group(
    target_batch: &mut [f32],
    target_len: usize,
    (source_batch, source_len): (&[f32], usize),
    g: &ConvGeometry,
    work: impl Fn(&[f32], &mut [f32], usize) + Sync,
) {
    for_each_row_chunk(target_batch, target_len, |first, chunk| {
        let count = chunk.len() / target_len.max(1);
        for group in groups(0..count, g.group_size()) {
            let images = first + group.start..first + group.end;
            work(
                &source_batch[images.start * source_len..images.end * source_len],
                &mut chunk[group.start * target_len..group.end * target_len],
                images.len() * g.out_pixels(),
            );
        }
    });
}

/// Per group: `out [c_out, columns] = weight [c_out, patch] x patches [patch, columns]`.
pub(super) fn forward(input: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let (in_len, out_len) = (g.in_image_len(), g.out_image_len());
    let mut output = vec![0.0; g.batch * out_len];
    for_each_group(
        &mut output,
        out_len,
        (input, in_len),
        g,
        |images, out, columns| {
            with_group_patches(images, g, |patches| {
                into_scattered(out, g, |product| {
                    let dims = [g.channels_out, columns, g.patch_len()];
                    let (weight, patches) = ((weight, Stored::AsIs), (patches, Stored::AsIs));
                    multiply(dims, (product, false), weight, patches);
                });
            });
        },
    );
    output
}

/// Per group: `patches' [patch, columns] = weight^T x out' [c_out, columns]`, folded
/// back onto the images.
pub(super) fn input_gradient(grad_output: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let (in_len, out_len) = (g.in_image_len(), g.out_image_len());
    let mut grad_input = vec![0.0; g.batch * in_len];
    let grads = (grad_output, out_len);
    for_each_group(
        &mut grad_input,
        in_len,
        grads,
        g,
        |grads, images, columns| {
            with_gathered(grads, g, |grad| {
                into_group_gradient(images, g, |patches| {
                    let dims = [g.patch_len(), columns, g.channels_out];
                    let (weight, grad) = ((weight, Stored::Transposed), (grad, Stored::AsIs));
                    multiply(dims, (patches, false), weight, grad);
                });
            });
        },
    );
    grad_input
}

/// `sum over groups of out' [c_out, columns] x patches^T [columns, patch]`; each
/// thread sums its own images, then the partial sums are added.
pub(super) fn weight_gradient(input: &[f32], grad_output: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let (in_len, out_len, patch_len) = (g.in_image_len(), g.out_image_len(), g.patch_len());
    let partials = map_row_ranges(g.batch, g.work_per_image(), |images| {
        let mut sum = vec![0.0; g.channels_out * patch_len];
        for (index, group) in groups(images, g.group_size()).enumerate() {
            let columns = group.len() * g.out_pixels();
            let grads = &grad_output[group.start * out_len..group.end * out_len];
            with_gathered(grads, g, |grad| {
                with_group_patches(
                    &input[group.start * in_len..group.end * in_len],
                    g,
                    |patches| {
                        let dims = [g.channels_out, patch_len, columns];
                        let patches = (patches, Stored::Transposed);
                        multiply(dims, (&mut sum, index > 0), (grad, Stored::AsIs), patches);
                    },
                );
            });
        }
        sum
    });
    super::add_partial_sums(partials)
}
