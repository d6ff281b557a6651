//! `fer bench --parity`: the same training steps on any device, for comparing
//! devices. The initial weights are made on the CPU (each backend has its own random
//! generator) and loaded on the device; the batches are consecutive real rows of the
//! training split; every random draw is seeded. One JSON line with each step's loss.

use std::time::Instant;

use anyhow::{Context, Result};
use burn::backend::Flex;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ElementConversion;

use super::args::BenchArgs;
use super::{load_dataset, UserError};
use fer::data::Split;
use fer::device::{self, BackendTask, Device};
use fer::train::device_split::DeviceSplit;
use fer::train::random::step_rng;
use fer::train::step::{Inner, Trainer};
use fer::train::{TrainConfig, TrainError};

pub fn run(args: &BenchArgs, config: TrainConfig, device: Device) -> Result<()> {
    let dataset = load_dataset(args.data.as_deref(), false, config.seed)?;
    if dataset.train.len() < config.batch_size {
        return Err(UserError(format!(
            "--parity needs at least one batch of training rows: {} has {}",
            dataset.source,
            dataset.train.len()
        ))
        .into());
    }
    let weights = initial_weights(&config)?;
    let task = ParityTask {
        steps: args.steps.max(1),
        lr: args.lr,
        config,
        weights,
        rows: dataset.train,
        source: dataset.source,
    };
    let report = device::dispatch(device, task)?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// The model's weights as built on the CPU from the seed.
fn initial_weights(config: &TrainConfig) -> Result<Vec<u8>> {
    let cpu = Default::default();
    Flex::seed(&cpu, config.seed);
    let model =
        fer::model::build::<Flex>(&config.model, &cpu).map_err(|e| UserError(e.to_string()))?;
    fer::train::model_bytes(&model).context("encoding the initial weights")
}

#[derive(serde::Serialize)]
struct ParityReport {
    mode: &'static str,
    framework: &'static str,
    device: String,
    model: String,
    data: String,
    batch: usize,
    size: usize,
    augment: bool,
    seed: u64,
    lr: f64,
    steps: usize,
    /// Mean training loss of each step's batch, before that step's update.
    losses: Vec<f64>,
    seconds: f64,
}

struct ParityTask {
    config: TrainConfig,
    steps: usize,
    lr: f64,
    weights: Vec<u8>,
    rows: Split,
    source: String,
}

impl BackendTask for ParityTask {
    type Output = Result<ParityReport, TrainError>;

    fn run<B: AutodiffBackend>(self, device: B::Device, name: String) -> Self::Output {
        let batch = self.config.batch_size;
        let mut trainer = Trainer::<B>::new(&self.config, &self.rows.class_counts(), &device)?;
        trainer.load_model_bytes(self.weights)?;
        let data = DeviceSplit::<Inner<B>>::upload(&self.rows, &device);
        let started = Instant::now();
        let mut losses = Vec::with_capacity(self.steps);
        for step in 0..self.steps {
            let indices: Vec<usize> = (step * batch..(step + 1) * batch)
                .map(|row| row % data.len())
                .collect();
            let mut rng = step_rng(self.config.seed, 1, step);
            let output = trainer.step(&data, &indices, self.lr, &mut rng);
            losses.push(output.loss_sum.into_scalar().elem::<f64>() / batch as f64);
        }
        Ok(ParityReport {
            mode: "parity",
            framework: "burn 0.21.0",
            device: name,
            model: self.config.model.clone(),
            data: self.source,
            batch,
            size: self.config.augment.crop,
            augment: self.config.augment.enabled,
            seed: self.config.seed,
            lr: self.lr,
            steps: self.steps,
            losses,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}
