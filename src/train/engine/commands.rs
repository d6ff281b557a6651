//! How the engine applies `Command`s: between steps, while paused, and once more
//! at the end of the run. Every command is answered in `events.jsonl`, by
//! `CommandApplied` once it took effect or by `CommandRejected` with the reason.

use burn::tensor::backend::AutodiffBackend;

use super::Engine;
use crate::run::{CheckpointKind, Command, Event};
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
        match &command {
            Command::Pause => return self.pause(),
            Command::Resume => {}
            Command::CheckpointNow => {
                self.flush_pending();
                self.checkpoint(CheckpointKind::Last)?;
            }
            Command::SetSchedule { name } => {
                let config = ScheduleConfig {
                    name: *name,
                    ..self.state.schedule.config().clone()
                };
                self.state.schedule.replace(config);
                self.state.config.schedule = self.state.schedule.config().clone();
                self.emit_plan();
            }
            Command::QueueModel { model } => match canonical_model_name(model) {
                Some(name) => {
                    self.state.queue.push(name);
                    self.emit_queue();
                }
                None => {
                    let reason = format!(
                        "unknown model {model:?} (known: {})",
                        crate::model::model_names().join(", ")
                    );
                    self.reject(command, &reason);
                    return Ok(());
                }
            },
            Command::RemoveQueued { index } => {
                if *index >= self.state.queue.len() {
                    let reason = format!(
                        "no queue entry {} (the queue has {})",
                        index + 1,
                        self.state.queue.len()
                    );
                    self.reject(command, &reason);
                    return Ok(());
                }
                self.state.queue.remove(*index);
                self.emit_queue();
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

    fn emit_queue(&mut self) {
        self.emit(Event::QueueChanged {
            queue: self.state.queue.clone(),
        });
    }
}

/// The registry's spelling of `name` (names match case-insensitively).
fn canonical_model_name(name: &str) -> Option<String> {
    crate::model::model_names()
        .iter()
        .find(|known| known.eq_ignore_ascii_case(name.trim()))
        .map(|known| known.to_string())
}
