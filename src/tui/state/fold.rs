//! How each engine event changes the dashboard state.

use std::time::Instant;

use super::{
    ConfusionSource, DashboardState, EtaModel, LogLevel, ReplicaRates, RunInfo, RunStatus,
    TestResult,
};
use crate::run::format::{duration, size, with_thousands_separators as thousands};
use crate::run::{CheckpointKind, Command, Event};
use crate::tui::labels::{command_label, percent};

impl DashboardState {
    pub(super) fn fold(&mut self, event: &Event, at: Option<Instant>) {
        match event {
            Event::RunStarted { .. } => self.on_run_started(event, at),
            Event::Progress {
                epoch,
                step,
                steps_per_epoch,
                loss,
                lr,
                images_per_second,
                elapsed_seconds,
            } => {
                self.progress.epoch = *epoch;
                self.progress.step = *step;
                self.progress.steps_per_epoch = *steps_per_epoch;
                self.progress.epoch_loss = *loss;
                self.progress.lr = *lr;
                self.progress.images_per_second = *images_per_second;
                self.on_progress(*elapsed_seconds, at);
            }
            Event::ReplicaRates {
                images_per_second,
                all_reduce_share,
            } => {
                self.replicas = Some(ReplicaRates {
                    images_per_second: images_per_second.clone(),
                    all_reduce_share: *all_reduce_share,
                });
            }
            Event::ValidationStarted { epoch } => {
                self.progress.epoch = *epoch;
                self.progress.step = self.progress.steps_per_epoch;
                self.set_status(RunStatus::Validating, at);
                self.refresh_eta();
            }
            Event::EpochFinished(metrics) => self.on_epoch_finished(metrics, at),
            Event::NewBest {
                epoch,
                val_accuracy,
            } => {
                self.best = Some((*epoch, *val_accuracy));
                self.log(
                    LogLevel::Good,
                    format!(
                        "new best: epoch {epoch}, val acc {}",
                        percent(*val_accuracy)
                    ),
                );
            }
            Event::CheckpointSaved {
                kind, path, bytes, ..
            } => {
                self.checkpoint_pending = false;
                let kind = match kind {
                    CheckpointKind::Last => "last",
                    CheckpointKind::Best => "best",
                };
                let path = self.relative_to_run_dir(path);
                self.log(
                    LogLevel::Good,
                    format!("checkpoint ({kind}) saved: {path} ({})", size(*bytes)),
                );
            }
            Event::SchedulePlan {
                name,
                current_lr,
                plan,
                epochs,
                settings,
            } => {
                if *epochs > 0 {
                    self.progress.epochs = *epochs;
                }
                if settings.is_some() {
                    self.schedule_settings = settings.clone();
                }
                self.on_schedule_plan(*name, *current_lr, plan);
            }
            Event::Paused { epoch, step } => {
                self.set_status(RunStatus::Paused, at);
                self.log(
                    LogLevel::Info,
                    format!("paused at epoch {epoch} step {step}"),
                );
            }
            Event::Resumed => {
                if !self.status.is_over() {
                    self.set_status(RunStatus::Running, at);
                    self.clock.start(at);
                    self.log(LogLevel::Info, "resumed");
                }
            }
            Event::CommandApplied { command } => {
                if *command == Command::CheckpointNow {
                    self.checkpoint_pending = false;
                }
                self.log(
                    LogLevel::Info,
                    format!("applied: {}", command_label(command)),
                );
            }
            Event::CommandRejected { command, reason } => {
                if *command == Command::CheckpointNow {
                    self.checkpoint_pending = false;
                }
                self.log(
                    LogLevel::Warning,
                    format!("rejected: {}: {reason}", command_label(command)),
                );
            }
            Event::QueueChanged { queue } => self.on_queue_changed(queue),
            Event::Warning { message } => {
                self.log(LogLevel::Warning, format!("warning: {message}"))
            }
            Event::BestValidated {
                epoch,
                tta,
                accuracy,
                macro_f1,
                ..
            } => self.log(
                LogLevel::Good,
                format!(
                    "val with {tta:?} (best epoch {epoch}): acc {}, macro-F1 {macro_f1:.3}",
                    percent(*accuracy)
                ),
            ),
            Event::TestEvaluated {
                epoch,
                accuracy,
                macro_f1,
                loss,
                confusion,
            } => {
                self.test = Some(TestResult {
                    epoch: *epoch,
                    accuracy: *accuracy,
                    macro_f1: *macro_f1,
                    loss: *loss,
                });
                self.confusion = Some((ConfusionSource::Test { epoch: *epoch }, confusion.clone()));
                self.log(
                    LogLevel::Good,
                    format!(
                        "test (best epoch {epoch}): acc {}, macro-F1 {macro_f1:.3}",
                        percent(*accuracy)
                    ),
                );
            }
            Event::RunFinished {
                best_epoch,
                best_val_accuracy,
                test_accuracy,
                stopped,
                seconds,
            } => {
                self.set_status(RunStatus::Done, at);
                self.clock.set(*seconds, None);
                self.eta.clear();
                let how = if *stopped { "stopped" } else { "finished" };
                let test = test_accuracy
                    .map(|a| format!(", test acc {}", percent(a)))
                    .unwrap_or_default();
                self.log(
                    LogLevel::Good,
                    format!(
                        "{how} after {}: best val acc {} at epoch {best_epoch}{test}",
                        duration(*seconds),
                        percent(*best_val_accuracy)
                    ),
                );
            }
            Event::NextRun { model, run_dir } => {
                self.log(
                    LogLevel::Info,
                    format!("the queue goes on: {model} in {run_dir}"),
                );
            }
            Event::RunFailed { error } => {
                self.set_status(RunStatus::Failed(error.clone()), at);
                self.checkpoint_pending = false;
                if self.divergence.as_ref() != Some(error) {
                    self.log(LogLevel::Error, format!("run failed: {error}"));
                }
            }
            Event::Diverged { message, .. } => {
                self.set_status(RunStatus::Diverged, at);
                self.checkpoint_pending = false;
                self.divergence = Some(message.clone());
                self.log(LogLevel::Error, message.clone());
            }
            Event::WriteFailed { file, error } => {
                if !self.unsaved.contains(file) {
                    self.unsaved.push(file.clone());
                }
                self.log(
                    LogLevel::Error,
                    format!("{file} not saved: {error}; training goes on, it is kept in memory and retried"),
                );
            }
            Event::WriteRecovered { file } => {
                self.unsaved.retain(|unsaved| unsaved != file);
                self.log(LogLevel::Good, format!("{file} saved again"));
            }
        }
    }

    /// A new run forgets the previous run's numbers (and leaves the queue if it
    /// was its head); the same run resumed (as `fer watch` replays it from
    /// `events.jsonl`) keeps its history.
    fn on_run_started(&mut self, event: &Event, at: Option<Instant>) {
        let Event::RunStarted {
            run_id,
            run_dir,
            model,
            parameters,
            device,
            data_source,
            train_images,
            val_images,
            test_images,
            val_class_counts,
            epochs,
            steps_per_epoch,
            batch_size,
            start_epoch,
            schedule,
            notes,
        } = event
        else {
            return;
        };
        if self.info.run_id.is_empty() || self.info.run_id != *run_id {
            self.forget_run();
            // The queued model that has just started is no longer waiting.
            if self.queue.first() == Some(model) {
                self.pop_queued();
            }
        } else {
            self.continue_run(*start_epoch);
        }
        self.info = RunInfo {
            run_id: run_id.clone(),
            run_dir: run_dir.clone(),
            model: model.clone(),
            parameters: *parameters,
            device: device.clone(),
            data_source: data_source.clone(),
            train_images: *train_images,
            val_images: *val_images,
            test_images: *test_images,
            batch_size: *batch_size,
            start_epoch: *start_epoch,
        };
        self.progress.epochs = *epochs;
        self.progress.steps_per_epoch = *steps_per_epoch;
        self.progress.epoch = *start_epoch;
        self.val_class_counts = val_class_counts.clone();
        self.schedule = Some(*schedule);
        self.status = RunStatus::Running;
        self.clock.set(0.0, at);
        self.log(
            LogLevel::Info,
            format!(
                "run {run_id}: {model} ({} parameters) on {device}",
                thousands(*parameters)
            ),
        );
        if *start_epoch > 1 {
            self.log(LogLevel::Info, format!("resuming at epoch {start_epoch}"));
        }
        for note in notes {
            self.log(LogLevel::Info, format!("note: {note}"));
        }
    }

    /// The engine's queue replaces ours; the highlight stays in range.
    fn on_queue_changed(&mut self, queue: &[String]) {
        if self.queue == queue {
            return;
        }
        self.queue = queue.to_vec();
        self.queue_selected = self.queue_selected.min(self.queue.len().saturating_sub(1));
        let text = if queue.is_empty() {
            "queue: empty".to_string()
        } else {
            format!("queue: {}", queue.join(", "))
        };
        self.log(LogLevel::Info, text);
    }

    /// Keeps only the log and the queue.
    fn forget_run(&mut self) {
        let log = std::mem::take(&mut self.log);
        let queue = std::mem::take(&mut self.queue);
        let queue_selected = self.queue_selected;
        *self = Self {
            log,
            queue,
            queue_selected,
            ..Self::default()
        };
    }

    /// A resumed process redoes the epochs from `start_epoch`; its timings are new.
    fn continue_run(&mut self, start_epoch: usize) {
        self.epochs.retain(|point| point.epoch < start_epoch);
        self.eta = EtaModel::default();
        self.checkpoint_pending = false;
        self.progress.step = 0;
    }

    /// `runs/<id>/checkpoints/last.ckpt` → `checkpoints/last.ckpt`: the run
    /// directory is in the header already.
    fn relative_to_run_dir(&self, path: &str) -> String {
        let relative = std::path::Path::new(path)
            .strip_prefix(&self.info.run_dir)
            .ok()
            .filter(|_| !self.info.run_dir.is_empty());
        relative.map_or_else(
            || path.to_string(),
            |relative| relative.display().to_string(),
        )
    }
}
