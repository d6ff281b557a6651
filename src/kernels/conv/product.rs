//! Matrix products through the `gemm` crate, on row-major slices.

use gemm::{gemm, Parallelism};

/// A row-major `rows x columns` matrix (or its transpose) as gemm's strides.
#[derive(Clone, Copy)]
pub(super) struct Matrix {
    row_stride: isize,
    column_stride: isize,
}

/// A row-major matrix with `columns` columns.
pub(super) const fn row_major(columns: usize) -> Matrix {
    Matrix {
        row_stride: columns as isize,
        column_stride: 1,
    }
}

/// The transpose of a row-major matrix with `columns` columns.
pub(super) const fn transposed(columns: usize) -> Matrix {
    Matrix {
        row_stride: 1,
        column_stride: columns as isize,
    }
}

/// `out (m x n) = [out +] lhs (m x k) * rhs (k x n)`, single-threaded: the callers
/// split the batch over the cores instead. `layouts` are those of out, lhs and rhs.
pub(super) fn multiply(
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
