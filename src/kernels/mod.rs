//! Hand-written CPU kernels on plain `f32` slices, for the few operations where burn's
//! CPU backend spends far more time than the arithmetic needs (see `model::norm`).
//! They know nothing about burn: the glue that feeds them tensors lives with the
//! module that uses them.

pub mod augment;
pub mod batch_norm;
mod cache;
pub mod conv;
mod parallel;
pub mod profile;
pub mod residual;
pub mod sgd;

/// The widest vector instructions the kernels have code for on this CPU, detected at
/// run time so that one binary serves every x86-64 CPU; `None` takes the portable code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Simd {
    /// `avx512f`: 16 floats a register, 32 registers.
    Avx512,
    /// `avx2` with `fma`: 8 floats a register, 16 registers.
    Avx2,
}

/// [`Simd`] of this CPU (std caches the detection); tests may narrow it
/// ([`testing::with_each_simd`]).
pub(crate) fn simd() -> Option<Simd> {
    #[cfg(test)]
    if let Some(forced) = testing::forced() {
        return forced;
    }
    detected_simd()
}

fn detected_simd() -> Option<Simd> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Some(Simd::Avx512);
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Some(Simd::Avx2);
        }
    }
    None
}

#[cfg(test)]
pub(crate) mod testing {
    //! Runs kernels with each instruction set this CPU has, narrower ones included.
    //!
    //! The choice is forced on the calling thread only, so tests running beside the
    //! forcing one are untouched. A convolution reads its choice on the calling thread
    //! and hands it to its workers; BatchNorm's workers read their own (the detected
    //! one), which is why its tests call the sums on the test thread.

    use std::cell::Cell;

    use super::{detected_simd, Simd};

    std::thread_local! {
        static FORCED: Cell<Option<Option<Simd>>> = const { Cell::new(None) };
    }

    pub(crate) fn forced() -> Option<Option<Simd>> {
        FORCED.get()
    }

    /// The choices this CPU can run: portable, then each detected width and below.
    pub(crate) fn choices() -> Vec<Option<Simd>> {
        match detected_simd() {
            None => vec![None],
            Some(Simd::Avx2) => vec![None, Some(Simd::Avx2)],
            Some(Simd::Avx512) => vec![None, Some(Simd::Avx2), Some(Simd::Avx512)],
        }
    }

    /// Runs `body` once for each of [`choices`], with that choice forced on this thread.
    pub(crate) fn with_each_simd(mut body: impl FnMut(Option<Simd>)) {
        for choice in choices() {
            FORCED.set(Some(choice));
            body(choice);
        }
        FORCED.set(None);
    }
}
