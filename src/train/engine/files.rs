//! What the engine writes into the run directory besides its events: checkpoints
//! (only rank 0's during a multi-node run), predictions, faces and metrics. Every
//! write goes through `write_file`, which holds what the disk refuses.

use burn::tensor::backend::AutodiffBackend;

use super::Engine;
use crate::data::NUM_CLASSES;
use crate::run::{CheckpointKind, Event, PredictedSplit, Predictions, RunFile, ValidationFaces};
use crate::train::checkpoint::CheckpointFile;
use crate::train::TrainError;

impl<B: AutodiffBackend> Engine<B> {
    /// Saves the current state as `kind`, only ever a finite one (the steps not read
    /// yet must have been read: `flush_pending`). A refused write is held and retried.
    pub(super) fn checkpoint(&mut self, kind: CheckpointKind) -> Result<(), TrainError> {
        self.check_weights()?;
        self.save_checkpoint(kind)
    }

    /// `checkpoint` without the weight check, for the epoch end, which made it once
    /// before validation (one host read of the weights per epoch, not three).
    pub(super) fn save_checkpoint(&mut self, kind: CheckpointKind) -> Result<(), TrainError> {
        match self.writes_checkpoints() {
            true => self.write_checkpoint(kind),
            false => Ok(()),
        }
    }

    /// A node other than rank 0 saves only the weights it ends with, as `last.ckpt`:
    /// they are rank 0's, and the file shows it (tests/multinode.rs compares them).
    pub(super) fn save_final_weights(&mut self) -> Result<(), TrainError> {
        match self.writes_checkpoints() {
            true => Ok(()),
            false => self.write_checkpoint(CheckpointKind::Last),
        }
    }

    fn write_checkpoint(&mut self, kind: CheckpointKind) -> Result<(), TrainError> {
        let file = CheckpointFile {
            state: self.state.clone(),
            model: self.trainer.model_bytes()?,
            optimizer: self.trainer.optimizer_bytes()?,
        };
        let bytes = file.encode()?;
        let (epoch, step) = (self.state.completed_epochs, self.state.step_in_epoch);
        let saved = Event::CheckpointSaved {
            kind,
            path: self.setup.run.checkpoint_path(kind).display().to_string(),
            bytes: bytes.len() as u64,
            epoch,
            step,
        };
        let content = match step {
            0 => format!("epoch {epoch}"),
            _ => format!("epoch {}, step {step}", epoch + 1),
        };
        self.write_file(RunFile::Checkpoint(kind), bytes, content, Some(saved));
        Ok(())
    }

    /// For ensembles in reports (written, held and retried like every file).
    pub(super) fn save_predictions(
        &mut self,
        split: PredictedSplit,
        probabilities: Vec<[f32; NUM_CLASSES]>,
    ) {
        let data = match split {
            PredictedSplit::Val => &self.setup.dataset.val,
            PredictedSplit::Test => &self.setup.dataset.test,
        };
        let predictions = Predictions {
            labels: data.labels.clone(),
            probabilities,
        };
        match predictions.to_csv() {
            Ok(bytes) => {
                let content = format!("epoch {}", self.state.best.map_or(0, |b| b.0));
                self.write_file(RunFile::Predictions(split), bytes, content, None);
            }
            Err(error) => {
                let message = format!("predictions not saved: {error}");
                self.emit(Event::Warning { message });
            }
        }
    }

    /// Before `EpochFinished`, so that a viewer the event wakes reads this epoch's.
    pub(super) fn write_faces(&mut self, epoch: usize, probabilities: &[[f32; NUM_CLASSES]]) {
        let labels = &self.setup.dataset.val.labels;
        let faces = ValidationFaces::from_predictions(epoch, labels, probabilities);
        let content = format!("epoch {epoch}");
        self.write_file(RunFile::Faces, faces.to_json(), content, None);
    }

    pub(super) fn write_metrics(&mut self) {
        match crate::run::metrics_csv(&self.state.history) {
            Ok(bytes) => {
                let content = format!("epochs up to {}", self.state.completed_epochs);
                self.write_file(RunFile::Metrics, bytes, content, None);
            }
            Err(error) => {
                let message = format!("metrics.csv not saved: {error}");
                self.emit(Event::Warning { message });
            }
        }
    }
}
