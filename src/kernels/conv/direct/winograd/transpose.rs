//! Matrix transposes between the images' `[channel][position]` layout and the
//! transforms' `[position][channel]`, 16×16 blocks at a time in registers.

use std::arch::x86_64::{
    __m512, __mmask16, _mm512_castpd_ps, _mm512_castps_pd, _mm512_mask_storeu_ps,
    _mm512_maskz_loadu_ps, _mm512_setzero_ps, _mm512_shuffle_f32x4, _mm512_unpackhi_pd,
    _mm512_unpackhi_ps, _mm512_unpacklo_pd, _mm512_unpacklo_ps,
};

const BLOCK: usize = 16;

/// A matrix of `f32` in memory, its rows `stride` apart.
#[derive(Clone, Copy)]
pub(super) struct Strided<P> {
    pub at: P,
    pub stride: usize,
}

/// `target_row(j)[i] = source[i][j]` for `i < rows`, `j < columns`.
///
/// # Safety
/// The caller may read `source` and write `rows` values from each `target_row(j)` at
/// every index the sizes name; AVX-512.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn transpose(
    source: Strided<*const f32>,
    (rows, columns): (usize, usize),
    target_row: impl Fn(usize) -> *mut f32,
) {
    for i in (0..rows).step_by(BLOCK) {
        for j in (0..columns).step_by(BLOCK) {
            block(
                (source.at.add(i * source.stride + j), source.stride),
                (BLOCK.min(rows - i), BLOCK.min(columns - j)),
                |k| target_row(j + k).add(i),
            );
        }
    }
}

/// One block of up to 16×16 (masked loads and stores at the edges): unpacks of pairs
/// of rows, then of pairs of pairs, then two 128-bit lane shuffles.
#[target_feature(enable = "avx512f")]
unsafe fn block(
    (source, source_stride): (*const f32, usize),
    (rows, columns): (usize, usize),
    target_row: impl Fn(usize) -> *mut f32,
) {
    let (row_mask, column_mask) = (lanes(rows), lanes(columns));
    let r: [__m512; BLOCK] = std::array::from_fn(|i| {
        if i < rows {
            _mm512_maskz_loadu_ps(column_mask, source.add(i * source_stride))
        } else {
            _mm512_setzero_ps()
        }
    });
    let t: [__m512; BLOCK] = std::array::from_fn(|k| {
        let (pair, high) = (k / 2 * 2, k % 2 == 1);
        if high {
            _mm512_unpackhi_ps(r[pair], r[pair + 1])
        } else {
            _mm512_unpacklo_ps(r[pair], r[pair + 1])
        }
    });
    // t[4q + 0..4] hold rows 4q..4q+4 interleaved by two; pair them by four.
    let u: [__m512; BLOCK] = std::array::from_fn(|k| {
        let (quad, which) = (k / 4 * 4, k % 4);
        let (a, b) = (t[quad + which / 2], t[quad + which / 2 + 2]);
        let (a, b) = (_mm512_castps_pd(a), _mm512_castps_pd(b));
        _mm512_castpd_ps(if which % 2 == 0 {
            _mm512_unpacklo_pd(a, b)
        } else {
            _mm512_unpackhi_pd(a, b)
        })
    });
    // u[4q + c] holds column c (of each 128-bit lane) of rows 4q..4q+4.
    let v: [__m512; BLOCK] = std::array::from_fn(|k| {
        let (half, column) = (k / 8 * 8, k % 4);
        let (a, b) = (u[half + column], u[half + column + 4]);
        if k % 8 < 4 {
            _mm512_shuffle_f32x4::<0x88>(a, b)
        } else {
            _mm512_shuffle_f32x4::<0xdd>(a, b)
        }
    });
    for (k, row) in std::array::from_fn::<_, BLOCK, _>(|k| {
        let (a, b) = (v[k % 8], v[k % 8 + 8]);
        if k < 8 {
            _mm512_shuffle_f32x4::<0x88>(a, b)
        } else {
            _mm512_shuffle_f32x4::<0xdd>(a, b)
        }
    })
    .into_iter()
    .enumerate()
    .take(columns)
    {
        _mm512_mask_storeu_ps(target_row(k), row_mask, row);
    }
}

/// The mask of the first `count` (≤ 16) lanes.
fn lanes(count: usize) -> __mmask16 {
    u16::try_from((1u32 << count) - 1).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_every_size_with_blocks_and_edges() {
        if !std::arch::is_x86_feature_detected!("avx512f") {
            return;
        }
        for (rows, columns) in [(16, 16), (32, 48), (17, 33), (5, 40), (64, 3), (1, 1)] {
            let (source_stride, target_stride) = (columns + 3, rows + 5);
            let source: Vec<f32> = (0..rows * source_stride).map(|v| v as f32).collect();
            let mut target = vec![-1.0f32; columns * target_stride];
            // SAFETY: both buffers hold every index the sizes and strides name.
            unsafe {
                let at = target.as_mut_ptr();
                transpose(
                    Strided {
                        at: source.as_ptr(),
                        stride: source_stride,
                    },
                    (rows, columns),
                    |j| at.add(j * target_stride),
                );
            }
            for i in 0..rows {
                for j in 0..columns {
                    assert_eq!(
                        target[j * target_stride + i],
                        source[i * source_stride + j],
                        "{rows}×{columns} [{i}][{j}]"
                    );
                }
            }
            let untouched = (0..columns).all(|j| {
                target[j * target_stride + rows..][..5]
                    .iter()
                    .all(|&v| v == -1.0)
            });
            assert!(untouched, "{rows}×{columns}: wrote past the rows");
        }
    }
}
