//! Hand-written CPU kernels on plain `f32` slices, for the few operations where burn's
//! CPU backend spends far more time than the arithmetic needs (see `model::norm`).
//! They know nothing about burn: the glue that feeds them tensors lives with the
//! module that uses them.

pub mod augment;
pub mod batch_norm;
pub mod conv;
mod parallel;
pub mod profile;
pub mod residual;

/// Whether this CPU runs AVX-512 (`avx512f`): the kernels compiled for it are chosen at
/// run time, so one binary serves every x86-64 CPU. (std caches the detection.)
pub(crate) fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}
