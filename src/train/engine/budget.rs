//! The engine's side of `--minutes`: re-planning the run's length at epoch boundaries.

use burn::tensor::backend::AutodiffBackend;

use super::Engine;
use crate::run::Event;
use crate::train::budget::{
    early_plan, early_plan_window, replan, validation_share, BudgetPosition,
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
        let dataset = &self.setup.dataset;
        let views = self.state.config.tta.views();
        let share = validation_share(dataset.val.len(), views, dataset.train.len());
        let epochs = early_plan(
            seconds_per_step,
            self.steps_per_epoch,
            share,
            minutes * 60.0,
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
    /// to the time budget, and says so when the plan changes.
    pub(super) fn fit_time_budget(&mut self, last_epoch_seconds: f64) {
        let Some(minutes) = self.state.config.minutes else {
            return;
        };
        let position = BudgetPosition {
            completed_epochs: self.state.completed_epochs,
            planned_epochs: self.state.config.epochs,
            elapsed_seconds: self.state.elapsed_seconds,
            last_epoch_seconds,
            budget_seconds: minutes * 60.0,
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
}
