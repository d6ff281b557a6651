//! fer: train and evaluate FER2013 facial-expression classifiers with Burn.
//!
//! Layout: `data` (parsing, splits), `model` (the zoo), `train` (engine, schedules,
//! loss, augmentation, checkpoints), `run` (run directory, events, commands),
//! `metrics` (confusion matrix). The engine never touches the terminal.

pub mod data;
pub mod device;
pub mod faces;
pub mod kernels;
pub mod metrics;
pub mod model;
pub mod report;
pub mod run;
pub mod train;
pub mod tui;
