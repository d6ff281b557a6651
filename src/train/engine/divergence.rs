//! Catching a loss that stops being finite, before anything non-finite is saved.
//!
//! Every step's loss stays on the device; the host reads the steps not read yet
//! every `FINITE_CHECK_STEPS` steps, at each progress line and at each epoch end,
//! and the first non-finite one names the step. A NaN or infinite gradient shows up
//! as a non-finite loss at the next step (the weights it produced are no longer
//! finite); where the network hides that (a NaN channel zeroed by a ReLU), the
//! weights themselves are checked at every epoch end and before every checkpoint,
//! and so is the validation loss.

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Tensor};

use super::Engine;
use crate::run::{Command, Event};
use crate::train::evaluate::Evaluation;
use crate::train::TrainError;

/// Read the step losses at least this often. A read makes the host wait for the
/// device; on a GPU that waits every step loses the overlap of the next step's
/// launch with this one's work, so reading every 50th amortises the wait to under
/// a step in 50, while a divergence wastes at most 50 steps (its report names the
/// exact step either way).
pub const FINITE_CHECK_STEPS: usize = 50;

/// What was not finite, and where.
#[derive(Debug)]
pub struct Divergence {
    pub epoch: usize,
    /// 1-based step of the epoch.
    pub step: usize,
    /// e.g. "the training loss was NaN".
    pub what: String,
}

impl<B: AutodiffBackend> Engine<B> {
    /// The one host read of the training sums. Fails with the first non-finite
    /// step loss, before it reaches the epoch's sums.
    pub(super) fn flush_pending(&mut self) -> Result<(), TrainError> {
        let losses = std::mem::take(&mut self.pending_losses);
        let images = std::mem::take(&mut self.pending_images);
        let correct = self.pending_correct.take();
        if losses.is_empty() {
            return Ok(());
        }
        let first_step = self.state.step_in_epoch - losses.len();
        let values: Vec<f64> = Tensor::cat(losses, 0).into_data().iter::<f64>().collect();
        if let Some(offset) = values.iter().position(|value| !value.is_finite()) {
            let what = format!("the training loss was {}", spelled(values[offset]));
            return Err(self.non_finite(first_step + offset + 1, what));
        }
        let partial = &mut self.state.partial;
        partial.loss_sum += values.iter().sum::<f64>();
        if let Some(correct) = correct {
            partial.correct += correct.into_scalar().elem::<f64>();
        }
        partial.images += images;
        Ok(())
    }

    pub(super) fn check_weights(&self) -> Result<(), TrainError> {
        match self.trainer.weights_finite() {
            true => Ok(()),
            false => Err(self.non_finite(
                self.state.step_in_epoch,
                "the weights were no longer finite".into(),
            )),
        }
    }

    pub(super) fn check_validation(&self, evaluation: &Evaluation) -> Result<(), TrainError> {
        match evaluation.loss.is_finite() {
            true => Ok(()),
            false => Err(self.non_finite(
                self.state.step_in_epoch,
                format!("the validation loss was {}", spelled(evaluation.loss)),
            )),
        }
    }

    fn non_finite(&self, step: usize, what: String) -> TrainError {
        TrainError::NonFinite(Divergence {
            epoch: self.state.completed_epochs + 1,
            step,
            what,
        })
    }

    /// Ends a diverged run: saves what is held (all finite), says what happened and
    /// where to resume from, and with a dashboard waits until it is stopped.
    pub(super) fn stop_diverged(&mut self, divergence: Divergence) -> TrainError {
        self.retry_writes();
        let message = self.divergence_account(&divergence);
        self.emit(Event::Diverged {
            epoch: divergence.epoch,
            step: divergence.step,
            message: message.clone(),
        });
        // A stop already asked for (the dashboard's q, a hang-up) is not asked twice.
        if self.setup.wait_on_divergence && !self.stop_requested {
            self.wait_for_stop();
        }
        TrainError::Diverged(message)
    }

    fn divergence_account(&self, divergence: &Divergence) -> String {
        let Divergence { epoch, step, what } = divergence;
        let lr = self.state.schedule.lr();
        let base_lr = self.state.schedule.base_lr();
        let lower = lr_text(base_lr / 10.0);
        let base_lr = lr_text(base_lr);
        let run = self.setup.run.path().display();
        let rescue = match self.saved_last {
            Some((done, 0)) => format!(
                "Nothing non-finite was saved; the last checkpoint is checkpoints/last.ckpt (end of epoch {done}): continue from it with a lower LR, e.g. `fer train --resume {run} --lr {lower}`"
            ),
            Some((done, at)) => format!(
                "Nothing non-finite was saved; the last checkpoint is checkpoints/last.ckpt (epoch {}, step {at}): continue from it with a lower LR, e.g. `fer train --resume {run} --lr {lower}`",
                done + 1
            ),
            None => format!(
                "No checkpoint had been saved yet: start again with a lower --lr than {base_lr}"
            ),
        };
        format!(
            "the run diverged: {what} at epoch {epoch}, step {step} of {} (lr {lr:.3e}). {rescue}",
            self.steps_per_epoch
        )
    }

    /// Only a stop ends the wait; the weights are lost, so nothing resumes training.
    fn wait_for_stop(&mut self) {
        while let Ok(command) = self.io.commands.recv() {
            match command {
                Command::Stop => {
                    self.emit(Event::CommandApplied { command });
                    return;
                }
                Command::Pause | Command::Resume | Command::CheckpointNow => {
                    let reason = "the run diverged and its weights are not finite: stop it (q), then resume it with a lower LR";
                    self.emit(Event::CommandRejected {
                        command,
                        reason: reason.into(),
                    });
                }
                other => {
                    let _ = self.apply(other);
                }
            }
        }
    }
}

/// An LR as a person types it: `0.005`, `1e-5`, `1e29`.
fn lr_text(lr: f64) -> String {
    // Six significant digits, so that 1e30 / 10 reads 1e29, not 1.0000000000000001e29.
    let lr: f64 = format!("{lr:.5e}").parse().unwrap_or(lr);
    match (1e-4..1e6).contains(&lr.abs()) {
        true => format!("{lr}"),
        false => format!("{lr:e}"),
    }
}

fn spelled(value: f64) -> &'static str {
    match value {
        v if v.is_nan() => "NaN",
        v if v > 0.0 => "infinite",
        _ => "-infinite",
    }
}
