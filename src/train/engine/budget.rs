//! The engine's side of `--minutes`: re-planning the run's length at epoch boundaries.

use burn::tensor::backend::AutodiffBackend;

use super::Engine;
use crate::run::Event;
use crate::train::budget::{
    early_plan, early_plan_window, evaluation_share, final_evaluation_views, replan, BudgetPosition,
};

impl<B: AutodiffBackend> Engine<B> {
    /// During the first epoch of a fresh run with a budget: at the start of the
    /// timing window remembers the clock, at its end plans the run from the pace.
    pub(super) fn plan_early(&mut self, window_start_seconds: &mut Option<f64>) {
        let (Some(minutes), 0) = (self.state.config.minutes, self.state.completed_epochs) else {
            return;
        };
        let Some((start, end)) = early_plan_window(self.steps_per_epoch) else {
            return;
        };
        let step = self.state.step_in_epoch;
        if step == start {
            *window_start_seconds = Some(self.state.partial.seconds);
        }
        let (true, Some(started)) = (step == end, *window_start_seconds) else {
            return;
        };
        let seconds_per_step = (self.state.partial.seconds - started) / (end - start) as f64;
        let train_images = self.setup.dataset.train.len();
        let share = evaluation_share(self.epoch_validation_views(), train_images);
        let training_seconds = seconds_per_step * self.steps_per_epoch as f64;
        let reserve =
            training_seconds * evaluation_share(self.final_evaluation_views(), train_images);
        let epochs = early_plan(
            seconds_per_step,
            self.steps_per_epoch,
            share,
            minutes * 60.0 - reserve,
        );
        if epochs == self.state.config.epochs {
            return;
        }
        self.state.schedule.set_total_epochs(epochs);
        self.state.config.epochs = epochs;
        let message = format!(
            "time budget of {minutes} min: planning {epochs} epochs from the first {end} steps' pace ({seconds_per_step:.3} s a step); the {:?} schedule now ends at epoch {epochs}",
            self.state.schedule.name()
        );
        self.emit(Event::Warning { message });
        self.emit_plan();
    }

    /// After an epoch (already counted in the state): fits the run, and its schedule,
    /// to the time budget, and says so when the plan changes. The evaluations at the
    /// end are paid from the budget, at the pace of this epoch's validation.
    pub(super) fn fit_time_budget(&mut self, last_epoch_seconds: f64, validation_seconds: f64) {
        let Some(minutes) = self.state.config.minutes else {
            return;
        };
        let seconds_per_view = validation_seconds / self.epoch_validation_views().max(1) as f64;
        let reserve = seconds_per_view * self.final_evaluation_views() as f64;
        let position = BudgetPosition {
            completed_epochs: self.state.completed_epochs,
            planned_epochs: self.state.config.epochs,
            elapsed_seconds: self.state.elapsed_seconds,
            last_epoch_seconds,
            budget_seconds: minutes * 60.0 - reserve,
        };
        let Some(epochs) = replan(&position) else {
            return;
        };
        self.state.schedule.set_total_epochs(epochs);
        self.state.config.epochs = epochs;
        let message = if epochs == position.completed_epochs {
            format!(
                "time budget of {minutes} min: no further epoch fits ({:.0} s used, {last_epoch_seconds:.1} s an epoch); stopping after epoch {epochs}",
                position.elapsed_seconds
            )
        } else {
            format!(
                "time budget of {minutes} min: planning {epochs} epochs ({last_epoch_seconds:.1} s an epoch, {:.0} s used); the {:?} schedule now ends at epoch {epochs}",
                position.elapsed_seconds,
                self.state.schedule.name()
            )
        };
        self.emit(Event::Warning { message });
        self.emit_plan();
    }

    fn epoch_validation_views(&self) -> usize {
        self.setup.dataset.val.len() * self.state.config.val_tta.views()
    }

    fn final_evaluation_views(&self) -> usize {
        let dataset = &self.setup.dataset;
        final_evaluation_views(dataset.val.len(), dataset.test.len(), &self.state.config)
    }
}
