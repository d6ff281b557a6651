//! `fer bench`: training images/s on synthetic batches, printed as one JSON line
//! comparable with `pytorch_reference.py speed`.

use std::time::Instant;

use anyhow::Result;
use rand::{Rng, SeedableRng};

use super::args::BenchArgs;
use fer::data::{Split, IMAGE_PIXELS, NUM_CLASSES};
use fer::device::{self, BackendTask};
use fer::train::step::Trainer;
use fer::train::{TrainConfig, TrainError};

pub fn run(args: BenchArgs) -> Result<()> {
    let device = device::resolve(args.device.parse()?)?;
    let config = TrainConfig {
        model: args.model.clone(),
        batch_size: args.batch,
        augment: fer::train::AugmentConfig { crop: args.size.clamp(1, 48), ..Default::default() },
        ..TrainConfig::default()
    };
    let report = device::dispatch(device, BenchTask { config, steps: args.steps.max(1), warmup: args.warmup })?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

#[derive(serde::Serialize)]
struct BenchReport {
    mode: &'static str,
    framework: &'static str,
    device: String,
    model: String,
    batch: usize,
    size: usize,
    threads: usize,
    steps: usize,
    images_per_s: f64,
    ms_per_step: f64,
}

struct BenchTask {
    config: TrainConfig,
    steps: usize,
    warmup: usize,
}

impl BackendTask for BenchTask {
    type Output = Result<BenchReport, TrainError>;

    fn run<B: burn::tensor::backend::AutodiffBackend>(self, device: B::Device, name: String) -> Self::Output {
        let batch = self.config.batch_size.max(1);
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let mut split = Split::default();
        for _ in 0..batch {
            let pixels: Vec<u8> = (0..IMAGE_PIXELS).map(|_| rng.random()).collect();
            split.push(&pixels, rng.random_range(0..NUM_CLASSES as u8));
        }
        let indices: Vec<usize> = (0..batch).collect();
        let mut trainer = Trainer::<B>::new(&self.config, &split.class_counts(), &device)?;
        for _ in 0..self.warmup {
            trainer.step(&split, &indices, 0.01, &mut rng).loss_sum.into_scalar();
        }
        let started = Instant::now();
        let mut last = None;
        for _ in 0..self.steps {
            last = Some(trainer.step(&split, &indices, 0.01, &mut rng).loss_sum);
        }
        // Reading the last loss waits for every queued kernel (GPU backends are asynchronous).
        if let Some(loss) = last {
            loss.into_scalar();
        }
        let seconds = started.elapsed().as_secs_f64();
        Ok(BenchReport {
            mode: "speed",
            framework: "burn 0.21.0",
            device: name,
            model: self.config.model.clone(),
            batch,
            size: self.config.augment.crop,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            steps: self.steps,
            images_per_s: (batch * self.steps) as f64 / seconds,
            ms_per_step: 1000.0 * seconds / self.steps as f64,
        })
    }
}
