//! 2-D convolution (groups 1, dilation 1, symmetric zero padding) on `f32` slices in
//! NCHW layout, forward and both gradients, as im2col + one matrix product per image.
//!
//! burn's CPU backend computes the input gradient as a transposed convolution and the
//! weight gradient through strided copies; here all three passes are a `gemm` call
//! per image on a reused patch matrix, with the batch split over the cores.

use std::cell::RefCell;

use gemm::{gemm, Parallelism};

use super::parallel::{for_each_row_chunk, map_row_ranges};

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

/// Output positions `o` whose input coordinate `o * stride + offset - padding` lies in
/// `0..size`.
fn valid_outputs(
    out_size: usize,
    size: usize,
    stride: usize,
    offset: usize,
    padding: usize,
) -> std::ops::Range<usize> {
    let first = padding.saturating_sub(offset).div_ceil(stride);
    let last = (size + padding)
        .checked_sub(offset + 1)
        .map_or(0, |max| max / stride + 1);
    first.min(out_size)..last.min(out_size).max(first.min(out_size))
}

/// Where one row of a patch matrix reads the image: input row `in_row`, output
/// columns `columns` (the others read padding), the first of them at input column
/// `first_column`, the next ones a stride apart.
struct RowSource {
    in_row: usize,
    columns: std::ops::Range<usize>,
    first_column: usize,
}

/// Calls `visit(start, source)` for every output row of every patch row: `start` is
/// where that row begins in the patch matrix, `source` says what it reads (`None`:
/// padding only).
fn for_each_patch_line(g: &ConvGeometry, mut visit: impl FnMut(usize, Option<RowSource>)) {
    let (out_height, out_width) = (g.out_height(), g.out_width());
    let [kernel_rows, kernel_cols] = g.kernel;
    for channel in 0..g.channels_in {
        for ky in 0..kernel_rows {
            let rows = valid_outputs(out_height, g.height, g.stride[0], ky, g.padding[0]);
            for kx in 0..kernel_cols {
                let patch_row = (channel * kernel_rows + ky) * kernel_cols + kx;
                let columns = valid_outputs(out_width, g.width, g.stride[1], kx, g.padding[1]);
                let first_column = (columns.start * g.stride[1] + kx).saturating_sub(g.padding[1]);
                for oy in 0..out_height {
                    let start = (patch_row * out_height + oy) * out_width;
                    let source = (rows.contains(&oy) && !columns.is_empty()).then(|| RowSource {
                        in_row: channel * g.height + oy * g.stride[0] + ky - g.padding[0],
                        columns: columns.clone(),
                        first_column,
                    });
                    visit(start, source);
                }
            }
        }
    }
}

/// The patch matrix `[patch_len, out_pixels]` of one image (every element written,
/// so the reused buffer needs no clearing).
fn image_to_patches(image: &[f32], g: &ConvGeometry, patches: &mut [f32]) {
    let (out_width, stride) = (g.out_width(), g.stride[1]);
    for_each_patch_line(g, |start, source| {
        let line = &mut patches[start..start + out_width];
        let Some(RowSource {
            in_row,
            columns,
            first_column,
        }) = source
        else {
            line.fill(0.0);
            return;
        };
        line[..columns.start].fill(0.0);
        line[columns.end..].fill(0.0);
        let target = &mut line[columns];
        let image_row = &image[in_row * g.width..(in_row + 1) * g.width];
        if stride == 1 {
            target.copy_from_slice(&image_row[first_column..first_column + target.len()]);
        } else {
            let pixels = image_row[first_column..].iter().step_by(stride);
            target
                .iter_mut()
                .zip(pixels)
                .for_each(|(value, &pixel)| *value = pixel);
        }
    });
}

/// Adds a patch-matrix gradient onto the image it was read from (`image` starts
/// at zero).
fn patches_to_image(patches: &[f32], g: &ConvGeometry, image: &mut [f32]) {
    let stride = g.stride[1];
    for_each_patch_line(g, |start, source| {
        let Some(RowSource {
            in_row,
            columns,
            first_column,
        }) = source
        else {
            return;
        };
        let line = &patches[start + columns.start..start + columns.end];
        let image_row = &mut image[in_row * g.width..(in_row + 1) * g.width];
        if stride == 1 {
            // Two plain slices of equal length: the loop vectorises.
            let target = &mut image_row[first_column..first_column + line.len()];
            target
                .iter_mut()
                .zip(line)
                .for_each(|(pixel, &value)| *pixel += value);
        } else {
            let pixels = image_row[first_column..].iter_mut().step_by(stride);
            line.iter()
                .zip(pixels)
                .for_each(|(&value, pixel)| *pixel += value);
        }
    });
}

/// A row-major `rows x columns` matrix (or its transpose) as gemm's strides.
#[derive(Clone, Copy)]
struct Matrix {
    row_stride: isize,
    column_stride: isize,
}

const fn row_major(columns: usize) -> Matrix {
    Matrix {
        row_stride: columns as isize,
        column_stride: 1,
    }
}

/// The transpose of a row-major matrix with `columns` columns.
const fn transposed(columns: usize) -> Matrix {
    Matrix {
        row_stride: 1,
        column_stride: columns as isize,
    }
}

/// `out (m x n) = [out +] lhs (m x k) * rhs (k x n)`, single-threaded: the callers
/// split the batch over the cores instead. `layouts` are those of out, lhs and rhs.
fn multiply(
    [m, n, k]: [usize; 3],
    out: &mut [f32],
    accumulate: bool,
    lhs: &[f32],
    rhs: &[f32],
    [out_layout, lhs_layout, rhs_layout]: [Matrix; 3],
) {
    assert!(out.len() >= m * n && lhs.len() >= m * k && rhs.len() >= k * n);
    // SAFETY: the three slices hold at least the m x n, m x k and k x n elements the
    // strides address (asserted above; every layout is dense row-major or its
    // transpose), and `out` is exclusively borrowed.
    unsafe {
        gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            out_layout.column_stride,
            out_layout.row_stride,
            accumulate,
            lhs.as_ptr(),
            lhs_layout.column_stride,
            lhs_layout.row_stride,
            rhs.as_ptr(),
            rhs_layout.column_stride,
            rhs_layout.row_stride,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
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
/// (all zeros on entry)
/// (directly into `image` for a pointwise convolution).
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
    let (patch_len, out_pixels) = (g.patch_len(), g.out_pixels());
    let (in_len, out_len) = (g.in_image_len(), g.out_image_len());
    let mut output = vec![0.0; g.batch * out_len];
    for_each_row_chunk(&mut output, out_len, |first, chunk| {
        for (offset, out) in chunk.chunks_exact_mut(out_len).enumerate() {
            let image = &input[(first + offset) * in_len..][..in_len];
            with_image_patches(image, g, |patches| {
                let dims = [g.channels_out, out_pixels, patch_len];
                let layouts = [
                    row_major(out_pixels),
                    row_major(patch_len),
                    row_major(out_pixels),
                ];
                multiply(dims, out, false, weight, patches, layouts);
            });
        }
    });
    output
}

/// The gradient with respect to the input, `[batch, channels_in, height, width]`:
/// per image, `patches' [patch, pixels] = weight^T x out' [c_out, pixels]`, folded back.
pub fn input_gradient(grad_output: &[f32], weight: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let (patch_len, out_pixels) = (g.patch_len(), g.out_pixels());
    let (in_len, out_len) = (g.in_image_len(), g.out_image_len());
    let mut grad_input = vec![0.0; g.batch * in_len];
    for_each_row_chunk(&mut grad_input, in_len, |first, chunk| {
        for (offset, image) in chunk.chunks_exact_mut(in_len).enumerate() {
            let grad = &grad_output[(first + offset) * out_len..][..out_len];
            into_image_gradient(image, g, |patches| {
                let dims = [patch_len, out_pixels, g.channels_out];
                let layouts = [
                    row_major(out_pixels),
                    transposed(patch_len),
                    row_major(out_pixels),
                ];
                multiply(dims, patches, false, weight, grad, layouts);
            });
        }
    });
    grad_input
}

/// The gradient with respect to the weight, `[channels_out, channels_in, kh, kw]`:
/// `sum over images of out' [c_out, pixels] x patches^T [pixels, patch]`; each thread
/// sums its own images, then the partial sums are added.
pub fn weight_gradient(input: &[f32], grad_output: &[f32], g: &ConvGeometry) -> Vec<f32> {
    let (patch_len, out_pixels) = (g.patch_len(), g.out_pixels());
    let (in_len, out_len) = (g.in_image_len(), g.out_image_len());
    let partials = map_row_ranges(g.batch, g.work_per_image(), |images| {
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
