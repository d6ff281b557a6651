//! `fer bench`: training images/s on synthetic batches, printed as one JSON line
//! comparable with `pytorch_reference.py speed`; `--profile` adds the time of each
//! phase of the step, and of each kind of layer within forward and backward, `--parity` prints per-step losses on real rows instead (see
//! [`super::parity`]).

use std::time::{Duration, Instant};

use anyhow::Result;
use burn::tensor::backend::AutodiffBackend;
use rand::{Rng, SeedableRng};

use super::args::BenchArgs;
use fer::data::{Split, IMAGE_PIXELS, NUM_CLASSES};
use fer::device::{self, BackendTask};
use fer::kernels::profile::{self as kernel_profile, KernelKind};
use fer::train::device_split::DeviceSplit;
use fer::train::step::{Inner, Trainer};
use fer::train::{AugmentConfig, TrainConfig, TrainError};

pub fn run(args: BenchArgs) -> Result<()> {
    let device = device::resolve(args.device.parse()?)?;
    let config = bench_config(&args);
    if args.parity {
        return super::parity::run(&args, config, device);
    }
    let task = BenchTask {
        config,
        steps: args.steps.max(1),
        warmup: args.warmup,
        profile: args.profile,
        lr: args.lr,
    };
    let report = device::dispatch(device, task)?;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// The training configuration a bench runs: the defaults, with the bench's model,
/// batch, crop and seed, and augmentation off with `--no-augment`.
pub fn bench_config(args: &BenchArgs) -> TrainConfig {
    TrainConfig {
        model: args.model.clone(),
        batch_size: args.batch.max(1),
        seed: args.seed,
        augment: AugmentConfig {
            crop: args.size.clamp(1, 48),
            enabled: !args.no_augment,
            ..Default::default()
        },
        ..TrainConfig::default()
    }
}

#[derive(serde::Serialize)]
struct BenchReport {
    mode: &'static str,
    framework: &'static str,
    device: String,
    model: String,
    batch: usize,
    size: usize,
    augment: bool,
    threads: usize,
    steps: usize,
    images_per_s: f64,
    ms_per_step: f64,
    /// With `--profile`: the same steps again, with the device synchronised after
    /// each phase so that each one's time is its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    phases_ms: Option<PhaseTimes>,
}

/// Mean milliseconds per step of each phase.
#[derive(serde::Serialize, Default)]
struct PhaseTimes {
    /// Index gather from the device-resident split, augmentation, targets.
    gather_augment: f64,
    forward: f64,
    backward: f64,
    optimizer: f64,
    /// Reading the step's loss back to the host (what a progress tick costs).
    host_sync: f64,
    /// The sum: one step with every phase waited for.
    total: f64,
    /// The forward and backward phases split by kind of layer.
    by_layer: LayerTimes,
}

/// Mean milliseconds per step by kind of layer, from the CPU kernels' own
/// accounting (zero on backends where they do not run). `other_*` is the rest of
/// the phase: activations, additions, pooling, the classifier, the loss and
/// autodiff's bookkeeping.
#[derive(serde::Serialize, Default)]
struct LayerTimes {
    conv_forward: f64,
    norm_forward: f64,
    other_forward: f64,
    conv_input_gradient: f64,
    conv_weight_gradient: f64,
    norm_backward: f64,
    other_backward: f64,
}

impl LayerTimes {
    /// Splits the forward and backward phase times (ms per step) with the kernels'
    /// seconds over `steps` steps.
    fn split(forward: f64, backward: f64, kernels: &[(KernelKind, f64)], steps: usize) -> Self {
        let ms = |wanted: KernelKind| {
            kernels
                .iter()
                .find(|(kind, _)| *kind == wanted)
                .map_or(0.0, |&(_, seconds)| 1000.0 * seconds / steps as f64)
        };
        let kernel_sum = |backward: bool| -> f64 {
            KernelKind::ALL
                .iter()
                .filter(|kind| kind.is_backward() == backward)
                .map(|&kind| ms(kind))
                .sum()
        };
        Self {
            conv_forward: ms(KernelKind::ConvForward),
            norm_forward: ms(KernelKind::NormForward),
            other_forward: (forward - kernel_sum(false)).max(0.0),
            conv_input_gradient: ms(KernelKind::ConvInputGradient),
            conv_weight_gradient: ms(KernelKind::ConvWeightGradient),
            norm_backward: ms(KernelKind::NormBackward),
            other_backward: (backward - kernel_sum(true)).max(0.0),
        }
    }
}

struct BenchTask {
    config: TrainConfig,
    steps: usize,
    warmup: usize,
    profile: bool,
    lr: f64,
}

impl BackendTask for BenchTask {
    type Output = Result<BenchReport, TrainError>;

    fn run<B: AutodiffBackend>(self, device: B::Device, name: String) -> Self::Output {
        let batch = self.config.batch_size;
        let mut rng = rand::rngs::StdRng::seed_from_u64(0);
        let split = random_split(batch, &mut rng);
        let data = DeviceSplit::<Inner<B>>::upload(&split, &device);
        let indices: Vec<usize> = (0..batch).collect();
        let mut trainer = Trainer::<B>::new(&self.config, &split.class_counts(), &device)?;
        for _ in 0..self.warmup {
            trainer
                .step(&data, &indices, self.lr, &mut rng)
                .loss_sum
                .into_scalar();
        }
        let started = Instant::now();
        let mut last = None;
        for _ in 0..self.steps {
            last = Some(trainer.step(&data, &indices, self.lr, &mut rng).loss_sum);
        }
        // Reading the last loss waits for every queued kernel (GPU backends are asynchronous).
        if let Some(loss) = last {
            loss.into_scalar();
        }
        let seconds = started.elapsed().as_secs_f64();
        let phases_ms = if self.profile {
            Some(profile(
                &mut trainer,
                &data,
                &indices,
                self.steps,
                self.lr,
                &mut rng,
            )?)
        } else {
            None
        };
        Ok(BenchReport {
            mode: "speed",
            framework: "burn 0.21.0",
            device: name,
            model: self.config.model.clone(),
            batch,
            size: self.config.augment.crop,
            augment: self.config.augment.enabled,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            steps: self.steps,
            images_per_s: (batch * self.steps) as f64 / seconds,
            ms_per_step: 1000.0 * seconds / self.steps as f64,
            phases_ms,
        })
    }
}

/// `count` random faces with random labels (speed does not depend on the pixels).
fn random_split(count: usize, rng: &mut impl Rng) -> Split {
    let mut split = Split::default();
    for _ in 0..count {
        let pixels: Vec<u8> = (0..IMAGE_PIXELS).map(|_| rng.random()).collect();
        split.push(&pixels, rng.random_range(0..NUM_CLASSES as u8));
    }
    split
}

/// Runs `steps` steps phase by phase, waiting for the device after each phase.
fn profile<B: AutodiffBackend>(
    trainer: &mut Trainer<B>,
    data: &DeviceSplit<Inner<B>>,
    indices: &[usize],
    steps: usize,
    lr: f64,
    rng: &mut impl Rng,
) -> Result<PhaseTimes, TrainError> {
    let device = trainer.device().clone();
    let sync = || B::sync(&device).map_err(|e| TrainError::Device(e.to_string()));
    let mut spent = [Duration::ZERO; 5];
    kernel_profile::set_enabled(true);
    for _ in 0..steps {
        let clock = Instant::now();
        let prepared = trainer.prepare(data, indices, rng);
        sync()?;
        spent[0] += clock.elapsed();
        let clock = Instant::now();
        let pass = trainer.forward(prepared);
        sync()?;
        spent[1] += clock.elapsed();
        let clock = Instant::now();
        let grads = trainer.backward(pass.loss);
        sync()?;
        spent[2] += clock.elapsed();
        let clock = Instant::now();
        trainer.update(lr, grads);
        sync()?;
        spent[3] += clock.elapsed();
        let clock = Instant::now();
        pass.output.loss_sum.into_scalar();
        spent[4] += clock.elapsed();
    }
    let kernels = kernel_profile::seconds_by_kind();
    kernel_profile::set_enabled(false);
    let ms = |phase: Duration| 1000.0 * phase.as_secs_f64() / steps as f64;
    Ok(PhaseTimes {
        by_layer: LayerTimes::split(ms(spent[1]), ms(spent[2]), &kernels, steps),
        gather_augment: ms(spent[0]),
        forward: ms(spent[1]),
        backward: ms(spent[2]),
        optimizer: ms(spent[3]),
        host_sync: ms(spent[4]),
        total: ms(spent.iter().sum()),
    })
}
