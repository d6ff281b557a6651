//! The direct convolution's register tiles in AVX-512: 8 output channels × 3 vectors of
//! 16 positions (24 accumulators; each loaded vector feeds 8 multiply-adds, where 4 × 6
//! streamed twice the bytes from L2 per multiply-add and ran 8-14% slower), and 4
//! gradient rows × 6 patch rows per weight-gradient tile.

use std::arch::x86_64::{
    _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
};

register_tiles! {
    feature: "avx512f",
    lanes: 16,
    load: _mm512_loadu_ps,
    store: _mm512_storeu_ps,
    splat: _mm512_set1_ps,
    zero: _mm512_setzero_ps,
    fmadd: _mm512_fmadd_ps,
    tile_rows: 8,
    tile_vectors: 3,
    gradient_rows: 4,
    weight_rows: 6,
}
