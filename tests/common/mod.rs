//! Helpers shared by the integration tests: small real data and one-call runs.
#![allow(dead_code)]

pub mod numeric;
pub mod process;
pub mod timing;

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use burn::backend::{Autodiff, Flex};
use fer::data::{Dataset, Split};
use fer::run::{Command, Event, RunDir};
use fer::train::checkpoint::CheckpointFile;
use fer::train::{Engine, EngineIo, EngineSetup, Outcome, TrainConfig, TrainError, Tta};

pub type Cpu = Autodiff<Flex>;

/// The first `count` images of `split`.
pub fn head(split: &Split, count: usize) -> Split {
    let count = count.min(split.len());
    let mut out = Split::default();
    for index in 0..count {
        out.push(split.image(index), split.labels[index]);
    }
    out
}

/// A few hundred real faces from the bundled sample.
pub fn tiny_dataset(train: usize, val: usize) -> Dataset {
    let sample = fer::data::bundled_sample().expect("the bundled sample loads");
    Dataset {
        source: "bundled sample (test subset)".into(),
        train: head(&sample.train, train),
        val: head(&sample.val, val),
        test: head(&sample.val, 16),
        ..Dataset::default()
    }
}

/// A fast configuration: resnet8, no TTA, small batches.
pub fn fast_config(epochs: usize) -> TrainConfig {
    TrainConfig {
        model: "resnet8".into(),
        epochs,
        batch_size: 32,
        eval_batch_size: 64,
        tta: Tta::None,
        lr: 0.05,
        progress_interval_s: 0.0,
        ..TrainConfig::default()
    }
}

/// Writes `config.ron` into a fresh run directory under `root`.
pub fn new_run(root: &Path, config: &TrainConfig) -> RunDir {
    let run = RunDir::create(root, &config.model).expect("run directory");
    let text = ron::ser::to_string_pretty(config, ron::ser::PrettyConfig::default()).expect("ron");
    std::fs::write(run.config_path(), text).expect("config.ron");
    run
}

/// Runs the engine with `commands` queued before the first step.
pub fn train(
    run: &RunDir,
    config: TrainConfig,
    dataset: Dataset,
    resume: Option<CheckpointFile>,
    commands: &[Command],
) -> (Result<Outcome, TrainError>, Vec<Event>) {
    train_watching(run, config, dataset, resume, commands, |_, _| {})
}

/// Runs the engine on its own thread; `watch` sees every event as it comes and may
/// send commands; `queued` commands apply before the first step.
pub fn train_watching(
    run: &RunDir,
    config: TrainConfig,
    dataset: Dataset,
    resume: Option<CheckpointFile>,
    queued: &[Command],
    mut watch: impl FnMut(&Event, &mpsc::Sender<Command>),
) -> (Result<Outcome, TrainError>, Vec<Event>) {
    let (event_sender, events) = mpsc::channel();
    let (command_sender, command_receiver) = mpsc::channel();
    for command in queued {
        command_sender.send(command.clone()).expect("queue command");
    }
    let setup = EngineSetup {
        config,
        dataset: std::sync::Arc::new(dataset),
        run: run.clone(),
        resume,
        device_name: "cpu".into(),
        // The queue file of the runs directory the run is in, as `fer train` gives it.
        queue: fer::run::RunQueue::in_dir(run.path().parent().expect("runs have a parent")),
    };
    let io = EngineIo {
        events: event_sender,
        commands: command_receiver,
    };
    let engine = Engine::<Cpu>::new(setup, io, Default::default());
    let engine = match engine {
        Ok(engine) => engine,
        Err(error) => return (Err(error), Vec::new()),
    };
    let handle = std::thread::spawn(move || {
        let mut engine = engine;
        engine.run()
    });
    let mut seen = Vec::new();
    for event in events {
        watch(&event, &command_sender);
        seen.push(event);
    }
    (handle.join().expect("engine thread"), seen)
}

pub fn shared_data_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/fer2013/fer2013.csv.gz")
}

/// The checkpoint's predictions on `split` (weights compared through what they compute:
/// the serialised records also carry random parameter ids).
pub fn probabilities(checkpoint: &CheckpointFile, split: &Split) -> Vec<[f32; 7]> {
    fer::train::evaluate::evaluate_checkpoint::<Flex>(
        &checkpoint.state.config,
        checkpoint.model.clone(),
        split,
        &Default::default(),
    )
    .expect("checkpoint evaluates")
    .probabilities
}
