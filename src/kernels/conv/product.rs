//! Matrix products through the `gemm` crate, on row-major slices.

use gemm::{gemm, Parallelism};

/// How an operand is stored: as the row-major matrix the product reads, or as the
/// row-major matrix of its transpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stored {
    AsIs,
    Transposed,
}

/// A matrix with `columns` columns, as gemm's (row, column) strides when stored so.
fn strides(columns: usize, rows: usize, stored: Stored) -> (isize, isize) {
    match stored {
        Stored::AsIs => (columns as isize, 1),
        Stored::Transposed => (1, rows as isize),
    }
}

/// `out (m x n) = [out +] lhs (m x k) * rhs (k x n)`, `out` row-major, single-threaded:
/// the callers split the batch over the cores instead.
pub(super) fn multiply(
    [m, n, k]: [usize; 3],
    (out, accumulate): (&mut [f32], bool),
    (lhs, lhs_stored): (&[f32], Stored),
    (rhs, rhs_stored): (&[f32], Stored),
) {
    assert!(out.len() >= m * n && lhs.len() >= m * k && rhs.len() >= k * n);
    let (lhs_row, lhs_column) = strides(k, m, lhs_stored);
    let (rhs_row, rhs_column) = strides(n, k, rhs_stored);
    // SAFETY: the three slices hold at least the m x n, m x k and k x n elements the
    // strides address (asserted above; every operand is dense row-major or its
    // transpose), and `out` is exclusively borrowed.
    unsafe {
        gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_column,
            lhs_row,
            rhs.as_ptr(),
            rhs_column,
            rhs_row,
            1.0,
            1.0,
            false,
            false,
            false,
            Parallelism::None,
        );
    }
}
