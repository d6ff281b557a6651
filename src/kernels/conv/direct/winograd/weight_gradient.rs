//! The weight gradient by the same transform, as F(3×3, 2×2): each tile's 2×2 output
//! gradient `e` and 4×4 input window `d` add `Aᵀ [(G e Gᵀ) ⊙ (Bᵀ d B)] A` to the 3×3
//! gradient, and since that is linear, the 16-point products are summed over every
//! tile first, `P[p] = Σ_t E[p][t] ⊗ V[p][t]`, and transformed back once a pass. `Bᵀ d
//! B` is the forward's input transform; `G = [1 0; ½ ½; ½ −½; 0 1]`, `Aᵀ = [1 1 1 0;
//! 0 1 −1 0; 0 1 1 −1]`.

use std::arch::x86_64::{
    __m512, _mm512_add_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_set1_ps, _mm512_storeu_ps,
    _mm512_sub_ps,
};

use super::{
    bands, pad_channels_last, tile_avx512, tiles, transform_input, transform_windows, Band,
    ChannelsLast, Correlation, Windows, CHANNELS, LANES, POINTS, POSITIONS,
};
use std::ops::Range;

use crate::kernels::parallel::{for_each_row_chunk, map_row_ranges};

std::thread_local! {
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::new(Buffers::default());
}

/// Scratch space of one band, reused from band to band.
#[derive(Default)]
struct Buffers {
    /// One input image zero-padded, channels last (kept over the bands of one image).
    windows: Vec<f32>,
    /// Its output gradient, channels last, zeros past an odd size.
    gradient_windows: Vec<f32>,
    /// `V`: `[point][tile][input channel]`.
    transformed: Vec<f32>,
    /// `E`: `[point][tile][output channel]`.
    transformed_gradient: Vec<f32>,
}

/// Bytes of summed products (`P`) past which the cores split the points instead of
/// the images: two partial sums that large (ResNet-18's 512-channel layer: 16.8 MB
/// each) cost more to allocate and add than the transforms both cores then repeat.
const SPLIT_POINTS_BYTES: usize = 8 << 20;

/// The gradient `[channels_out][channels_in][3][3]` of the weight of correlation `c`
/// from `batch` input images and their output gradient: the images split over the
/// cores, or the points where the sums are large.
pub(in crate::kernels::conv) fn weight_gradient(
    input: &[f32],
    grad: &[f32],
    c: &Correlation,
    batch: usize,
) -> Vec<f32> {
    let (in_len, out_len) = (c.in_image_len(), c.out_image_len());
    let point_len = c.channels_in * c.channels_out;
    let sums = |images: Range<usize>, points: Range<usize>, sums: &mut [f32]| {
        let input = &input[images.start * in_len..images.end * in_len];
        let grad = &grad[images.start * out_len..images.end * out_len];
        for band in bands(c, images.len(), POINTS * point_len) {
            BUFFERS.with_borrow_mut(|buffers| {
                add_band((input, grad), c, (&band, points.clone()), buffers, sums)
            });
        }
    };
    if 4 * POINTS * point_len > SPLIT_POINTS_BYTES {
        let mut total = vec![0.0; POINTS * point_len];
        for_each_row_chunk(&mut total, point_len, |first, chunk| {
            sums(0..batch, first..first + chunk.len() / point_len, chunk);
        });
        return untransform(&[total], c);
    }
    let partials = map_row_ranges(batch, in_len * c.channels_out, |images| {
        let mut partial = vec![0.0; POINTS * point_len];
        sums(images, 0..POINTS, &mut partial);
        partial
    });
    untransform(&partials, c)
}

/// Adds the band's products at `points` to `sums` (`P` at those points: `[point]
/// [input channel][output channel]`).
fn add_band(
    (input, grad): (&[f32], &[f32]),
    c: &Correlation,
    (band, points): (&Band, Range<usize>),
    buffers: &mut Buffers,
    sums: &mut [f32],
) {
    let (in_len, out_len) = (c.in_image_len(), c.out_image_len());
    let (channels_in, channels_out) = (c.channels_in, c.channels_out);
    let tile_count = band.tile_count(tiles(c)[1]);
    buffers
        .transformed
        .resize(POINTS * tile_count * channels_in, 0.0);
    buffers
        .transformed_gradient
        .resize(POINTS * tile_count * channels_out, 0.0);
    for (index, image) in band.images.clone().enumerate() {
        if band.tile_rows.start == 0 {
            pad_channels_last(&input[image * in_len..][..in_len], c, &mut buffers.windows);
            gradient_layout(c).copy(
                &grad[image * out_len..][..out_len],
                &mut buffers.gradient_windows,
            );
        }
        // SAFETY: both windows hold the image (above, or for an earlier band of it);
        // the transformed buffers hold the band's tiles of every point; AVX-512 (the
        // callers check `fits` and the CPU).
        unsafe {
            transform_input(&buffers.windows, c, &mut buffers.transformed, band, index);
            transform_gradient(
                &buffers.gradient_windows,
                c,
                &mut buffers.transformed_gradient,
                band,
                index,
            );
        }
    }
    let steps: Vec<usize> = (0..tile_count).map(|tile| tile * channels_in).collect();
    let point_len = channels_in * channels_out;
    for (point, sum) in points.zip(sums.chunks_exact_mut(point_len)) {
        let transformed = &buffers.transformed[point * tile_count * channels_in..];
        let gradient = &buffers.transformed_gradient[point * tile_count * channels_out..];
        for block in 0..channels_out / CHANNELS {
            for first in (0..channels_in).step_by(POSITIONS) {
                let valid = POSITIONS.min(channels_in - first);
                let columns = std::array::from_fn(|j| first + j.min(valid - 1));
                let at = first * channels_out + block * CHANNELS;
                // SAFETY: `gradient` holds `tile_count` rows of `channels_out` (64 from
                // the block's first), each step plus each column lies in `transformed`
                // (a tile's input channels), `sum` holds `valid` rows of
                // `channels_out` from `at`; AVX-512 as above.
                unsafe {
                    tile_avx512(
                        (gradient[block * CHANNELS..].as_ptr(), channels_out),
                        &steps,
                        transformed.as_ptr(),
                        &columns,
                        (sum[at..].as_mut_ptr(), channels_out, valid),
                        true,
                    );
                }
            }
        }
    }
}

/// Where an output gradient image goes channels last: every tile's 2×2 inside, zeros
/// past an odd output size.
fn gradient_layout(c: &Correlation) -> ChannelsLast {
    let [rows, columns] = tiles(c);
    ChannelsLast {
        channels: c.channels_out,
        size: c.out_size(),
        offset: [0, 0],
        window: [2 * rows, 2 * columns],
    }
}

/// `E = G e Gᵀ` of every 2×2 output gradient tile `e` of the band's rows of its
/// `index`-th image, 16 channels at a time, into `transformed`.
#[target_feature(enable = "avx512f")]
unsafe fn transform_gradient(
    windows: &[f32],
    c: &Correlation,
    transformed: &mut [f32],
    band: &Band,
    index: usize,
) {
    let columns = tiles(c)[1];
    let layout = Windows {
        channels: c.channels_out,
        columns: 2 * columns,
        tiles_per_row: columns,
    };
    transform_windows::<2>(windows, &layout, (transformed, band, index), |e| {
        gradient_transform_1d(e)
    });
}

/// `G e` of two values along one axis.
#[inline]
#[target_feature(enable = "avx512f")]
fn gradient_transform_1d([e0, e1]: [__m512; 2]) -> [__m512; 4] {
    let half = _mm512_set1_ps(0.5);
    [
        e0,
        _mm512_mul_ps(_mm512_add_ps(e0, e1), half),
        _mm512_mul_ps(_mm512_sub_ps(e0, e1), half),
        e1,
    ]
}

/// The weight gradient `[channels_out][channels_in][3][3]`: `Aᵀ P A` of the sum of
/// the cores' `partials`, 16 output channels at a time, the channels split over the
/// cores.
fn untransform(partials: &[Vec<f32>], c: &Correlation) -> Vec<f32> {
    let (channels_in, channels_out) = (c.channels_in, c.channels_out);
    let mut out = vec![0.0; channels_out * channels_in * 9];
    for_each_row_chunk(&mut out, LANES * channels_in * 9, |first_block, chunk| {
        for (index, block) in chunk.chunks_exact_mut(LANES * channels_in * 9).enumerate() {
            let first_output = (first_block + index) * LANES;
            for ci in 0..channels_in {
                let at = |point: usize| (point * channels_in + ci) * channels_out + first_output;
                // SAFETY: every partial holds all points of `[channels_in][channels_out]`
                // and `first_output + 16 ≤ channels_out`; AVX-512 (callers check).
                let kernels = unsafe { untransform_16(partials, at) };
                for (lane, kernel) in kernels.iter().enumerate() {
                    block[(lane * channels_in + ci) * 9..][..9].copy_from_slice(kernel);
                }
            }
        }
    });
    out
}

/// The 3×3 kernels `Aᵀ P A` of 16 output channels, `P`'s point `p` at `at(p)` of every
/// partial sum.
#[target_feature(enable = "avx512f")]
unsafe fn untransform_16(partials: &[Vec<f32>], at: impl Fn(usize) -> usize) -> [[f32; 9]; LANES] {
    let m: [__m512; POINTS] = std::array::from_fn(|point| {
        let mut sum = _mm512_loadu_ps(partials[0].as_ptr().add(at(point)));
        for partial in &partials[1..] {
            sum = _mm512_add_ps(sum, _mm512_loadu_ps(partial.as_ptr().add(at(point))));
        }
        sum
    });
    let rows_done: [[__m512; 3]; 4] = std::array::from_fn(|i| {
        untransform_1d([m[i * 4], m[i * 4 + 1], m[i * 4 + 2], m[i * 4 + 3]])
    });
    let mut taps = [[0.0f32; LANES]; 9];
    for kx in 0..3 {
        let column = untransform_1d(std::array::from_fn(|i| rows_done[i][kx]));
        for (ky, value) in column.into_iter().enumerate() {
            _mm512_storeu_ps(taps[ky * 3 + kx].as_mut_ptr(), value);
        }
    }
    std::array::from_fn(|lane| std::array::from_fn(|tap| taps[tap][lane]))
}

/// `Aᵀ m` of four values along one axis.
#[inline]
#[target_feature(enable = "avx512f")]
fn untransform_1d([m0, m1, m2, m3]: [__m512; 4]) -> [__m512; 3] {
    let sum = _mm512_add_ps(m1, m2);
    [
        _mm512_add_ps(m0, sum),
        _mm512_sub_ps(m1, m2),
        _mm512_sub_ps(sum, m3),
    ]
}
