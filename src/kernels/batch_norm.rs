//! Batch normalisation over `[N, C, L]` row-major `f32` data (`L` = H * W): the
//! per-channel statistics, the normalisation and the backward pass, each one or two
//! sequential sweeps over memory.
//!
//! Sums run in `f32` lanes over short blocks (so they vectorise) and are carried in
//! `f64` across blocks and rows, which keeps them as accurate as a pairwise sum.

use std::mem::MaybeUninit;

use super::parallel::{collect_rows, for_each_row_chunk, map_row_ranges};
use super::{simd, Simd};

/// Elements summed in `f32` before the partial sums move to `f64` (16 per lane).
const BLOCK: usize = 256;
/// Independent `f32` accumulators: one AVX-512 register.
const LANES: usize = 16;
/// The same for [`masked_sums`], whose select vectorises best two registers wide
/// (measured with tests/norm_speed.rs `kernels_alone`: 8 lanes took twice as long).
const MASKED_LANES: usize = 16;

/// The shape of the data the kernels see: `batch` images of `channels` rows of
/// `spatial` values each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub batch: usize,
    pub channels: usize,
    pub spatial: usize,
}

impl Layout {
    /// Number of elements in the data.
    pub fn len(&self) -> usize {
        self.batch * self.channels * self.spatial
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values that share one channel's statistics (`N * L`).
    pub fn per_channel(&self) -> usize {
        self.batch * self.spatial
    }

    fn rows(&self) -> usize {
        self.batch * self.channels
    }

    fn channel_of_row(&self, row: usize) -> usize {
        row % self.channels
    }
}

/// Per-channel batch statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct Statistics {
    pub mean: Vec<f32>,
    /// Biased (divided by `N * L`), as used for normalisation.
    pub variance: Vec<f32>,
}

/// `(sum of a, sum of a * b)` over a row, with `a = x - a_shift` and `b = y - b_shift`.
/// Statistics pass `y = x` so the second sum is the shifted sum of squares.
fn shifted_sums(x: &[f32], a_shift: f32, y: &[f32], b_shift: f32) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    match simd() {
        // SAFETY: the CPU has the instructions (detected by `simd`).
        Some(Simd::Avx512) => return unsafe { shifted_sums_wide(x, a_shift, y, b_shift) },
        // SAFETY: as above.
        Some(Simd::Avx2) => return unsafe { shifted_sums_avx2(x, a_shift, y, b_shift) },
        None => {}
    }
    shifted_sums_inline(x, a_shift, y, b_shift)
}

/// [`shifted_sums`] in AVX-512 registers, in the same summation order (lane by lane,
/// then the lanes in order per block). Written out because the compiler vectorised
/// the portable form only two lanes wide: statistics took 2.4× the time of the
/// masked sums, which read twice as much.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn shifted_sums_wide(x: &[f32], a_shift: f32, y: &[f32], b_shift: f32) -> (f64, f64) {
    use std::arch::x86_64::{
        _mm512_add_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_set1_ps, _mm512_setzero_ps,
        _mm512_storeu_ps, _mm512_sub_ps,
    };
    const { assert!(LANES == 16) };
    let (a_shifts, b_shifts) = (_mm512_set1_ps(a_shift), _mm512_set1_ps(b_shift));
    let mut totals = [0.0f64; 2];
    for (x_block, y_block) in x.chunks(BLOCK).zip(y.chunks(BLOCK)) {
        let (mut sums_a, mut sums_ab) = (_mm512_setzero_ps(), _mm512_setzero_ps());
        let (x_lanes, x_rest) = x_block.as_chunks::<LANES>();
        let (y_lanes, y_rest) = y_block.as_chunks::<LANES>();
        for (x_lane, y_lane) in x_lanes.iter().zip(y_lanes) {
            // SAFETY: each lane array holds 16 floats.
            let (x_vector, y_vector) = unsafe {
                (
                    _mm512_loadu_ps(x_lane.as_ptr()),
                    _mm512_loadu_ps(y_lane.as_ptr()),
                )
            };
            let a = _mm512_sub_ps(x_vector, a_shifts);
            sums_a = _mm512_add_ps(sums_a, a);
            sums_ab = _mm512_add_ps(sums_ab, _mm512_mul_ps(a, _mm512_sub_ps(y_vector, b_shifts)));
        }
        let mut lanes = [[0.0f32; LANES]; 2];
        // SAFETY: each array holds 16 floats.
        unsafe {
            _mm512_storeu_ps(lanes[0].as_mut_ptr(), sums_a);
            _mm512_storeu_ps(lanes[1].as_mut_ptr(), sums_ab);
        }
        close_block(lanes, [x_rest, y_rest], [a_shift, b_shift], &mut totals);
    }
    (totals[0], totals[1])
}

/// [`shifted_sums_wide`] in AVX2: each 16-lane sum is two 8-lane registers, so the
/// summation order (and the result) is the same.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn shifted_sums_avx2(x: &[f32], a_shift: f32, y: &[f32], b_shift: f32) -> (f64, f64) {
    use std::arch::x86_64::{
        __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps, _mm256_setzero_ps,
        _mm256_storeu_ps, _mm256_sub_ps,
    };
    const { assert!(LANES == 16) };
    let (a_shifts, b_shifts) = (_mm256_set1_ps(a_shift), _mm256_set1_ps(b_shift));
    let mut totals = [0.0f64; 2];
    for (x_block, y_block) in x.chunks(BLOCK).zip(y.chunks(BLOCK)) {
        let mut sums: [[__m256; 2]; 2] = [[_mm256_setzero_ps(); 2]; 2];
        let (x_lanes, x_rest) = x_block.as_chunks::<LANES>();
        let (y_lanes, y_rest) = y_block.as_chunks::<LANES>();
        for (x_lane, y_lane) in x_lanes.iter().zip(y_lanes) {
            #[allow(clippy::needless_range_loop)] // `half` picks a register and an offset
            for half in 0..2 {
                // SAFETY: each lane array holds 16 floats: two halves of 8.
                let (x_vector, y_vector) = unsafe {
                    (
                        _mm256_loadu_ps(x_lane.as_ptr().add(8 * half)),
                        _mm256_loadu_ps(y_lane.as_ptr().add(8 * half)),
                    )
                };
                let a = _mm256_sub_ps(x_vector, a_shifts);
                let b = _mm256_sub_ps(y_vector, b_shifts);
                sums[0][half] = _mm256_add_ps(sums[0][half], a);
                sums[1][half] = _mm256_add_ps(sums[1][half], _mm256_mul_ps(a, b));
            }
        }
        let mut lanes = [[0.0f32; LANES]; 2];
        for (target, halves) in lanes.iter_mut().zip(&sums) {
            for (half, &vector) in halves.iter().enumerate() {
                // SAFETY: each array holds 16 floats: two halves of 8.
                unsafe { _mm256_storeu_ps(target.as_mut_ptr().add(8 * half), vector) };
            }
        }
        close_block(lanes, [x_rest, y_rest], [a_shift, b_shift], &mut totals);
    }
    (totals[0], totals[1])
}

#[inline(always)]
fn shifted_sums_inline(x: &[f32], a_shift: f32, y: &[f32], b_shift: f32) -> (f64, f64) {
    let mut totals = [0.0f64; 2];
    for (x_block, y_block) in x.chunks(BLOCK).zip(y.chunks(BLOCK)) {
        let [mut sum_a, mut sum_ab] = [[0.0f32; LANES]; 2];
        let (x_lanes, x_rest) = x_block.as_chunks::<LANES>();
        let (y_lanes, y_rest) = y_block.as_chunks::<LANES>();
        for (x_lane, y_lane) in x_lanes.iter().zip(y_lanes) {
            for lane in 0..LANES {
                let a = x_lane[lane] - a_shift;
                sum_a[lane] += a;
                sum_ab[lane] += a * (y_lane[lane] - b_shift);
            }
        }
        close_block(
            [sum_a, sum_ab],
            [x_rest, y_rest],
            [a_shift, b_shift],
            &mut totals,
        );
    }
    (totals[0], totals[1])
}

/// The end of one block of [`shifted_sums`]: the values left over after the whole
/// lanes go to lane 0, then the lanes, in order, to the `f64` totals.
#[inline(always)]
fn close_block(
    [mut sum_a, mut sum_ab]: [[f32; LANES]; 2],
    [x_rest, y_rest]: [&[f32]; 2],
    [a_shift, b_shift]: [f32; 2],
    totals: &mut [f64; 2],
) {
    for (&x_value, &y_value) in x_rest.iter().zip(y_rest) {
        let a = x_value - a_shift;
        sum_a[0] += a;
        sum_ab[0] += a * (y_value - b_shift);
    }
    totals[0] += sum_a.iter().map(|&value| f64::from(value)).sum::<f64>();
    totals[1] += sum_ab.iter().map(|&value| f64::from(value)).sum::<f64>();
}

/// `shifted_sums(grad, 0, x, mean)` with `grad` taken as zero wherever `affine(x)`
/// is not positive: the gradient through the ReLU that [`normalize`] applied, its
/// sign recomputed from `x` with the forward's own expression, so the two agree.
fn masked_sums(grad: &[f32], x: &[f32], mean: f32, affine: (f32, f32, f32)) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    match simd() {
        // SAFETY: the CPU has the instructions (detected by `simd`).
        Some(Simd::Avx512) => return unsafe { masked_sums_wide(grad, x, mean, affine) },
        // SAFETY: as above.
        Some(Simd::Avx2) => return unsafe { masked_sums_avx2(grad, x, mean, affine) },
        None => {}
    }
    masked_sums_inline(grad, x, mean, affine)
}

/// [`masked_sums`] compiled for AVX-512: the same code and summation order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn masked_sums_wide(grad: &[f32], x: &[f32], mean: f32, affine: (f32, f32, f32)) -> (f64, f64) {
    masked_sums_inline(grad, x, mean, affine)
}

/// [`masked_sums`] compiled for AVX2: the same code and summation order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn masked_sums_avx2(grad: &[f32], x: &[f32], mean: f32, affine: (f32, f32, f32)) -> (f64, f64) {
    masked_sums_inline(grad, x, mean, affine)
}

#[inline(always)]
fn masked_sums_inline(
    grad: &[f32],
    x: &[f32],
    mean: f32,
    (m, s, b): (f32, f32, f32),
) -> (f64, f64) {
    let mut total_a = 0.0f64;
    let mut total_ab = 0.0f64;
    for (g_block, x_block) in grad.chunks(BLOCK).zip(x.chunks(BLOCK)) {
        let mut sum_a = [0.0f32; MASKED_LANES];
        let mut sum_ab = [0.0f32; MASKED_LANES];
        let (g_lanes, g_rest) = g_block.as_chunks::<MASKED_LANES>();
        let (x_lanes, x_rest) = x_block.as_chunks::<MASKED_LANES>();
        for (g_lane, x_lane) in g_lanes.iter().zip(x_lanes) {
            for lane in 0..MASKED_LANES {
                let value = x_lane[lane];
                let a = if (value - m) * s + b > 0.0 {
                    g_lane[lane]
                } else {
                    0.0
                };
                sum_a[lane] += a;
                sum_ab[lane] += a * (value - mean);
            }
        }
        for (&g, &value) in g_rest.iter().zip(x_rest) {
            let a = if (value - m) * s + b > 0.0 { g } else { 0.0 };
            sum_a[0] += a;
            sum_ab[0] += a * (value - mean);
        }
        total_a += sum_a.iter().map(|&value| f64::from(value)).sum::<f64>();
        total_ab += sum_ab.iter().map(|&value| f64::from(value)).sum::<f64>();
    }
    (total_a, total_ab)
}

/// For each channel, `(sum of a, sum of a * b)` over all its rows, where row `r` of
/// channel `c` gives `a = x - a_shift[c]`, `b = y - b_shift[c]`.
fn channel_sums(
    x: &[f32],
    a_shift: &[f32],
    y: &[f32],
    b_shift: &[f32],
    layout: Layout,
    relu: Option<Affine>,
) -> (Vec<f64>, Vec<f64>) {
    let spatial = layout.spatial;
    let partials = map_row_ranges(layout.rows(), spatial, |rows| {
        let mut sums_a = vec![0.0f64; layout.channels];
        let mut sums_ab = vec![0.0f64; layout.channels];
        for row in rows {
            let channel = layout.channel_of_row(row);
            let span = row * spatial..(row + 1) * spatial;
            let (a, ab) = match relu {
                Some(affine) => masked_sums(
                    &x[span.clone()],
                    &y[span],
                    b_shift[channel],
                    affine.of(channel),
                ),
                None => shifted_sums(
                    &x[span.clone()],
                    a_shift[channel],
                    &y[span],
                    b_shift[channel],
                ),
            };
            sums_a[channel] += a;
            sums_ab[channel] += ab;
        }
        (sums_a, sums_ab)
    });
    let mut totals_a = vec![0.0f64; layout.channels];
    let mut totals_ab = vec![0.0f64; layout.channels];
    for (sums_a, sums_ab) in partials {
        for channel in 0..layout.channels {
            totals_a[channel] += sums_a[channel];
            totals_ab[channel] += sums_ab[channel];
        }
    }
    (totals_a, totals_ab)
}

/// Batch mean and biased variance of every channel, in one sweep.
///
/// Sums are taken around a per-channel shift (the channel's first value), which makes
/// the single-sweep `E[d^2] - E[d]^2` as stable as the two-sweep formula.
pub fn statistics(x: &[f32], layout: Layout) -> Statistics {
    debug_assert_eq!(x.len(), layout.len());
    let shift: Vec<f32> = (0..layout.channels)
        .map(|channel| x.get(channel * layout.spatial).copied().unwrap_or(0.0))
        .collect();
    let (sums, sums_of_squares) = channel_sums(x, &shift, x, &shift, layout, None);
    let count = layout.per_channel() as f64;
    let mut mean = Vec::with_capacity(layout.channels);
    let mut variance = Vec::with_capacity(layout.channels);
    for channel in 0..layout.channels {
        let shifted_mean = sums[channel] / count;
        mean.push((f64::from(shift[channel]) + shifted_mean) as f32);
        variance
            .push((sums_of_squares[channel] / count - shifted_mean * shifted_mean).max(0.0) as f32);
    }
    Statistics { mean, variance }
}

/// `1 / sqrt(variance + epsilon)` per channel.
pub fn inverse_std(variance: &[f32], epsilon: f64) -> Vec<f32> {
    variance
        .iter()
        .map(|&var| (1.0 / (f64::from(var) + epsilon).sqrt()) as f32)
        .collect()
}

/// The per-channel affine map of a normalisation: `y = (x - mean[c]) * scale[c] +
/// shift[c]`. Training passes `scale = gamma / std` and `shift = beta`; inference
/// passes the running mean the same way.
#[derive(Clone, Copy, Debug)]
pub struct Affine<'a> {
    pub mean: &'a [f32],
    pub scale: &'a [f32],
    pub shift: &'a [f32],
}

impl Affine<'_> {
    /// `(mean, scale, shift)` of one channel.
    fn of(&self, channel: usize) -> (f32, f32, f32) {
        (self.mean[channel], self.scale[channel], self.shift[channel])
    }
}

/// `y = (x - mean[c]) * scale[c] + shift[c]`, then `max(y, 0)` when `relu` (a
/// BatchNorm followed by a ReLU in one sweep instead of two).
pub fn normalize(x: &[f32], layout: Layout, affine: Affine, relu: bool) -> Vec<f32> {
    debug_assert_eq!(x.len(), layout.len());
    let spatial = layout.spatial;
    // Every value is written: the output is not cleared first.
    collect_rows(layout.rows(), spatial, |first_row, chunk| {
        let input = &x[first_row * spatial..first_row * spatial + chunk.len()];
        for (offset, (out_row, in_row)) in chunk
            .chunks_exact_mut(spatial.max(1))
            .zip(input.chunks_exact(spatial.max(1)))
            .enumerate()
        {
            let map = affine.of(layout.channel_of_row(first_row + offset));
            #[cfg(target_arch = "x86_64")]
            match simd() {
                // SAFETY: the CPU has the instructions (detected by `simd`).
                Some(Simd::Avx512) => unsafe { normalize_row_wide(out_row, in_row, map, relu) },
                // SAFETY: as above.
                Some(Simd::Avx2) => unsafe { normalize_row_avx2(out_row, in_row, map, relu) },
                None => normalize_row(out_row, in_row, map, relu),
            }
            #[cfg(not(target_arch = "x86_64"))]
            normalize_row(out_row, in_row, map, relu);
        }
    })
}

/// One row of [`normalize`] compiled for AVX-512 (element-wise: the same results).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn normalize_row_wide(out: &mut [MaybeUninit<f32>], x: &[f32], map: (f32, f32, f32), relu: bool) {
    normalize_row(out, x, map, relu);
}

/// One row of [`normalize`] compiled for AVX2 (element-wise: the same results).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn normalize_row_avx2(out: &mut [MaybeUninit<f32>], x: &[f32], map: (f32, f32, f32), relu: bool) {
    normalize_row(out, x, map, relu);
}

#[inline(always)]
fn normalize_row(out: &mut [MaybeUninit<f32>], x: &[f32], (m, s, b): (f32, f32, f32), relu: bool) {
    if relu {
        for (out, &value) in out.iter_mut().zip(x) {
            out.write(((value - m) * s + b).max(0.0));
        }
    } else {
        for (out, &value) in out.iter_mut().zip(x) {
            out.write((value - m) * s + b);
        }
    }
}

/// Per-channel sums the backward pass needs.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientSums {
    /// `sum(dy)`: the gradient of beta.
    pub grad: Vec<f64>,
    /// `sum(dy * (x - mean))`: times `1 / std`, the gradient of gamma.
    pub grad_times_centred: Vec<f64>,
}

/// What the backward pass keeps of the forward one.
#[derive(Clone, Copy, Debug)]
pub struct Forward<'a> {
    pub mean: &'a [f32],
    pub inverse_std: &'a [f32],
    pub gamma: &'a [f32],
    /// The affine map when a ReLU followed it ([`normalize`] with `relu`): the output
    /// gradient then passes only where its result was positive.
    pub relu: Option<Affine<'a>>,
}

/// One sweep over `x` and the output gradient `grad`.
pub fn gradient_sums(x: &[f32], grad: &[f32], layout: Layout, forward: &Forward) -> GradientSums {
    debug_assert_eq!(x.len(), layout.len());
    debug_assert_eq!(grad.len(), layout.len());
    let no_shift = vec![0.0f32; layout.channels];
    let (grad_sums, grad_times_centred) =
        channel_sums(grad, &no_shift, x, forward.mean, layout, forward.relu);
    GradientSums {
        grad: grad_sums,
        grad_times_centred,
    }
}

/// Overwrites the output gradient `grad` with the input gradient of training-mode
/// batch norm:
/// `dx = gamma / std * (dy - sum(dy) / M - (x - mean) / std^2 * sum(dy * (x - mean)) / M)`
/// with `M = N * L`.
pub fn input_gradient_in_place(
    x: &[f32],
    grad: &mut [f32],
    layout: Layout,
    forward: &Forward,
    sums: &GradientSums,
) {
    let Forward {
        mean,
        inverse_std,
        gamma,
        relu,
    } = *forward;
    debug_assert_eq!(x.len(), layout.len());
    debug_assert_eq!(grad.len(), layout.len());
    let count = layout.per_channel() as f64;
    let coefficients: Vec<(f32, f32, f32, f32)> = (0..layout.channels)
        .map(|c| {
            let inv_std = f64::from(inverse_std[c]);
            (
                mean[c],
                (f64::from(gamma[c]) * inv_std) as f32,
                (sums.grad[c] / count) as f32,
                (inv_std * inv_std * sums.grad_times_centred[c] / count) as f32,
            )
        })
        .collect();
    let spatial = layout.spatial;
    for_each_row_chunk(grad, spatial, |first_row, chunk| {
        let input = &x[first_row * spatial..first_row * spatial + chunk.len()];
        for (offset, (grad_row, in_row)) in chunk
            .chunks_exact_mut(spatial)
            .zip(input.chunks_exact(spatial))
            .enumerate()
        {
            let channel = layout.channel_of_row(first_row + offset);
            let row = RowGradient {
                coefficients: coefficients[channel],
                relu: relu.map(|affine| affine.of(channel)),
            };
            #[cfg(target_arch = "x86_64")]
            match simd() {
                // SAFETY: the CPU has the instructions (detected by `simd`).
                Some(Simd::Avx512) => unsafe { row.apply_wide(grad_row, in_row) },
                // SAFETY: as above.
                Some(Simd::Avx2) => unsafe { row.apply_avx2(grad_row, in_row) },
                None => row.apply(grad_row, in_row),
            }
            #[cfg(not(target_arch = "x86_64"))]
            row.apply(grad_row, in_row);
        }
    });
}

/// [`input_gradient_in_place`] for one row of one channel.
struct RowGradient {
    /// `(mean, gain, mean of the gradient, weight of the centred input)`.
    coefficients: (f32, f32, f32, f32),
    /// The forward's affine map when a ReLU followed it.
    relu: Option<(f32, f32, f32)>,
}

impl RowGradient {
    /// [`Self::apply`] compiled for AVX-512 (element-wise: the same results).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn apply_wide(&self, grad: &mut [f32], x: &[f32]) {
        self.apply(grad, x);
    }

    /// [`Self::apply`] compiled for AVX2 (element-wise: the same results).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn apply_avx2(&self, grad: &mut [f32], x: &[f32]) {
        self.apply(grad, x);
    }

    #[inline(always)]
    fn apply(&self, grad: &mut [f32], x: &[f32]) {
        let (m, gain, grad_mean, centred_weight) = self.coefficients;
        match self.relu {
            Some((m_relu, s, b)) => {
                for (g, &value) in grad.iter_mut().zip(x) {
                    let passed = if (value - m_relu) * s + b > 0.0 {
                        *g
                    } else {
                        0.0
                    };
                    *g = gain * (passed - grad_mean - (value - m) * centred_weight);
                }
            }
            None => {
                for (g, &value) in grad.iter_mut().zip(x) {
                    *g = gain * (*g - grad_mean - (value - m) * centred_weight);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
