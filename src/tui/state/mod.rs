//! The dashboard's picture of a run, folded from engine `Event`s.
//!
//! `apply` is a pure fold; `apply_at` and `tick` add wall-clock instants chosen
//! by the caller, so elapsed time and ETA can run between events and stop while
//! paused without the state ever reading the clock itself.

mod clock;
mod fold;
mod log;
mod numbers;
mod series;

use std::time::Instant;

use crate::metrics::ConfusionMatrix;
use crate::run::schedule::{ScheduleConfig, ScheduleName};

pub use clock::{EtaModel, LiveClock, Position};
pub use log::{LogLevel, LogLine, LogRing, LOG_CAPACITY};
pub use series::{push_thinned, EpochPoint, SmoothedLoss, LOSS_SMOOTHING, MAX_SERIES_POINTS};

/// What the run is doing, as shown in the header.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum RunStatus {
    /// No `RunStarted` yet (e.g. `fer watch` on a run that is still loading data).
    #[default]
    Waiting,
    Running,
    Paused,
    /// A checkpoint was requested and its `CheckpointSaved` has not arrived yet.
    Checkpointing,
    Validating,
    /// The loss stopped being finite; the run waits to be stopped.
    Diverged,
    Done,
    Failed(String),
}

impl RunStatus {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Waiting => "WAITING",
            Self::Running => "RUNNING",
            Self::Paused => "PAUSED",
            Self::Checkpointing => "CHECKPOINTING",
            Self::Validating => "VALIDATING",
            Self::Diverged => "DIVERGED",
            Self::Done => "DONE",
            Self::Failed(_) => "FAILED",
        }
    }

    /// True once the run has ended, well or not.
    pub fn is_over(&self) -> bool {
        matches!(self, Self::Done | Self::Failed(_))
    }
}

/// Static facts from `RunStarted`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunInfo {
    pub run_id: String,
    pub run_dir: String,
    pub model: String,
    pub parameters: usize,
    pub device: String,
    pub data_source: String,
    pub train_images: usize,
    pub val_images: usize,
    pub test_images: usize,
    pub batch_size: usize,
    pub start_epoch: usize,
}

/// The latest `ReplicaRates` of a data-parallel run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplicaRates {
    pub images_per_second: Vec<f64>,
    pub all_reduce_share: f64,
}

/// Where training stands, from the latest `Progress` (or epoch end).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProgressInfo {
    pub epoch: usize,
    pub epochs: usize,
    pub step: usize,
    pub steps_per_epoch: usize,
    pub images_per_second: f64,
    /// Mean training loss over the current epoch so far.
    pub epoch_loss: f64,
    pub lr: f64,
}

impl ProgressInfo {
    /// Completed fraction of the whole run, in [0, 1].
    pub fn run_fraction(&self) -> f64 {
        let total = self.epochs * self.steps_per_epoch;
        let done = self.epoch.saturating_sub(1) * self.steps_per_epoch + self.step;
        fraction(done, total)
    }

    /// Completed fraction of the current epoch, in [0, 1].
    pub fn epoch_fraction(&self) -> f64 {
        fraction(self.step, self.steps_per_epoch)
    }
}

fn fraction(done: usize, total: usize) -> f64 {
    if total == 0 {
        0.0
    } else {
        (done as f64 / total as f64).clamp(0.0, 1.0)
    }
}

/// Which data the confusion matrix comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfusionSource {
    Validation { epoch: usize },
    Test { epoch: usize },
}

/// The final test evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TestResult {
    pub epoch: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub loss: f64,
}

/// Everything the dashboard shows, as a fold of events.
#[derive(Clone, Debug, Default)]
pub struct DashboardState {
    pub info: RunInfo,
    pub progress: ProgressInfo,
    /// With several replicas: each one's images per second, and the all-reduce's
    /// share of a step (`ReplicaRates`).
    pub replicas: Option<ReplicaRates>,
    status: RunStatus,
    /// Set by the app when it sends `CheckpointNow`; cleared by `CheckpointSaved`.
    pub checkpoint_pending: bool,
    pub clock: LiveClock,
    pub eta: EtaModel,
    pub epochs: Vec<EpochPoint>,
    pub batch_loss: SmoothedLoss,
    /// (global step, lr) actually used so far.
    pub lr_history: Vec<(f64, f64)>,
    /// (global step, lr) the current schedule plans for the rest of the run.
    pub lr_plan: Vec<(f64, f64)>,
    pub schedule: Option<ScheduleName>,
    /// The running schedule's settings, from its latest plan (older logs lack them).
    pub schedule_settings: Option<ScheduleConfig>,
    /// Validation recall per class of the last epoch, and of the one before.
    pub val_recall: Vec<f64>,
    pub previous_val_recall: Option<Vec<f64>>,
    pub val_class_counts: Vec<usize>,
    pub confusion: Option<(ConfusionSource, ConfusionMatrix)>,
    pub best: Option<(usize, f64)>,
    pub test: Option<TestResult>,
    pub log: LogRing,
    /// Models waiting to run after this one, and the highlighted entry.
    pub queue: Vec<String>,
    pub queue_selected: usize,
    /// Files of the run the disk refused and not yet written (the header marks them).
    pub unsaved: Vec<String>,
    /// The divergence account, already logged (the `RunFailed` after it says the same).
    pub divergence: Option<String>,
}

impl DashboardState {
    pub fn new() -> Self {
        Self::default()
    }

    /// The status to show: a pending checkpoint shows over running/paused.
    pub fn status(&self) -> RunStatus {
        if self.checkpoint_pending && !self.status.is_over() {
            RunStatus::Checkpointing
        } else {
            self.status.clone()
        }
    }

    /// Folds one event in, with no notion of wall time (elapsed and ETA move
    /// only with the engine's reports).
    pub fn apply(&mut self, event: &crate::run::Event) {
        self.fold(event, None);
    }

    /// Folds one event received at `at`: elapsed time and ETA keep running from
    /// there until the next event, a pause or the end of the run.
    pub fn apply_at(&mut self, event: &crate::run::Event, at: Instant) {
        self.clock.tick(at);
        self.fold(event, Some(at));
    }

    /// Moves the dashboard's "now" forward (call before drawing).
    pub fn tick(&mut self, now: Instant) {
        self.clock.tick(now);
    }

    /// Run time so far in seconds (pauses excluded).
    pub fn elapsed_seconds(&self) -> f64 {
        self.clock.seconds()
    }

    /// Seconds left, validation included once an epoch has finished; `None`
    /// until there is anything to estimate from, or once the run is over.
    pub fn eta_seconds(&self) -> Option<f64> {
        if self.status.is_over() {
            return None;
        }
        self.eta.remaining(self.elapsed_seconds())
    }

    /// Change of a class's validation recall since the previous epoch (fraction).
    pub fn recall_change(&self, class: usize) -> Option<f64> {
        let previous = self.previous_val_recall.as_ref()?.get(class)?;
        Some(self.val_recall.get(class)? - previous)
    }

    /// Adds a log line stamped with the current run time.
    pub fn log(&mut self, level: LogLevel, text: impl Into<String>) {
        let at = self.elapsed_seconds();
        self.log.push(at, level, text);
    }

    /// Takes the next queued model (for whoever starts the next run).
    pub fn pop_queued(&mut self) -> Option<String> {
        if self.queue.is_empty() {
            return None;
        }
        let next = self.queue.remove(0);
        self.queue_selected = self.queue_selected.min(self.queue.len().saturating_sub(1));
        Some(next)
    }

    /// Marks the event stream as ended: a run that never said how it ended failed.
    pub fn stream_closed(&mut self) {
        if !self.status.is_over() {
            self.set_status(RunStatus::Failed("the event stream ended".into()), None);
            self.log(
                LogLevel::Error,
                "event stream ended before the run finished",
            );
        }
    }

    fn set_status(&mut self, status: RunStatus, at: Option<Instant>) {
        let runs = matches!(status, RunStatus::Running | RunStatus::Validating);
        if !runs && self.clock.is_running() {
            self.clock.stop(at);
        }
        self.status = status;
    }
}
