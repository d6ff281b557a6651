//! How the engine applies `Command`s: between steps, while paused, and once more
//! at the end of the run. Every command is answered in `events.jsonl`, by
//! `CommandApplied` once it took effect or by `CommandRejected` with the reason.

use burn::tensor::backend::AutodiffBackend;

use super::Engine;
use crate::run::overrides::ConfigOverrides;
use crate::run::{CheckpointKind, Command, Event, RunError};
use crate::train::schedule::ScheduleConfig;
use crate::train::TrainError;

impl<B: AutodiffBackend> Engine<B> {
    pub(super) fn apply_commands(&mut self) -> Result<(), TrainError> {
        while let Ok(command) = self.io.commands.try_recv() {
            self.apply(command)?;
        }
        Ok(())
    }

    /// Commands that arrived during the last epoch's validation or the test
    /// evaluation: everything but a pause still makes sense (a checkpoint, the queue).
    pub(super) fn apply_commands_at_end(&mut self) -> Result<(), TrainError> {
        while let Ok(command) = self.io.commands.try_recv() {
            match command {
                Command::Pause => {
                    self.reject(command, "the run is finishing: nothing left to pause")
                }
                other => self.apply(other)?,
            }
        }
        Ok(())
    }

    pub(super) fn apply(&mut self, command: Command) -> Result<(), TrainError> {
        if let Some(reason) = self.refused_on_this_node(&command) {
            self.reject(command, reason);
            return Ok(());
        }
        match &command {
            Command::Pause => return self.pause(),
            Command::Resume => {}
            Command::CheckpointNow => {
                self.flush_pending()?;
                self.retry_writes();
                self.checkpoint(CheckpointKind::Last)?;
            }
            Command::SetSchedule { name, settings } => {
                let config = ScheduleConfig {
                    name: *name,
                    ..settings
                        .clone()
                        .unwrap_or_else(|| self.state.schedule.config().clone())
                };
                if let Err(error) = config.validate() {
                    self.reject(command, &error.to_string());
                    return Ok(());
                }
                self.state.schedule.replace(config);
                self.state.config.schedule = self.state.schedule.config().clone();
                self.emit_plan();
            }
            Command::SetLr { lr } => {
                if !(lr.is_finite() && *lr > 0.0) {
                    self.reject(command, "the LR must be a finite number > 0");
                    return Ok(());
                }
                self.state.schedule.set_lr(*lr);
                self.state.config.schedule = self.state.schedule.config().clone();
                self.state.config.lr = self.state.schedule.base_lr();
                self.emit_plan();
            }
            Command::QueueModel { model } => {
                if let Err(reason) = self.queue_model(model) {
                    self.reject(command, &reason);
                    return Ok(());
                }
            }
            Command::RemoveQueued { index } => {
                if let Err(reason) = self.remove_queued(*index) {
                    self.reject(command, &reason);
                    return Ok(());
                }
            }
            Command::Stop => self.stop_requested = true,
        }
        self.emit(Event::CommandApplied { command });
        Ok(())
    }

    /// Blocks between two steps until `Resume` or `Stop`; checkpoints, schedule
    /// and queue changes still apply while paused.
    fn pause(&mut self) -> Result<(), TrainError> {
        let epoch = self.state.completed_epochs + 1;
        self.emit(Event::Paused {
            epoch,
            step: self.state.step_in_epoch,
        });
        self.emit(Event::CommandApplied {
            command: Command::Pause,
        });
        let mut resumed_by_command = false;
        while let Ok(command) = self.io.commands.recv() {
            match command {
                Command::Resume => {
                    resumed_by_command = true;
                    break;
                }
                // Already paused: say so, so that whoever asked hears an answer.
                Command::Pause => self.emit(Event::CommandApplied {
                    command: Command::Pause,
                }),
                Command::Stop => {
                    self.apply(Command::Stop)?;
                    break;
                }
                other => self.apply(other)?,
            }
        }
        self.emit(Event::Resumed);
        if resumed_by_command {
            self.emit(Event::CommandApplied {
                command: Command::Resume,
            });
        }
        Ok(())
    }

    fn reject(&mut self, command: Command, reason: &str) {
        self.emit(Event::CommandRejected {
            command,
            reason: reason.to_string(),
        });
    }

    /// Adds `model` to the queue file with this run's settings (its `config.ron` as
    /// the base), then announces the new queue.
    fn queue_model(&mut self, model: &str) -> Result<(), String> {
        let name = crate::model::canonical_name(model).map_err(|e| e.to_string())?;
        let config = self.setup.run.config_path();
        let base = std::fs::canonicalize(&config).unwrap_or(config);
        let overrides = ConfigOverrides {
            model: Some(name.to_string()),
            ..ConfigOverrides::default()
        };
        self.setup
            .queue
            .update(|entries| Ok::<_, RunError>(entries.push(Some(base), overrides, None)))
            .map_err(|e| e.to_string())?;
        self.refresh_queue();
        Ok(())
    }

    fn remove_queued(&mut self, index: usize) -> Result<(), String> {
        let removed = self
            .setup
            .queue
            .update(|entries| {
                let waiting = entries.waiting().count();
                Ok::<_, RunError>(entries.remove_waiting(index).ok_or(waiting))
            })
            .map_err(|e| e.to_string())?;
        if let Err(waiting) = removed {
            return Err(format!(
                "no queue entry {} (the queue has {waiting})",
                index + 1
            ));
        }
        self.refresh_queue();
        Ok(())
    }

    /// Announces the waiting models when they changed since the last announcement.
    /// An unreadable queue file is reported once, as a warning.
    pub(super) fn refresh_queue(&mut self) {
        match self.setup.queue.read() {
            Ok(entries) => {
                let waiting = entries.waiting_models();
                if self.shown_queue.as_ref() != Some(&waiting) {
                    self.shown_queue = Some(waiting.clone());
                    self.emit(Event::QueueChanged { queue: waiting });
                }
            }
            Err(error) if self.shown_queue.is_none() => {
                self.shown_queue = Some(Vec::new());
                let message = format!("the queue cannot be read: {error}");
                self.emit(Event::Warning { message });
            }
            Err(_) => {}
        }
    }
}
