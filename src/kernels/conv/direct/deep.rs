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
use crate::kernels::parallel::for_each_row_chunk;

/// Output channels per tile.
pub(super) const CHANNELS: usize = 64;
const LANES: usize = 16;
const VECTORS: usize = CHANNELS / LANES;
/// Output positions per tile.
const POSITIONS: usize = 6;
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
            let mut columns = [tile[tile.len() - 1]; POSITIONS];
            columns[..tile.len()].copy_from_slice(tile);
            for channel_block in 0..channels / CHANNELS {
                let packed = &weight[(channel_block * patch_len + first) * CHANNELS..];
                let at = tile_index * POSITIONS * channels + channel_block * CHANNELS;
                // SAFETY: `packed` holds `offsets.len()` rows of 64 values; every
                // column plus every offset lies inside the padded copy (a valid output
                // reads inside its padding); `sums` holds `tile.len()` rows of
                // `channels` values from `at`.
                unsafe {
                    tile_avx512(
                        packed.as_ptr(),
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

/// `out[j][..64] (+)= Σ_t packed[t][..64] × input[offsets[t] + columns[j]]` for the
/// first `valid` of the 6 columns; `out` rows `stride` apart.
#[target_feature(enable = "avx512f")]
unsafe fn tile_avx512(
    packed: *const f32,
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
    let mut weights = packed;
    for &offset in offsets {
        let w: [__m512; VECTORS] = std::array::from_fn(|i| _mm512_loadu_ps(weights.add(i * LANES)));
        let source = input.add(offset);
        for (j, row) in sums.iter_mut().enumerate() {
            let x = _mm512_set1_ps(*source.add(columns[j]));
            for (i, sum) in row.iter_mut().enumerate() {
                *sum = _mm512_fmadd_ps(w[i], x, *sum);
            }
        }
        weights = weights.add(CHANNELS);
    }
    for (j, row) in sums.iter().enumerate().take(valid) {
        for (i, sum) in row.iter().enumerate() {
            _mm512_storeu_ps(out.add(j * stride + i * LANES), *sum);
        }
    }
}
