//! Hand-written CPU kernels on plain `f32` slices, for the few operations where burn's
//! CPU backend spends far more time than the arithmetic needs (see `model::norm`).
//! They know nothing about burn: the glue that feeds them tensors lives with the
//! module that uses them.

pub mod batch_norm;
pub mod conv;
mod parallel;
pub mod profile;
