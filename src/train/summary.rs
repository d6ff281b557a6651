//! `summary.json`: the end state of a run, for reports and comparisons.

use serde::{Deserialize, Serialize};

use super::checkpoint::TrainingState;
use super::engine::EngineSetup;
use super::evaluate::Evaluation;
use super::TrainError;
use crate::metrics::ConfusionMatrix;
use crate::run::{RunDir, RunError};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run_id: String,
    pub model: String,
    pub parameters: usize,
    pub data_source: String,
    pub epochs_completed: usize,
    pub best_epoch: usize,
    #[serde(with = "crate::run::nonfinite")]
    pub best_val_accuracy: f64,
    #[serde(with = "crate::run::nonfinite")]
    pub best_val_macro_f1: f64,
    pub best_val_confusion: Option<ConfusionMatrix>,
    #[serde(with = "crate::run::nonfinite::option")]
    pub test_accuracy: Option<f64>,
    #[serde(with = "crate::run::nonfinite::option")]
    pub test_macro_f1: Option<f64>,
    pub test_confusion: Option<ConfusionMatrix>,
    #[serde(with = "crate::run::nonfinite")]
    pub training_seconds: f64,
    #[serde(with = "crate::run::nonfinite")]
    pub mean_images_per_second: f64,
}

/// The best checkpoint's evaluations after training, with the reported TTA.
#[derive(Debug, Default)]
pub struct FinalEvaluations {
    /// Whose weights: the best epoch's, or the last one's where `best.ckpt` is gone.
    pub epoch: usize,
    /// Validation again, when the per-epoch validation used other views: it then
    /// replaces the best epoch's figures in the summary.
    pub val: Option<Evaluation>,
    pub test: Option<Evaluation>,
}

impl RunSummary {
    pub fn new(
        setup: &EngineSetup,
        state: &TrainingState,
        parameters: usize,
        evaluated: &FinalEvaluations,
    ) -> Self {
        let best = state
            .best
            .and_then(|(epoch, _)| state.history.iter().find(|m| m.epoch == epoch));
        let (val, test) = (evaluated.val.as_ref(), evaluated.test.as_ref());
        let epochs = state.history.len().max(1) as f64;
        Self {
            run_id: setup.run.id(),
            model: state.config.model.clone(),
            parameters,
            data_source: setup.dataset.source.clone(),
            epochs_completed: state.completed_epochs,
            best_epoch: best.map_or(0, |m| m.epoch),
            best_val_accuracy: val.map_or(best.map_or(0.0, |m| m.val_accuracy), |v| v.accuracy()),
            best_val_macro_f1: val.map_or(best.map_or(0.0, |m| m.val_macro_f1), |v| {
                v.confusion.macro_f1()
            }),
            best_val_confusion: val
                .map(|v| v.confusion.clone())
                .or_else(|| best.map(|m| m.val_confusion.clone())),
            test_accuracy: test.map(|t| t.accuracy()),
            test_macro_f1: test.map(|t| t.confusion.macro_f1()),
            test_confusion: test.map(|t| t.confusion.clone()),
            training_seconds: state.elapsed_seconds,
            mean_images_per_second: state
                .history
                .iter()
                .map(|m| m.images_per_second)
                .sum::<f64>()
                / epochs,
        }
    }

    /// The run's `summary.json`; `None` when the run has not finished (or crashed).
    pub fn load(run: &RunDir) -> Result<Option<Self>, RunError> {
        crate::run::read_json_if_present(&run.summary_path())
    }

    pub fn to_json(&self) -> Result<Vec<u8>, TrainError> {
        serde_json::to_vec_pretty(self)
            .map_err(|e| TrainError::Checkpoint(format!("encoding summary: {e}")))
    }
}
