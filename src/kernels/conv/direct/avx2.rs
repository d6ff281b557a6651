//! The direct convolution's register tiles in AVX2 with FMA. 16 registers must hold
//! the accumulators, the loaded vectors and one broadcast: 6 output channels × 2
//! vectors of 8 positions (12 + 2 + 1; 4 × 3 spilled one accumulator to the stack,
//! and 4 × 2 kept too few sums in flight to hide the FMA latency), and 6 gradient rows
//! × 2 patch rows for the weight gradient.

use std::arch::x86_64::{
    _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_set1_ps, _mm256_setzero_ps, _mm256_storeu_ps,
};

register_tiles! {
    feature: "avx2,fma",
    lanes: 8,
    load: _mm256_loadu_ps,
    store: _mm256_storeu_ps,
    splat: _mm256_set1_ps,
    zero: _mm256_setzero_ps,
    fmadd: _mm256_fmadd_ps,
    tile_rows: 6,
    tile_vectors: 2,
    gradient_rows: 6,
    weight_rows: 2,
}
