//! The model zoo: ImageNet-style and CIFAR-style ResNets, VGG with BatchNorm,
//! DenseNet. Every model takes `[B, 1, H, W]` grey images and returns `[B, 7]` logits.
//!
//! Use [`build`] with one of [`model_names`]; the per-family configs are public for
//! anyone who needs a custom depth or width.

pub mod cifar_resnet;
pub mod conv;
pub mod densenet;
pub(crate) mod flex_bridge;
mod join;
mod layers;
pub mod macs;
pub mod norm;
mod registry;
mod residual;
pub mod resnet;
mod table;
pub mod vgg;

pub use layers::{INPUT_CHANNELS, NUM_CLASSES};
pub use norm::Norm;
pub use registry::{build, canonical_name, describe, model_names, Model, UnknownModel};
pub use table::{model_table, parameter_count, trainable_parameter_count};
