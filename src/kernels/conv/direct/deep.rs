//! Correlations of the deep layers (many channels, few positions) with the output
//! channels across the vector lanes: a register tile is 64 output channels × 6 output
//! positions, and each step of the reduction loads 4 vectors of the packed weight and
//! broadcasts the input value each position reads. The positions are the valid outputs
//! only, wherever they lie in the padded copy (a table of where each starts), so no
//! work goes to padding, which at 5×5 is most of the padded plane.
//!
//! The reduction (patch rows) is cut in blocks whose weights, for all output channels,
//! stay in the L2 cache while every tile of the group passes over them; the tiles'
//! sums wait between blocks in a `[position][channel]` buffer, transposed to the
//! output's layout at the end.

use std::arch::x86_64::{
    __m512, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};
use std::mem::MaybeUninit;

use super::{pad_group, Correlation, PADDED};
use crate::kernels::parallel::{for_each_row_chunk, map_row_ranges};

/// Output channels per tile.
pub(super) const CHANNELS: usize = 64;
const LANES: usize = 16;
const VECTORS: usize = CHANNELS / LANES;
/// Output positions per tile.
pub(super) const POSITIONS: usize = 6;
/// Bytes of weight per block of the reduction (all output channels).
const BLOCK_BYTES: usize = 512 << 10;
/// Bytes of padded input per group of images.
const GROUP_BYTES: usize = 512 << 10;

std::thread_local! {
    static SUMS: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Correlates `images` into `out` group by group; `weight` packed by 64 channels.
pub(super) fn correlate(
    images: &[f32],
    weight: &[f32],
    c: &Correlation,
    out: &mut [MaybeUninit<f32>],
) {
    let group = (GROUP_BYTES / (4 * c.channels_in * c.plane())).max(1);
    let in_chunks = images.chunks(group * c.in_image_len());
    for (source, target) in in_chunks.zip(out.chunks_mut(group * c.out_image_len())) {
        PADDED.with_borrow_mut(|padded| {
            SUMS.with_borrow_mut(|sums| correlate_group(source, weight, c, padded, sums, target))
        });
    }
}

/// `weight` (`[channels_out][patch row]`) as `[block of 64 output channels][patch
/// row][64]`, the blocks split over the cores; 64 rows of 16 values at a time, so that
/// both sides stay in the L1 cache.
pub(super) fn pack(weight: &[f32], channels_out: usize) -> Vec<f32> {
    let patch_len = weight.len() / channels_out.max(1);
    packed_blocks(weight.len(), patch_len, |block, target| {
        let rows = &weight[block * CHANNELS * patch_len..][..CHANNELS * patch_len];
        for first in (0..patch_len).step_by(16) {
            let width = 16.min(patch_len - first);
            for (lane, row) in rows.chunks_exact(patch_len).enumerate() {
                for (k, &value) in row[first..first + width].iter().enumerate() {
                    target[(first + k) * CHANNELS + lane] = value;
                }
            }
        }
    })
}

/// The weight of the input gradient's correlation (`[channels_in][channels_out]
/// [taps]`, taps flipped), packed as [`pack`] does, straight from the forward
/// `weight` (`[channels_out][channels_in][taps]`): each output channel's 64 × taps
/// values of a block are contiguous on both sides.
pub(super) fn pack_flipped_transposed(
    weight: &[f32],
    channels_out: usize,
    channels_in: usize,
) -> Vec<f32> {
    let taps = weight.len() / (channels_out * channels_in).max(1);
    packed_blocks(weight.len(), channels_out * taps, |block, target| {
        for co in 0..channels_out {
            let source = &weight[(co * channels_in + block * CHANNELS) * taps..][..CHANNELS * taps];
            let rows = &mut target[co * taps * CHANNELS..][..taps * CHANNELS];
            for (lane, kernel) in source.chunks_exact(taps).enumerate() {
                for (tap, &value) in kernel.iter().rev().enumerate() {
                    rows[tap * CHANNELS + lane] = value;
                }
            }
        }
    })
}

/// `len` values in blocks of `CHANNELS × patch_len`, each written by `fill(block,
/// values)` on some core.
fn packed_blocks(
    len: usize,
    patch_len: usize,
    fill: impl Fn(usize, &mut [f32]) + Sync,
) -> Vec<f32> {
    let mut packed = vec![0.0; len];
    for_each_row_chunk(&mut packed, CHANNELS * patch_len, |first, blocks| {
        for (index, block) in blocks.chunks_exact_mut(CHANNELS * patch_len).enumerate() {
            fill(first + index, block);
        }
    });
    packed
}

/// Where each valid output position of `count` images starts in the padded copy.
fn positions(c: &Correlation, count: usize) -> Vec<usize> {
    let [height, width] = c.out_size();
    let (pitch, plane) = (c.pitch(), c.plane());
    let mut starts = Vec::with_capacity(count * height * width);
    for image in 0..count {
        for y in 0..height {
            starts.extend((0..width).map(|x| image * plane + y * pitch + x));
        }
    }
    starts
}

fn correlate_group(
    images: &[f32],
    weight: &[f32],
    c: &Correlation,
    padded: &mut Vec<f32>,
    sums: &mut Vec<f32>,
    out: &mut [MaybeUninit<f32>],
) {
    let count = images.len() / c.in_image_len().max(1);
    let padded = pad_group(images, c, padded);
    let starts = positions(c, count);
    let channels = c.channels_out;
    let patch_len = c.channels_in * c.taps();
    sums.resize(starts.len() * channels, 0.0);
    let block = (BLOCK_BYTES / (4 * channels)).max(1);
    for first in (0..patch_len).step_by(block) {
        let offsets = &padded.offsets[first..(first + block).min(patch_len)];
        for (tile_index, tile) in starts.chunks(POSITIONS).enumerate() {
            let columns = tile_columns(tile);
            for channel_block in 0..channels / CHANNELS {
                let packed = &weight[(channel_block * patch_len + first) * CHANNELS..];
                let at = tile_index * POSITIONS * channels + channel_block * CHANNELS;
                // SAFETY: `packed` holds `offsets.len()` rows of 64 values; every
                // column plus every offset lies inside the padded copy (a valid output
                // reads inside its padding); `sums` holds `tile.len()` rows of
                // `channels` values from `at`.
                unsafe {
                    tile_avx512(
                        (packed.as_ptr(), CHANNELS),
                        offsets,
                        padded.values.as_ptr(),
                        &columns,
                        (sums[at..].as_mut_ptr(), channels, tile.len()),
                        first > 0,
                    );
                }
            }
        }
    }
    transpose_out(sums, c, out);
}

/// The tile's columns: `tile`, its last repeated where it is short (computed, never
/// stored).
fn tile_columns(tile: &[usize]) -> [usize; POSITIONS] {
    let mut columns = [tile[tile.len() - 1]; POSITIONS];
    columns[..tile.len()].copy_from_slice(tile);
    columns
}

/// The weight gradient `[channels_out][patch row]` of `batch` images and their output
/// gradient, the images split over the cores. Each core sums its images' products in
/// `[patch row][channel]` (a tile's 64 channels contiguous), transposed once at the end.
pub(in crate::kernels::conv) fn weight_gradient(
    input: &[f32],
    grad: &[f32],
    c: &Correlation,
    batch: usize,
) -> Vec<f32> {
    let (in_len, out_len) = (c.in_image_len(), c.out_image_len());
    let patch_len = c.channels_in * c.taps();
    let work_per_image = in_len * c.channels_out;
    let partials = map_row_ranges(batch, work_per_image, |images| {
        let mut sum = vec![0.0; patch_len * c.channels_out];
        let (images, grads) = (
            &input[images.start * in_len..images.end * in_len],
            &grad[images.start * out_len..images.end * out_len],
        );
        let group = (GROUP_BYTES / (4 * c.channels_in * c.plane())).max(1);
        for (source, grad) in images
            .chunks(group * in_len)
            .zip(grads.chunks(group * out_len))
        {
            PADDED.with_borrow_mut(|padded| {
                SUMS.with_borrow_mut(|grad_rows| {
                    add_group_weight_gradient(source, grad, c, padded, grad_rows, &mut sum)
                })
            });
        }
        sum
    });
    transposed_sum(&partials, c.channels_out)
}

fn add_group_weight_gradient(
    images: &[f32],
    grad: &[f32],
    c: &Correlation,
    padded: &mut Vec<f32>,
    grad_rows: &mut Vec<f32>,
    sum: &mut [f32],
) {
    let count = images.len() / c.in_image_len().max(1);
    let padded = pad_group(images, c, padded);
    let starts = positions(c, count);
    let channels = c.channels_out;
    transpose_in(grad, c, grad_rows);
    let block_len = starts.len() * CHANNELS;
    let patch_len = c.channels_in * c.taps();
    for first in (0..patch_len).step_by(POSITIONS) {
        let rows = &padded.offsets[first..(first + POSITIONS).min(patch_len)];
        let columns = tile_columns(rows);
        for channel_block in 0..channels / CHANNELS {
            let at = first * channels + channel_block * CHANNELS;
            // SAFETY: `grad_rows` holds `starts.len()` rows of 64 values a block; every
            // start plus every offset lies inside the padded copy; `sum` holds
            // `rows.len()` rows of `channels` values from `at`.
            unsafe {
                tile_avx512(
                    (grad_rows[channel_block * block_len..].as_ptr(), CHANNELS),
                    &starts,
                    padded.values.as_ptr(),
                    &columns,
                    (sum[at..].as_mut_ptr(), channels, rows.len()),
                    true,
                );
            }
        }
    }
}

/// `grad` (`[image][channel][row][column]`) as `[block of 64 channels][position][64]`
/// in `rows`: what a tile reads of it each step is then one contiguous run.
fn transpose_in(grad: &[f32], c: &Correlation, rows: &mut Vec<f32>) {
    let pixels = c.out_image_len() / c.channels_out.max(1);
    let positions = grad.len() / c.channels_out.max(1);
    rows.resize(grad.len(), 0.0);
    for (image, source) in grad.chunks_exact(c.out_image_len()).enumerate() {
        for (channel, plane) in source.chunks_exact(pixels).enumerate() {
            let (block, lane) = (channel / CHANNELS, channel % CHANNELS);
            let first = block * positions + image * pixels;
            for (pixel, &value) in plane.iter().enumerate() {
                rows[(first + pixel) * CHANNELS + lane] = value;
            }
        }
    }
}

/// The sum of the `[rows][columns]` matrices `partials`, transposed: each core takes
/// a range of columns, 16 rows at a time, so that the reads stay in the L1 cache.
fn transposed_sum(partials: &[Vec<f32>], columns: usize) -> Vec<f32> {
    let len = partials.first().map_or(0, Vec::len);
    let rows = len / columns.max(1);
    let mut out = vec![0.0; len];
    for_each_row_chunk(&mut out, rows, |first_column, chunk| {
        for first in (0..rows).step_by(16) {
            let height = 16.min(rows - first);
            for (index, target) in chunk.chunks_exact_mut(rows).enumerate() {
                let column = first_column + index;
                for (offset, value) in target[first..first + height].iter_mut().enumerate() {
                    let at = (first + offset) * columns + column;
                    *value = partials.iter().map(|partial| partial[at]).sum();
                }
            }
        }
    });
    out
}

/// `sums` (`[position][channel]`) into `out` (`[image][channel][row][column]`).
fn transpose_out(sums: &[f32], c: &Correlation, out: &mut [MaybeUninit<f32>]) {
    let channels = c.channels_out;
    let pixels = c.out_image_len() / channels.max(1);
    for (image, target) in out.chunks_exact_mut(c.out_image_len()).enumerate() {
        let source = &sums[image * pixels * channels..][..pixels * channels];
        for (channel, plane) in target.chunks_exact_mut(pixels).enumerate() {
            for (pixel, value) in plane.iter_mut().enumerate() {
                value.write(source[pixel * channels + channel]);
            }
        }
    }
}

/// `out[j][..64] (+)= Σ_t rows[t][..64] × input[offsets[t] + columns[j]]` for the
/// first `valid` of the 6 columns; `rows` and `out` rows `row_stride` and `stride`
/// apart.
///
/// The forward passes the packed weight as `rows` (a patch row each step, `offsets`
/// where each reads), the weight gradient the output gradient (a position each step,
/// `offsets` where each starts, `columns` where the tile's patch rows read).
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn tile_avx512(
    (rows, row_stride): (*const f32, usize),
    offsets: &[usize],
    input: *const f32,
    columns: &[usize; POSITIONS],
    (out, stride, valid): (*mut f32, usize, usize),
    accumulate: bool,
) {
    let mut sums: [[__m512; VECTORS]; POSITIONS] = [[_mm512_setzero_ps(); VECTORS]; POSITIONS];
    if accumulate {
        for (j, row) in sums.iter_mut().enumerate().take(valid) {
            for (i, sum) in row.iter_mut().enumerate() {
                *sum = _mm512_loadu_ps(out.add(j * stride + i * LANES));
            }
        }
    }
    let mut row = rows;
    for &offset in offsets {
        let w: [__m512; VECTORS] = std::array::from_fn(|i| _mm512_loadu_ps(row.add(i * LANES)));
        let source = input.add(offset);
        for (j, row) in sums.iter_mut().enumerate() {
            let x = _mm512_set1_ps(*source.add(columns[j]));
            for (i, sum) in row.iter_mut().enumerate() {
                *sum = _mm512_fmadd_ps(w[i], x, *sum);
            }
        }
        row = row.add(row_stride);
    }
    for (j, row) in sums.iter().enumerate().take(valid) {
        for (i, sum) in row.iter().enumerate() {
            _mm512_storeu_ps(out.add(j * stride + i * LANES), *sum);
        }
    }
}
