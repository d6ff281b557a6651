//! The direct convolution's register tiles in AVX2 with FMA: 16 registers hold
//! `MR` × 3 accumulators, 3 loaded vectors and one broadcast, so a correlation tile
//! is 3 vectors of 8 positions wide and a weight-gradient tile 3 patch rows.

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
    weight_rows: 2,
}
