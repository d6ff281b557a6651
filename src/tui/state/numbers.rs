//! The numeric side of the fold: progress, epoch results, the LR plan, ETA.

use std::time::Instant;

use super::{
    push_thinned, ConfusionSource, DashboardState, EpochPoint, LogLevel, Position, RunStatus,
};
use crate::run::schedule::ScheduleName;
use crate::run::EpochMetrics;
use crate::tui::labels::{learning_rate, percent, schedule_label};

impl DashboardState {
    pub(super) fn on_progress(&mut self, elapsed_seconds: f64, at: Option<Instant>) {
        if matches!(self.status, RunStatus::Waiting | RunStatus::Validating) {
            self.status = RunStatus::Running;
        }
        let counting = matches!(self.status, RunStatus::Running);
        self.clock
            .set(elapsed_seconds, if counting { at } else { None });
        let position = self.position();
        self.eta.record_progress(elapsed_seconds, position);
        let p = self.progress;
        self.batch_loss
            .observe(p.epoch, p.step, p.steps_per_epoch, p.epoch_loss);
        push_thinned(&mut self.lr_history, (position.global_step() as f64, p.lr));
    }

    pub(super) fn on_epoch_finished(&mut self, metrics: &EpochMetrics, at: Option<Instant>) {
        self.epochs.push(EpochPoint {
            epoch: metrics.epoch,
            train_loss: metrics.train_loss,
            train_accuracy: metrics.train_accuracy,
            val_loss: metrics.val_loss,
            val_accuracy: metrics.val_accuracy,
            lr: metrics.lr,
            seconds: metrics.seconds,
        });
        self.eta.record_epoch(metrics.seconds);
        if !self.val_recall.is_empty() {
            self.previous_val_recall = Some(std::mem::take(&mut self.val_recall));
        }
        self.val_recall = metrics.val_recall.clone();
        self.confusion = Some((
            ConfusionSource::Validation {
                epoch: metrics.epoch,
            },
            metrics.val_confusion.clone(),
        ));
        self.progress.epoch = metrics.epoch;
        self.progress.step = self.progress.steps_per_epoch;
        self.progress.lr = metrics.lr;
        let global_step = self.position().global_step() as f64;
        push_thinned(&mut self.lr_history, (global_step, metrics.lr));
        if matches!(self.status, RunStatus::Validating | RunStatus::Waiting) {
            self.set_status(RunStatus::Running, at);
        }
        self.refresh_eta();
        self.log(
            LogLevel::Info,
            format!(
                "epoch {}/{}: train loss {:.4} acc {}, val loss {:.4} acc {}",
                metrics.epoch,
                self.progress.epochs,
                metrics.train_loss,
                percent(metrics.train_accuracy),
                metrics.val_loss,
                percent(metrics.val_accuracy)
            ),
        );
    }

    pub(super) fn on_schedule_plan(
        &mut self,
        name: ScheduleName,
        current_lr: f64,
        plan: &[(usize, f64)],
    ) {
        let changed = self.schedule != Some(name) || self.lr_plan.is_empty();
        if changed {
            self.log(
                LogLevel::Info,
                format!(
                    "schedule: {}, lr now {}",
                    schedule_label(name),
                    learning_rate(current_lr)
                ),
            );
        }
        self.schedule = Some(name);
        self.progress.lr = current_lr;
        self.lr_plan = plan.iter().map(|&(step, lr)| (step as f64, lr)).collect();
    }

    pub(super) fn refresh_eta(&mut self) {
        let seconds = self.elapsed_seconds();
        let position = self.position();
        self.eta.update(seconds, position);
    }

    pub(super) fn position(&self) -> Position {
        Position {
            epoch: self.progress.epoch.max(1),
            step: self.progress.step,
            steps_per_epoch: self.progress.steps_per_epoch,
            epochs: self.progress.epochs,
        }
    }
}
