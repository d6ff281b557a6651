//! Data-parallel training in one process (`--devices`): replicas stay identical
//! after every step, two replicas on equal shards are exactly one device, and
//! `--devices cpu,cpu` trains to one device's numbers.

mod common;

use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use burn::module::AutodiffModule;
use common::numeric::model_floats;
use common::process::{fer, stderr, stdout};
use common::{fast_config, tiny_dataset, Cpu};
use fer::train::device_split::DeviceSplit;
use fer::train::parallel::{Collective, StepAsk, TimeoutHook, Topology, Watch};
use fer::train::step::{Inner, Trainer};
use fer::train::TrainConfig;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// burn-collective's server is one per backend and process: one test at a time.
static COLLECTIVE: Mutex<()> = Mutex::new(());

/// An LR a float holds exactly, as the all-reduce carries it in the model's floats.
const LR: f64 = 0.0625;

fn deterministic_config() -> TrainConfig {
    let mut config = fast_config(1);
    config.augment.enabled = false;
    config.loss.mixup_alpha = 0.0;
    config
}

fn failing_hook() -> TimeoutHook {
    Arc::new(|message: &str| panic!("a replica waited too long: {message}"))
}

/// Two replicas on threads, started from the same weights, each stepping on the
/// shards `shards(step)` gives it; every replica's floats after every step.
fn two_replicas(
    steps: usize,
    shards: impl Fn(usize, usize) -> Vec<usize> + Send + Sync + 'static,
) -> (Vec<u8>, Vec<Vec<Vec<f32>>>) {
    let config = deterministic_config();
    let dataset = tiny_dataset(96, 16);
    let counts = dataset.train.class_counts();
    let device = Default::default();
    let first = Trainer::<Cpu>::new(&config, &counts, &device).expect("trainer");
    let start = first.model_bytes().expect("bytes");
    let topology = Topology::local(2);
    let watch = Watch::start(2, Duration::from_secs(60), failing_hook());
    let shards = Arc::new(shards);
    let replicas: Vec<_> = (0..2)
        .map(|local| {
            let (config, topology, watch) = (config.clone(), topology.clone(), watch.clone());
            let (start, shards, train) = (start.clone(), shards.clone(), dataset.train.clone());
            thread::spawn(move || {
                let device = Default::default();
                let mut trainer = Trainer::<Cpu>::new(&config, &counts, &device).expect("trainer");
                trainer.load_model_bytes(start).expect("same start");
                let collective =
                    Collective::<Inner<Cpu>>::register(&topology, local, device, watch)
                        .expect("registered");
                let data = DeviceSplit::upload(&train, &device);
                let mut after_each_step = Vec::new();
                for step in 0..steps {
                    let shard = shards(step, local);
                    let mut rng = StdRng::seed_from_u64(step as u64);
                    // Read back, as between nodes: the leader's LR reaches the other.
                    let ask = StepAsk {
                        leader_lr: (local == 0).then_some(LR),
                        stop: false,
                        settled: None,
                    };
                    trainer
                        .step_synced(&data, &shard, &mut rng, &collective, ask)
                        .expect("step");
                    after_each_step.push(model_floats(&trainer.model().valid()));
                }
                collective.finish().expect("finish");
                after_each_step
            })
        })
        .collect();
    let floats = replicas
        .into_iter()
        .map(|r| r.join().expect("replica"))
        .collect();
    (start, floats)
}

#[test]
fn replicas_on_different_shards_stay_identical_after_every_step() {
    let _one_at_a_time = COLLECTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let steps = 3;
    let (start, replicas) = two_replicas(steps, |step, local| {
        let first = (step * 2 + local) * 16;
        (first..first + 16).collect()
    });
    let start_floats = {
        let config = deterministic_config();
        let counts = tiny_dataset(96, 16).train.class_counts();
        let mut trainer = Trainer::<Cpu>::new(&config, &counts, &Default::default()).unwrap();
        trainer.load_model_bytes(start).unwrap();
        model_floats(&trainer.model().valid())
    };
    assert_eq!(replicas[0].len(), steps);
    for (step, (first, second)) in replicas[0].iter().zip(&replicas[1]).enumerate() {
        assert_eq!(first, second, "replicas differ after step {step}");
        assert_ne!(first, &start_floats, "step {step} changed nothing");
    }
}

#[test]
fn two_replicas_on_equal_shards_take_exactly_one_devices_step() {
    let _one_at_a_time = COLLECTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let steps = 2;
    let shard = |step: usize| -> Vec<usize> { (step * 32..step * 32 + 32).collect() };
    let (start, replicas) = two_replicas(steps, move |step, _| shard(step));
    let config = deterministic_config();
    let dataset = tiny_dataset(96, 16);
    let device = Default::default();
    let mut alone = Trainer::<Cpu>::new(&config, &dataset.train.class_counts(), &device).unwrap();
    alone.load_model_bytes(start).unwrap();
    let data = DeviceSplit::upload(&dataset.train, &device);
    for (step, replica) in replicas[0].iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(step as u64);
        alone.step(&data, &shard(step), LR, &mut rng);
        let expected = model_floats(&alone.model().valid());
        let worst = expected
            .iter()
            .zip(replica)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        // The mean of two equal gradients is that gradient, exactly.
        assert!(worst <= 1e-6, "step {step}: differs by {worst}");
    }
}

/// The final train loss and best validation accuracy of a `fer train --headless` run
/// on the bundled sample, read from its output.
fn sample_run(device_flags: &[&str], runs: &std::path::Path) -> (f64, f64) {
    let mut args = vec!["train", "--epochs", "3", "--headless", "--runs-dir"];
    args.push(runs.to_str().expect("utf-8"));
    args.extend_from_slice(device_flags);
    let output = fer(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    let last_epoch = text
        .lines()
        .rfind(|line| line.starts_with("epoch 3/3"))
        .unwrap_or_else(|| panic!("no epoch 3 line in\n{text}"));
    let number_after = |label: &str| -> f64 {
        let rest = &last_epoch[last_epoch.find(label).expect(label) + label.len()..];
        let token = rest.split_whitespace().next().expect("a number");
        token.trim_end_matches('%').parse().expect("a number")
    };
    let best = text
        .lines()
        .find_map(|line| line.strip_prefix("finished after "))
        .and_then(|line| line.split("best val acc ").nth(1))
        .and_then(|rest| rest.split('%').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no best accuracy in\n{text}"));
    (number_after("train loss "), best)
}

/// The stated tolerance (README "Scaling"): the shards' BatchNorm statistics and
/// the second replica's augmentation draws differ from one device's, nothing else.
#[test]
fn two_cpu_replicas_train_to_one_devices_numbers() {
    let _one_at_a_time = COLLECTIVE.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let (loss_one, best_one) = sample_run(&["--device", "cpu"], &dir.path().join("one"));
    let (loss_two, best_two) = sample_run(&["--devices", "cpu,cpu"], &dir.path().join("two"));
    assert!(
        (loss_one - loss_two).abs() <= 0.03 * loss_one,
        "train loss: one device {loss_one}, two replicas {loss_two}"
    );
    assert!(
        (best_one - best_two).abs() <= 5.0,
        "best val acc: one device {best_one}%, two replicas {best_two}%"
    );
}

#[test]
fn devices_that_cannot_share_a_batch_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let output = fer(&[
        "train",
        "--devices",
        "cpu,cpu,cpu",
        "--batch-size",
        "32",
        "--headless",
        "--runs-dir",
        runs.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("must split evenly over the 3 replicas"),
        "{}",
        stderr(&output)
    );
    let mixed = fer(&["train", "--devices", "cpu,wgpu", "--headless"]);
    assert!(!mixed.status.success());
}
