//! `fer train`: resolve the configuration, load the data, then start a session.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;

use super::args::{OptimizerName, TrainArgs};
use super::session::{create_run, Session};
use super::{load_dataset, UserError};
use fer::device;
use fer::run::{CheckpointKind, RunDir};
use fer::train::checkpoint::CheckpointFile;
use fer::train::{EngineSetup, OptimizerConfig, TrainConfig};

/// On the bundled sample a small, fast model is the default, so the first run
/// shows progress within seconds on a laptop CPU.
const SAMPLE_MODEL: &str = "resnet8";
const SAMPLE_EPOCHS: usize = 10;

pub fn run(args: TrainArgs) -> Result<()> {
    let (config, run, resume) = match &args.resume {
        Some(path) => resumed(path, &args)?,
        None => (new_config(&args)?, None, None),
    };
    let dataset = load_dataset(config.data.as_deref(), config.skip_bad_rows, config.seed)?;
    if config.data.is_none() {
        println!(
            "training on the bundled sample ({} images): for real results pass the full data set, e.g. `fer train --data fer2013.csv`",
            dataset.train.len() + dataset.val.len()
        );
    }
    config
        .schedule
        .validate()
        .map_err(|e| UserError(e.to_string()))?;
    let device = device::resolve(config.device.parse()?)?;
    let run = match run {
        Some(run) => run,
        None => create_run(&args.runs_dir, &config)?,
    };
    let setup = EngineSetup {
        config,
        dataset: Arc::new(dataset),
        run,
        resume,
        device_name: device.to_string(),
        queue: Vec::new(),
    };
    Session::start(setup, device, args.runs_dir.clone())?.follow(args.headless, args.ascii)
}

fn resumed(
    path: &Path,
    args: &TrainArgs,
) -> Result<(TrainConfig, Option<RunDir>, Option<CheckpointFile>)> {
    let run = RunDir::open(path)?;
    if let Ok(pid) = fer::run::control::live_engine(&run) {
        return Err(UserError(format!(
            "{} is being trained right now by process {pid}: steer it with `fer ctl`, or stop it first",
            path.display()
        ))
        .into());
    }
    let checkpoint_path = run.checkpoint_path(CheckpointKind::Last);
    if !checkpoint_path.is_file() {
        return Err(UserError(format!(
            "{} has no checkpoint to resume from",
            path.display()
        ))
        .into());
    }
    let checkpoint = CheckpointFile::load(&checkpoint_path)?;
    let mut config = checkpoint.state.config.clone();
    if let Some(epochs) = args.epochs {
        config.epochs = epochs;
    }
    if let Some(device) = &args.device {
        config.device = device.clone();
    }
    if args.minutes.is_some() {
        config.minutes = args.minutes;
    }
    if config.epochs <= checkpoint.state.completed_epochs {
        return Err(UserError(format!(
            "the run already completed {} of {} epochs: pass --epochs N (more than {}) to extend it",
            checkpoint.state.completed_epochs, config.epochs, checkpoint.state.completed_epochs
        ))
        .into());
    }
    Ok((config, Some(run), Some(checkpoint)))
}

/// Defaults, then `--config`, then flags.
fn new_config(args: &TrainArgs) -> Result<TrainConfig> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UserError(format!("{}: {e}", path.display())))?;
            ron::from_str(&text).map_err(|e| UserError(format!("{}: {e}", path.display())))?
        }
        None => TrainConfig::default(),
    };
    if args.config.is_none() && args.data.is_none() {
        config.model = SAMPLE_MODEL.into();
        config.epochs = SAMPLE_EPOCHS;
    }
    apply_flags(&mut config, args);
    Ok(config)
}

fn apply_flags(config: &mut TrainConfig, args: &TrainArgs) {
    fn set<T: Clone>(target: &mut T, value: &Option<T>) {
        if let Some(value) = value {
            *target = value.clone();
        }
    }
    if args.data.is_some() {
        config.data = args.data.clone();
    }
    set(&mut config.model, &args.model);
    set(&mut config.epochs, &args.epochs);
    if args.minutes.is_some() {
        config.minutes = args.minutes;
    }
    set(&mut config.batch_size, &args.batch_size);
    set(&mut config.lr, &args.lr);
    set(&mut config.schedule.warmup_epochs, &args.warmup);
    set(&mut config.loss.label_smoothing, &args.label_smoothing);
    set(&mut config.loss.mixup_alpha, &args.mixup);
    set(&mut config.augment.crop, &args.crop);
    set(&mut config.tta, &args.tta);
    set(&mut config.device, &args.device);
    set(&mut config.seed, &args.seed);
    if let Some(name) = &args.schedule {
        config.schedule.name = *name;
    }
    match args.optimizer {
        Some(OptimizerName::Sgd) if !matches!(config.optimizer, OptimizerConfig::Sgd { .. }) => {
            config.optimizer = OptimizerConfig::default();
        }
        Some(OptimizerName::Adamw)
            if !matches!(config.optimizer, OptimizerConfig::AdamW { .. }) =>
        {
            config.optimizer = OptimizerConfig::adamw_default();
        }
        _ => {}
    }
    if let Some(decay) = args.weight_decay {
        match &mut config.optimizer {
            OptimizerConfig::Sgd { weight_decay, .. }
            | OptimizerConfig::AdamW { weight_decay, .. } => {
                *weight_decay = decay;
            }
        }
    }
    config.loss.class_balanced |= args.class_balanced;
    config.augment.enabled &= !args.no_augment;
    config.skip_bad_rows |= args.skip_bad_rows;
}
