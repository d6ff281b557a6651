//! The register tiles of the direct convolution, written once for each vector width
//! by `register_tiles!`: AVX-512 (16 lanes, 32 registers) and AVX2 with FMA (8 lanes,
//! 16 registers). A tile's accumulators, its loaded vectors and one broadcast value
//! must all fit the register file, so the tile shapes differ with the width.
//!
//! Each instance is only called after `kernels::simd` detected its feature.

/// Defines `correlate` and `weight_gradient` (see the AVX-512 module for their
/// contracts) for one instruction set: `feature` is the `target_feature` string,
/// the intrinsics are that set's unaligned load and store, broadcast, zero and fused
/// multiply-add; a correlation tile is `tile_rows` output channels (`MR`) by
/// `tile_vectors` vectors of positions, a weight-gradient tile `gradient_rows` gradient
/// rows (`GR`, dividing `MR`) by `weight_rows` patch rows.
macro_rules! register_tiles {
    (
        feature: $feature:literal,
        lanes: $lanes:expr,
        load: $load:ident,
        store: $store:ident,
        splat: $splat:ident,
        zero: $zero:ident,
        fmadd: $fmadd:ident,
        tile_rows: $tile_rows:expr,
        tile_vectors: $tile_vectors:expr,
        gradient_rows: $gradient_rows:expr,
        weight_rows: $weight_rows:expr $(,)?
    ) => {
        use super::{Padded, TILE};

        /// Output channels per correlation tile.
        pub(super) const MR: usize = $tile_rows;
        /// Gradient rows per weight-gradient tile.
        const GR: usize = $gradient_rows;
        /// Floats per vector.
        const LANES: usize = $lanes;
        /// Vectors of positions per correlation tile.
        const NR: usize = $tile_vectors;
        /// Positions per correlation tile.
        const STEP: usize = NR * LANES;
        /// Patch rows per weight-gradient tile.
        const KR: usize = $weight_rows;
        /// Positions per weight-gradient pass: the tile's rows of the output gradient
        /// and of the padded input stay in the L1 and L2 caches across one pass.
        const PASS: usize = 1 << 20;
        const _: () = assert!(TILE.is_multiple_of(STEP) && PASS.is_multiple_of(LANES));
        const _: () = assert!(MR.is_multiple_of(GR));

        /// `domain [rows][position] = packed weight × patch matrix` for every tile of
        /// positions (`rows` a multiple of `MR`, `domain` `rows × padded.stride` long).
        pub(super) fn correlate(padded: &Padded, packed: &[f32], domain: &mut [f32], rows: usize) {
            let patch_len = padded.offsets.len();
            assert!(padded.stride.is_multiple_of(TILE) && domain.len() >= rows * padded.stride);
            assert!(packed.len() >= rows * patch_len && rows.is_multiple_of(MR));
            let reach = padded.offsets.iter().max().map_or(0, |&max| max + TILE);
            assert!(padded.values.len() >= padded.stride - TILE + reach);
            // SAFETY: `kernels::simd` detected the feature before any caller got here; the
            // asserts above keep every tile's reads (positions `q..q + TILE` past each offset,
            // `q + TILE <= stride`) and writes (`MR` rows of `domain`) inside the slices.
            unsafe { correlate_wide(padded, packed, domain, rows) }
        }

        #[target_feature(enable = $feature)]
        unsafe fn correlate_wide(padded: &Padded, packed: &[f32], domain: &mut [f32], rows: usize) {
            let patch_len = padded.offsets.len();
            let stride = padded.stride;
            for q in (0..stride).step_by(STEP) {
                for block in 0..rows / MR {
                    // SAFETY: in bounds by the caller's asserts.
                    unsafe {
                        tile(
                            padded.values.as_ptr().add(q),
                            &padded.offsets,
                            packed.as_ptr().add(block * patch_len * MR),
                            domain.as_mut_ptr().add(block * MR * stride + q),
                            stride,
                        );
                    }
                }
            }
        }

        /// One `MR × STEP` block of the output: the whole reduction over patch rows in
        /// registers, then one store.
        #[target_feature(enable = $feature)]
        #[inline]
        unsafe fn tile(
            source: *const f32,
            offsets: &[usize],
            weights: *const f32,
            out: *mut f32,
            out_stride: usize,
        ) {
            let mut sums = [[$zero(); NR]; MR];
            for (k, &offset) in offsets.iter().enumerate() {
                let mut pixels = [$zero(); NR];
                for (j, vector) in pixels.iter_mut().enumerate() {
                    // SAFETY: see `correlate`.
                    *vector = unsafe { $load(source.add(offset + LANES * j)) };
                }
                for (m, row) in sums.iter_mut().enumerate() {
                    // SAFETY: `weights` holds `MR` values per patch row.
                    let weight = $splat(unsafe { *weights.add(k * MR + m) });
                    for (sum, &vector) in row.iter_mut().zip(&pixels) {
                        *sum = $fmadd(weight, vector, *sum);
                    }
                }
            }
            for (m, row) in sums.iter().enumerate() {
                for (j, &sum) in row.iter().enumerate() {
                    // SAFETY: `out` has `MR` rows of at least `STEP` values from here.
                    unsafe { $store(out.add(m * out_stride + LANES * j), sum) };
                }
            }
        }

        /// `sum [channel_out][patch row] += grad [channel_out][position] · patch row
        /// [position]` over every position (`grad`: `rows × padded.stride`, zeros wherever
        /// no output lies).
        pub(super) fn weight_gradient(
            padded: &Padded,
            grad: &[f32],
            channels_out: usize,
            sum: &mut [f32],
        ) {
            let patch_len = padded.offsets.len();
            let rows = channels_out.div_ceil(GR) * GR;
            assert!(padded.stride.is_multiple_of(LANES) && grad.len() >= rows * padded.stride);
            assert!(sum.len() >= channels_out * patch_len);
            let reach = padded.offsets.iter().max().map_or(0, |&max| max + LANES);
            assert!(padded.values.len() >= padded.stride - LANES + reach);
            let mut offsets = padded.offsets.clone();
            // Patch rows past the last read a valid place; their sums are dropped.
            offsets.resize(patch_len.div_ceil(KR) * KR, 0);
            // SAFETY: the CPU has the feature (see `correlate`); the asserts keep the reads of
            // `grad` (`rows` rows) and of the padded input (every offset plus a position below
            // `stride`) in bounds.
            unsafe { weight_gradient_wide(padded, &offsets, grad, [rows, channels_out], sum) }
        }

        #[target_feature(enable = $feature)]
        unsafe fn weight_gradient_wide(
            padded: &Padded,
            offsets: &[usize],
            grad: &[f32],
            [rows, channels_out]: [usize; 2],
            sum: &mut [f32],
        ) {
            let patch_len = padded.offsets.len();
            let stride = padded.stride;
            for start in (0..stride).step_by(PASS) {
                let steps = PASS.min(stride - start) / LANES;
                for block in 0..rows / GR {
                    for (chunk, tap_offsets) in offsets.chunks_exact(KR).enumerate() {
                        // SAFETY: in bounds by the caller's asserts.
                        let tile = unsafe {
                            weight_tile(
                                grad.as_ptr().add(block * GR * stride + start),
                                stride,
                                padded.values.as_ptr().add(start),
                                tap_offsets,
                                steps,
                            )
                        };
                        for (m, values) in tile.iter().enumerate() {
                            let channel = block * GR + m;
                            if channel >= channels_out {
                                continue;
                            }
                            for (j, lanes) in values.iter().enumerate() {
                                let k = chunk * KR + j;
                                if k < patch_len {
                                    sum[channel * patch_len + k] += pairwise_sum(lanes);
                                }
                            }
                        }
                    }
                }
            }
        }

        /// The sum of a tile's lanes, halves added to halves: vector adds, where a sum
        /// from the first lane to the last is a chain of scalar ones.
        #[inline]
        fn pairwise_sum(lanes: &[f32; LANES]) -> f32 {
            let mut values = *lanes;
            let mut width = LANES;
            while width > 1 {
                width /= 2;
                for i in 0..width {
                    values[i] += values[i + width];
                }
            }
            values[0]
        }

        /// Dot products of `GR` gradient rows with `KR` patch rows over `steps` vectors.
        #[target_feature(enable = $feature)]
        #[inline]
        unsafe fn weight_tile(
            grad: *const f32,
            grad_stride: usize,
            source: *const f32,
            offsets: &[usize],
            steps: usize,
        ) -> [[[f32; LANES]; KR]; GR] {
            let mut sums = [[$zero(); KR]; GR];
            let mut taps = [0usize; KR];
            taps.copy_from_slice(&offsets[..KR]);
            for step in 0..steps {
                let q = step * LANES;
                // Like `tile`: the patch vectors loaded once, then one gradient row at a time,
                // so the 24 sums, 6 patch vectors and 1 gradient vector fit the 32 registers.
                let mut pixels = [$zero(); KR];
                for (vector, &tap) in pixels.iter_mut().zip(&taps) {
                    // SAFETY: see `weight_gradient`.
                    *vector = unsafe { $load(source.add(tap + q)) };
                }
                for (m, row) in sums.iter_mut().enumerate() {
                    // SAFETY: see `weight_gradient`.
                    let g = unsafe { $load(grad.add(m * grad_stride + q)) };
                    for (sum, &vector) in row.iter_mut().zip(&pixels) {
                        *sum = $fmadd(g, vector, *sum);
                    }
                }
            }
            let mut out = [[[0.0; LANES]; KR]; GR];
            for (target, row) in out.iter_mut().zip(&sums) {
                for (values, &vector) in target.iter_mut().zip(row) {
                    // SAFETY: `values` holds `LANES` floats.
                    unsafe { $store(values.as_mut_ptr(), vector) };
                }
            }
            out
        }
    };
}
