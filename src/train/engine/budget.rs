//! The engine's side of `--minutes`: re-planning the run's length at epoch boundaries.

use burn::tensor::backend::AutodiffBackend;

use super::Engine;
use crate::run::Event;
use crate::train::budget::{replan, BudgetPosition};

impl<B: AutodiffBackend> Engine<B> {
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
