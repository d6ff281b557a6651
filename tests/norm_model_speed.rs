//! Whole-model training throughput on `Autodiff<Flex>` (all `#[ignore]`d; run in release):
//!
//! ```text
//! cargo test --release --test norm_model_speed -- --ignored --nocapture --test-threads 1
//! ```
//!
//! One step = forward on a random `[64, 1, 40, 40]` batch, cross-entropy, backward,
//! `GradientsParams::from_grads` and an SGD (Nesterov, weight decay) update, as the
//! trainer does. Prints images per second and where the time of a step goes.

use std::time::{Duration, Instant};

use burn::backend::{Autodiff, Flex};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, Optimizer, SgdConfig};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Distribution, Int, Tensor};
use fer::model::{build, NUM_CLASSES};

type Train = Autodiff<Flex>;

const BATCH: usize = 64;
const SIDE: usize = 40;

/// CPU time this process has used so far (user + system, all threads), read from
/// `/proc/self/stat`; `None` where that file does not exist. On a shared machine it
/// shows what a step costs when wall time is inflated by other processes.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and
    // 13th of those, in clock ticks (100 per second on Linux).
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

#[derive(Default)]
struct Phases {
    forward: Duration,
    backward: Duration,
    update: Duration,
}

fn time_training(name: &str, steps: usize) {
    let device = Default::default();
    let mut model = match build::<Train>(name, &device) {
        Ok(model) => model,
        Err(error) => panic!("{error}"),
    };
    let momentum = MomentumConfig::new()
        .with_momentum(0.9)
        .with_dampening(0.0)
        .with_nesterov(true);
    let mut optimizer = SgdConfig::new()
        .with_momentum(Some(momentum))
        .with_weight_decay(Some(WeightDecayConfig::new(5e-4)))
        .init();
    let images = Tensor::<Train, 4>::random([BATCH, 1, SIDE, SIDE], Distribution::Default, &device);
    let labels = Tensor::<Train, 1, Int>::from_ints(
        (0..BATCH as i32)
            .map(|i| i % NUM_CLASSES as i32)
            .collect::<Vec<_>>()
            .as_slice(),
        &device,
    );
    let targets = labels.one_hot::<2>(NUM_CLASSES).float();

    let mut phases = Phases::default();
    let mut cpu_start = None;
    // The first step (allocations, lazy init) is not timed.
    for step in 0..=steps {
        if step == 1 {
            cpu_start = process_cpu_seconds();
        }
        let start = Instant::now();
        let logits = model.forward(images.clone());
        let loss = (log_softmax(logits, 1) * targets.clone())
            .sum_dim(1)
            .mean()
            .neg();
        let _ = loss.clone().into_scalar();
        let forward_done = Instant::now();
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let backward_done = Instant::now();
        model = optimizer.step(0.01, model, grads);
        let update_done = Instant::now();
        if step > 0 {
            phases.forward += forward_done - start;
            phases.backward += backward_done - forward_done;
            phases.update += update_done - backward_done;
        }
    }
    let cpu_per_step = match (cpu_start, process_cpu_seconds()) {
        (Some(start), Some(end)) => format!("{:.0} ms", (end - start) * 1e3 / steps as f64),
        _ => "unknown".to_string(),
    };
    let total = phases.forward + phases.backward + phases.update;
    let per_step_ms = |d: Duration| d.as_secs_f64() * 1e3 / steps as f64;
    println!(
        "{name:<10} batch {BATCH}: {:>7.1} img/s  step {:>8.1} ms (forward {:.1}, backward {:.1}, update {:.1}), CPU time {cpu_per_step} per step, over {steps} steps",
        (BATCH * steps) as f64 / total.as_secs_f64(),
        per_step_ms(total),
        per_step_ms(phases.forward),
        per_step_ms(phases.backward),
        per_step_ms(phases.update),
    );
}

#[test]
#[ignore = "benchmark"]
fn resnet8_training_step() {
    time_training("resnet8", 5);
}

#[test]
#[ignore = "benchmark"]
fn resnet20_training_step() {
    time_training("resnet20", 5);
}

#[test]
#[ignore = "benchmark"]
fn resnet18_training_step() {
    time_training("resnet18", 2);
}
