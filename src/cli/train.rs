//! `fer train`: resolve the configuration, load the data, then start a session.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;

use super::args::TrainArgs;
use super::session::{create_run, Session, SessionPlan};
use super::{load_dataset, parallel, UserError};
use fer::run::overrides::ConfigOverrides;
use fer::run::{CheckpointKind, RunDir, RunLock, RunQueue};
use fer::train::checkpoint::CheckpointFile;
use fer::train::{EngineSetup, TrainConfig, Tta};

/// The bundled sample's recipe: a model that visibly learns (about 36% validation
/// accuracy, majority class 25%) in under a minute on two CPU cores. 1,280 faces
/// are too few for the full recipe's heavy augmentation to pay off in 8 epochs, and
/// small batches give more steps; flip TTA keeps validation cheap. Measured in the
/// README ("First run").
const SAMPLE_MODEL: &str = "resnet8";
const SAMPLE_EPOCHS: usize = 8;
const SAMPLE_BATCH_SIZE: usize = 32;
const SAMPLE_TTA: Tta = Tta::Flip;

pub fn run(args: TrainArgs) -> Result<()> {
    let (config, continued) = match &args.resume {
        Some(path) => {
            let (config, continued) = resumed(path, &args.overrides)?;
            (config, Some(continued))
        }
        None => (
            resolve_config(args.config.as_deref(), &args.overrides)?,
            None,
        ),
    };
    let dataset = load_dataset(config.data.as_deref(), config.skip_bad_rows, config.seed)?;
    if config.data.is_none() {
        println!(
            "training on the bundled sample ({} images): for real results pass the full data set, e.g. `fer train --data fer2013.csv`",
            dataset.train.len() + dataset.val.len()
        );
    }
    let (devices, topology) = parallel::devices_and_topology(&args.parallel, &config.device)?;
    let device_name = devices.first().map(ToString::to_string).unwrap_or_default();
    let (run, lock, resume) = match continued {
        Some(Resumed {
            run,
            lock,
            checkpoint,
        }) => (run, lock, Some(checkpoint)),
        None => {
            let run = create_run(&args.runs_dir, &config)?;
            let lock = hold(&run)?;
            (run, lock, None)
        }
    };
    let queue = RunQueue::in_dir(&args.runs_dir);
    let device_name = topology
        .as_ref()
        .map_or(device_name.clone(), |t| t.describe(&device_name));
    let mut first = EngineSetup::new(config, Arc::new(dataset), run, device_name, queue.clone());
    first.resume = resume;
    first.topology = topology;
    first.on_collective_timeout = Some(parallel::exit_on_lost_replica());
    let plan = SessionPlan {
        first: Some((first, devices, lock)),
        queue,
        runs_dir: args.runs_dir.clone(),
        study: None,
        device: None,
        wait_on_divergence: false,
    };
    Session::start(plan, args.view)?.follow()?;
    Ok(())
}

/// A run to continue: its directory, locked while this process trains it (see
/// [`RunLock`]), and its last checkpoint.
pub struct Resumed {
    pub run: RunDir,
    pub lock: RunLock,
    pub checkpoint: CheckpointFile,
}

/// The configuration of the run in `path` from its last checkpoint, with
/// `--epochs`, `--device`, `--minutes` and `--lr` applied (the rest of a resumed
/// run's settings stay as they were; a new LR scales the saved schedule).
pub fn resumed(path: &Path, args: &ConfigOverrides) -> Result<(TrainConfig, Resumed)> {
    let run = RunDir::open(path)?;
    if let Ok(pid) = fer::run::control::live_engine(&run) {
        return Err(UserError(format!(
            "{} is being trained right now by process {pid}: steer it with `fer ctl`, or stop it first",
            path.display()
        ))
        .into());
    }
    // A queue worker may have claimed it and still be loading its data.
    let lock = hold(&run)?;
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
    if let Some(lr) = args.lr {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(UserError("--lr must be a positive number".into()).into());
        }
        config.lr = lr;
    }
    if config.epochs <= checkpoint.state.completed_epochs {
        return Err(UserError(format!(
            "the run already completed {} of {} epochs: pass --epochs N (more than {}) to extend it",
            checkpoint.state.completed_epochs, config.epochs, checkpoint.state.completed_epochs
        ))
        .into());
    }
    let resumed = Resumed {
        run,
        lock,
        checkpoint,
    };
    Ok((config, resumed))
}

/// The lock of a run this process is about to train, so that no queue worker
/// takes it for an interrupted one meanwhile.
fn hold(run: &RunDir) -> Result<RunLock> {
    RunLock::try_acquire(run)?.ok_or_else(|| {
        UserError(format!(
            "{} is being trained right now by another fer process (it holds {}): stop it first",
            run.path().display(),
            fer::run::RUN_LOCK_FILE
        ))
        .into()
    })
}

/// Defaults, then `--config` (or a queued run's base), then flags. Checked here, so
/// that a mistake is reported before any data is loaded.
pub fn resolve_config(base: Option<&Path>, overrides: &ConfigOverrides) -> Result<TrainConfig> {
    let mut config = match base {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UserError(format!("{}: {e}", path.display())))?;
            ron::from_str(&text).map_err(|e| UserError(format!("{}: {e}", path.display())))?
        }
        None => TrainConfig::default(),
    };
    if base.is_none() && overrides.data.is_none() {
        config.model = SAMPLE_MODEL.into();
        config.epochs = SAMPLE_EPOCHS;
        config.batch_size = SAMPLE_BATCH_SIZE;
        config.tta = SAMPLE_TTA;
        config.val_tta = SAMPLE_TTA;
        config.augment.enabled = false;
    }
    config.apply_overrides(overrides);
    config.model = fer::model::canonical_name(&config.model)
        .map_err(|e| UserError(e.to_string()))?
        .to_string();
    config
        .schedule
        .validate()
        .map_err(|e| UserError(e.to_string()))?;
    Ok(config)
}
