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
    watch: impl FnMut(&Event, &mpsc::Sender<Command>),
) -> (Result<Outcome, TrainError>, Vec<Event>) {
    let setup = |setup: &mut EngineSetup| setup.resume = resume;
    train_with(run, config, dataset, setup, queued, watch)
}

/// `train_watching` with the engine's setup adjusted by `adjust` (where a test
/// sets what a `fer` session decides: waiting on divergence, the final retry).
pub fn train_with(
    run: &RunDir,
    config: TrainConfig,
    dataset: Dataset,
    adjust: impl FnOnce(&mut EngineSetup),
    queued: &[Command],
    mut watch: impl FnMut(&Event, &mpsc::Sender<Command>),
) -> (Result<Outcome, TrainError>, Vec<Event>) {
    let (event_sender, events) = mpsc::channel();
    let (command_sender, command_receiver) = mpsc::channel();
    for command in queued {
        command_sender.send(command.clone()).expect("queue command");
    }
    let mut setup = EngineSetup::new(
        config,
        std::sync::Arc::new(dataset),
        run.clone(),
        "cpu".into(),
        // The queue file of the runs directory the run is in, as `fer train` gives it.
        fer::run::RunQueue::in_dir(run.path().parent().expect("runs have a parent")),
    );
    adjust(&mut setup);
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

/// A disk that refuses writes on demand: the first `n` writes of a file (by
/// name: `last.ckpt`, `metrics.csv`, `events.jsonl`…) succeed, the next `m` fail
/// with "No space left on device", then it takes them again.
#[derive(Debug, Default)]
pub struct FlakyDisk {
    rules: std::sync::Mutex<Vec<FlakyRule>>,
}

#[derive(Debug)]
struct FlakyRule {
    name: String,
    pass_first: usize,
    then_fail: usize,
}

impl FlakyDisk {
    pub fn new() -> std::sync::Arc<Self> {
        std::sync::Arc::new(Self::default())
    }

    /// After `pass_first` writes of `name`, fail the next `then_fail` (`usize::MAX`: all).
    pub fn fail(&self, name: &str, pass_first: usize, then_fail: usize) {
        self.rules.lock().unwrap().push(FlakyRule {
            name: name.into(),
            pass_first,
            then_fail,
        });
    }

    fn refuses(&self, path: &Path) -> std::io::Result<()> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let mut rules = self.rules.lock().unwrap();
        let Some(rule) = rules.iter_mut().find(|rule| rule.name == name) else {
            return Ok(());
        };
        if rule.pass_first > 0 {
            rule.pass_first -= 1;
            return Ok(());
        }
        if rule.then_fail == 0 {
            return Ok(());
        }
        rule.then_fail = rule.then_fail.saturating_sub(1);
        Err(std::io::Error::from_raw_os_error(28))
    }
}

impl fer::run::Storage for FlakyDisk {
    fn replace(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        self.refuses(path)?;
        fer::run::Disk.replace(path, bytes)
    }

    fn append(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        self.refuses(path)?;
        fer::run::Disk.append(path, bytes)
    }
}
