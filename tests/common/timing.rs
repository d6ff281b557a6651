//! Timing helpers for the `#[ignore]`d benchmark tests.

use std::time::Instant;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

pub const RUNS: usize = 7;

/// Median wall time of `RUNS` calls after one warm-up, in milliseconds.
pub fn median_ms(mut call: impl FnMut()) -> f64 {
    call();
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            call();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

pub fn report(what: &str, milliseconds: f64) {
    println!("{what:<62} {milliseconds:>9.2} ms");
}

/// Forces lazy work to finish (flex is eager, but reading one value keeps the
/// optimiser from discarding the result).
pub fn touch<B: Backend, const D: usize>(tensor: Tensor<B, D>) {
    let _ = tensor.sum().into_scalar();
}
