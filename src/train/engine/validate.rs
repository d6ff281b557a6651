//! What an engine refuses to start with: a configuration, data or topology that
//! cannot train, named before any device work.

use crate::data::Dataset;
use crate::train::config::TrainConfig;
use crate::train::parallel::Topology;
use crate::train::TrainError;

pub(super) fn validate_topology(
    topology: &Topology,
    config: &TrainConfig,
    devices: usize,
) -> Result<(), TrainError> {
    if devices != topology.local_devices {
        return Err(TrainError::Config(format!(
            "{devices} devices given for {} replicas",
            topology.local_devices
        )));
    }
    if topology.nodes.is_some() && config.minutes.is_some() {
        return Err(TrainError::Config(
            "--minutes cannot be used with --nodes: each node would fit the budget on its own clock and they would disagree on the last epoch; give --epochs".into(),
        ));
    }
    topology.validate(config.batch_size)
}

pub(super) fn validate_config(config: &TrainConfig, dataset: &Dataset) -> Result<(), TrainError> {
    let fail = |message: &str| Err(TrainError::Config(message.to_string()));
    if dataset.train.is_empty() {
        return fail("the training split is empty");
    }
    if dataset.val.is_empty() {
        return fail("the validation split is empty");
    }
    if config.batch_size == 0 || config.eval_batch_size == 0 {
        return fail("batch sizes must be at least 1");
    }
    if config.epochs == 0 {
        return fail("--epochs must be at least 1");
    }
    if !(1..=crate::data::IMAGE_SIDE).contains(&config.augment.crop) {
        return fail("the crop size must be between 1 and 48");
    }
    let augment = &config.augment;
    let fractions = [
        augment.erasing_probability,
        augment.brightness,
        augment.contrast,
    ];
    if !fractions.iter().all(|value| (0.0..=1.0).contains(value)) {
        return fail("erasing, brightness and contrast (--erasing, --jitter) must be from 0 to 1");
    }
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return fail("--lr must be a positive number");
    }
    if config
        .minutes
        .is_some_and(|minutes| !(minutes.is_finite() && minutes > 0.0))
    {
        return fail("--minutes must be a positive number");
    }
    Ok(())
}
