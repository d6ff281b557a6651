//! The only vocabulary shared by the engine and its viewers: `Event`s flow out of
//! the engine (and into `events.jsonl`), `Command`s flow in.

use serde::{Deserialize, Serialize};

use crate::metrics::ConfusionMatrix;
use crate::run::overrides::Tta;
use crate::run::schedule::{ScheduleConfig, ScheduleName};

/// Metrics of one finished epoch; also one row of `metrics.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// LR at the last step of the epoch.
    #[serde(with = "super::nonfinite")]
    pub lr: f64,
    #[serde(with = "super::nonfinite")]
    pub train_loss: f64,
    #[serde(with = "super::nonfinite")]
    pub train_accuracy: f64,
    #[serde(with = "super::nonfinite")]
    pub val_loss: f64,
    #[serde(with = "super::nonfinite")]
    pub val_accuracy: f64,
    #[serde(with = "super::nonfinite")]
    pub val_macro_f1: f64,
    /// Validation recall per class.
    #[serde(with = "super::nonfinite::vec")]
    pub val_recall: Vec<f64>,
    pub val_confusion: ConfusionMatrix,
    /// Wall-clock seconds of the epoch, validation included.
    #[serde(with = "super::nonfinite")]
    pub seconds: f64,
    /// Training images per second (validation excluded).
    #[serde(with = "super::nonfinite")]
    pub images_per_second: f64,
}

impl EpochMetrics {
    /// Every number is finite: what a metrics row, a checkpoint or a summary may hold.
    pub fn is_finite(&self) -> bool {
        [
            self.lr,
            self.train_loss,
            self.train_accuracy,
            self.val_loss,
            self.val_accuracy,
            self.val_macro_f1,
            self.seconds,
            self.images_per_second,
        ]
        .iter()
        .chain(&self.val_recall)
        .all(|value| value.is_finite())
    }
}

/// What the engine reports. Serialised one per line to `events.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    RunStarted {
        run_id: String,
        run_dir: String,
        model: String,
        parameters: usize,
        device: String,
        data_source: String,
        train_images: usize,
        val_images: usize,
        test_images: usize,
        /// Validation images per class, for the per-class pane.
        val_class_counts: Vec<usize>,
        epochs: usize,
        steps_per_epoch: usize,
        batch_size: usize,
        /// First epoch this process runs (1 unless resumed).
        start_epoch: usize,
        schedule: ScheduleName,
        notes: Vec<String>,
    },
    /// Emitted every few seconds while training.
    Progress {
        epoch: usize,
        /// Steps done in this epoch.
        step: usize,
        steps_per_epoch: usize,
        /// Mean training loss over the epoch so far.
        #[serde(with = "super::nonfinite")]
        loss: f64,
        #[serde(with = "super::nonfinite")]
        lr: f64,
        #[serde(with = "super::nonfinite")]
        images_per_second: f64,
        #[serde(with = "super::nonfinite")]
        elapsed_seconds: f64,
    },
    /// With several replicas (`--devices`, `--nodes`), after each `Progress`: the
    /// images per second of each replica of this process (its own shard, waiting for
    /// the others left out), and the share of a step spent in the all-reduce
    /// (waiting for the slowest replica included).
    ReplicaRates {
        images_per_second: Vec<f64>,
        all_reduce_share: f64,
    },
    ValidationStarted {
        epoch: usize,
    },
    EpochFinished(EpochMetrics),
    NewBest {
        epoch: usize,
        #[serde(with = "super::nonfinite")]
        val_accuracy: f64,
    },
    CheckpointSaved {
        kind: CheckpointKind,
        path: String,
        bytes: u64,
        epoch: usize,
        step: usize,
    },
    /// The learning-rate plan of the current schedule, for the remaining steps.
    SchedulePlan {
        name: ScheduleName,
        #[serde(with = "super::nonfinite")]
        current_lr: f64,
        /// (global step, lr) samples.
        #[serde(with = "super::nonfinite::pairs")]
        plan: Vec<(usize, f64)>,
        /// The run's length under this plan (`--minutes` can change it); 0 in logs
        /// written before the field existed.
        #[serde(default)]
        epochs: usize,
        /// The schedule's settings (what the dashboard's picker starts editing from);
        /// absent in logs written before the field existed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        settings: Option<ScheduleConfig>,
    },
    Paused {
        epoch: usize,
        step: usize,
    },
    Resumed,
    /// A command was received and took effect.
    CommandApplied {
        command: Command,
    },
    /// A command was received and refused (an unknown model, a queue index out of
    /// range, a pause after the last step); nothing changed.
    CommandRejected {
        command: Command,
        reason: String,
    },
    /// The models to train after this run, in order (at the start, and after each change).
    QueueChanged {
        queue: Vec<String>,
    },
    Warning {
        message: String,
    },
    /// The best checkpoint evaluated again on validation with the reported TTA (the
    /// per-epoch validation used other views): these are the run's validation figures.
    BestValidated {
        epoch: usize,
        tta: Tta,
        #[serde(with = "super::nonfinite")]
        accuracy: f64,
        #[serde(with = "super::nonfinite")]
        macro_f1: f64,
        #[serde(with = "super::nonfinite")]
        loss: f64,
        confusion: ConfusionMatrix,
    },
    TestEvaluated {
        epoch: usize,
        #[serde(with = "super::nonfinite")]
        accuracy: f64,
        #[serde(with = "super::nonfinite")]
        macro_f1: f64,
        #[serde(with = "super::nonfinite")]
        loss: f64,
        confusion: ConfusionMatrix,
    },
    RunFinished {
        best_epoch: usize,
        #[serde(with = "super::nonfinite")]
        best_val_accuracy: f64,
        #[serde(with = "super::nonfinite::option")]
        test_accuracy: Option<f64>,
        /// True when stopped by a command before the last epoch.
        stopped: bool,
        #[serde(with = "super::nonfinite")]
        seconds: f64,
    },
    RunFailed {
        error: String,
    },
    /// The training loss or the weights stopped being finite at this step (1-based).
    /// Nothing non-finite was saved; the run stops, or with a dashboard waits to be
    /// stopped. `message` is the whole account: what, where, what to resume from.
    Diverged {
        epoch: usize,
        step: usize,
        message: String,
    },
    /// A file of the run (`file`, as named inside the run directory) could not be
    /// written. Training goes on; its content waits in memory for the next try.
    WriteFailed {
        file: String,
        error: String,
    },
    /// A file that had failed was written, with everything held for it.
    WriteRecovered {
        file: String,
    },
    /// Appended to a finished run's log when its queue goes on: the next queued
    /// architecture trains in `run_dir` (a sibling directory), so that `fer watch`
    /// can follow it.
    NextRun {
        model: String,
        run_dir: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointKind {
    /// End of an epoch, or on request: `checkpoints/last.ckpt`.
    Last,
    /// Best validation accuracy so far: `checkpoints/best.ckpt`.
    Best,
}

/// What a viewer may ask of a running engine; applied between steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    Pause,
    Resume,
    CheckpointNow,
    /// Switch to the schedule `name`, continuing from the current LR; `settings`
    /// (when given) replaces its settings first, warm-up aside.
    SetSchedule {
        name: ScheduleName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        settings: Option<ScheduleConfig>,
    },
    /// The LR is `lr` from the next step on: a constant schedule stays there, the
    /// others continue rescaled from it (a running warm-up ends).
    SetLr {
        lr: f64,
    },
    /// Train this architecture (a name from `fer models`) after the current run.
    QueueModel {
        model: String,
    },
    /// Drop the queue entry at this 0-based index.
    RemoveQueued {
        index: usize,
    },
    /// Checkpoint and stop after the current step (a stopped run does not start the queue).
    Stop,
}

/// How people name a command (the dashboard's log, `fer ctl`'s answers):
/// `pause`, `checkpoint now`, `schedule cosine (min_lr 0)`, `lr 0.01`, `queue resnet8`,
/// `unqueue 1`.
impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Pause => write!(f, "pause"),
            Command::Resume => write!(f, "resume"),
            Command::CheckpointNow => write!(f, "checkpoint now"),
            Command::SetSchedule { name, settings } => {
                match clap::ValueEnum::to_possible_value(name) {
                    Some(value) => write!(f, "schedule {}", value.get_name())?,
                    None => write!(f, "schedule {name:?}")?,
                }
                match settings {
                    Some(settings) if !name.settings().is_empty() => {
                        let shown = ScheduleConfig {
                            name: *name,
                            ..settings.clone()
                        };
                        write!(f, " ({})", shown.describe_settings())
                    }
                    _ => Ok(()),
                }
            }
            Command::SetLr { lr } => write!(f, "lr {}", super::schedule::format_setting(*lr)),
            Command::QueueModel { model } => write!(f, "queue {model}"),
            // 1-based, as the queue pane numbers the entries.
            Command::RemoveQueued { index } => write!(f, "unqueue {}", index + 1),
            Command::Stop => write!(f, "stop"),
        }
    }
}
