//! One run, loaded from its directory: the files a report reads, parsed once.
//!
//! A run that crashed has no `summary.json`; it is still reported from what
//! `metrics.csv` and `events.jsonl` hold (best epoch = the highest validation
//! accuracy in metrics.csv, no test scores). A run without a single finished epoch
//! is skipped by the caller with a warning.

use std::path::{Path, PathBuf};

use super::error::ReportError;
use super::lr::lr_curve;
use crate::data::{EMOTIONS, NUM_CLASSES};
use crate::metrics::ConfusionMatrix;
use crate::run::{Event, PredictedSplit, Predictions, RunDir};
use crate::train::summary::RunSummary;
use crate::train::TrainConfig;

/// One row of `metrics.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochRow {
    pub epoch: usize,
    pub lr: f64,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub val_macro_f1: f64,
    pub val_recall: [f64; NUM_CLASSES],
    pub seconds: f64,
    pub images_per_second: f64,
}

/// The learning rate a run used, x in epochs.
#[derive(Clone, Debug, PartialEq)]
pub struct LrCurve {
    /// (epoch position, lr); per step from the schedule plans, else per epoch.
    pub points: Vec<(f64, f64)>,
    /// False when only metrics.csv's per-epoch LR was available.
    pub per_step: bool,
}

/// Which split a confusion matrix counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfusionSplit {
    Test,
    /// The validation split at the best epoch (used when there is no test matrix).
    BestValidation,
}

#[derive(Clone, Debug)]
pub struct RunRecord {
    pub dir: PathBuf,
    pub id: String,
    /// Unique within a report; set by [`super::labels::assign_labels`].
    pub label: String,
    pub config: TrainConfig,
    /// `None` for a run that did not finish (crashed or still running).
    pub summary: Option<RunSummary>,
    pub epochs: Vec<EpochRow>,
    pub lr: LrCurve,
    /// From the `RunStarted` event, for runs without a summary.
    pub started_parameters: Option<usize>,
    /// The best epoch's validation confusion, from the `EpochFinished` events, for
    /// runs without a summary.
    pub event_confusions: Vec<(usize, ConfusionMatrix)>,
    pub val_predictions: Option<Predictions>,
    pub test_predictions: Option<Predictions>,
}

impl RunRecord {
    pub fn load(path: &Path) -> Result<Self, ReportError> {
        let run = RunDir::open(path)?;
        let config = read_config(&run.config_path())?;
        let summary = RunSummary::load(&run)?;
        let epochs = read_metrics(&run.metrics_path())?;
        let events = if run.events_path().is_file() {
            run.read_events()?
        } else {
            Vec::new()
        };
        let completed = summary
            .as_ref()
            .map_or(epochs.len(), |s| s.epochs_completed.max(epochs.len()));
        Ok(Self {
            dir: path.to_path_buf(),
            id: run.id(),
            label: config.model.clone(),
            lr: lr_curve(&events, &epochs, completed),
            started_parameters: started_parameters(&events),
            event_confusions: epoch_confusions(&events),
            val_predictions: run.read_predictions(PredictedSplit::Val)?,
            test_predictions: run.read_predictions(PredictedSplit::Test)?,
            config,
            summary,
            epochs,
        })
    }

    /// Nothing to report: no summary and not one epoch in metrics.csv.
    pub fn is_empty(&self) -> bool {
        self.summary.is_none() && self.epochs.is_empty()
    }

    pub fn finished(&self) -> bool {
        self.summary.is_some()
    }

    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// The summary's best epoch, else the first epoch with the highest validation accuracy.
    pub fn best_epoch(&self) -> usize {
        match &self.summary {
            Some(summary) if summary.best_epoch > 0 => summary.best_epoch,
            _ => self
                .epochs
                .iter()
                .fold(None::<&EpochRow>, |best, row| match best {
                    Some(b) if b.val_accuracy >= row.val_accuracy => Some(b),
                    _ => Some(row),
                })
                .map_or(0, |row| row.epoch),
        }
    }

    pub fn best_row(&self) -> Option<&EpochRow> {
        let best = self.best_epoch();
        self.epochs.iter().find(|row| row.epoch == best)
    }

    pub fn best_val_accuracy(&self) -> f64 {
        match &self.summary {
            Some(summary) => summary.best_val_accuracy,
            None => self.best_row().map_or(0.0, |row| row.val_accuracy),
        }
    }

    pub fn best_val_macro_f1(&self) -> f64 {
        match &self.summary {
            Some(summary) => summary.best_val_macro_f1,
            None => self.best_row().map_or(0.0, |row| row.val_macro_f1),
        }
    }

    pub fn test_accuracy(&self) -> Option<f64> {
        self.summary.as_ref().and_then(|s| s.test_accuracy)
    }

    pub fn test_macro_f1(&self) -> Option<f64> {
        self.summary.as_ref().and_then(|s| s.test_macro_f1)
    }

    pub fn parameters(&self) -> Option<usize> {
        self.summary
            .as_ref()
            .map(|s| s.parameters)
            .or(self.started_parameters)
    }

    pub fn epochs_completed(&self) -> usize {
        self.summary
            .as_ref()
            .map_or(self.epochs.len(), |s| s.epochs_completed)
    }

    pub fn training_seconds(&self) -> f64 {
        match &self.summary {
            Some(summary) => summary.training_seconds,
            None => self.epochs.iter().map(|row| row.seconds).sum(),
        }
    }

    pub fn images_per_second(&self) -> f64 {
        match &self.summary {
            Some(summary) => summary.mean_images_per_second,
            None if self.epochs.is_empty() => 0.0,
            None => {
                let sum: f64 = self.epochs.iter().map(|row| row.images_per_second).sum();
                sum / self.epochs.len() as f64
            }
        }
    }

    /// Train minus validation accuracy at the best epoch, in percentage points.
    pub fn generalisation_gap_pp(&self) -> Option<f64> {
        self.best_row()
            .map(|row| 100.0 * (row.train_accuracy - row.val_accuracy))
    }

    /// The matrix the report shows: test when there is one, else the best epoch's
    /// validation matrix.
    pub fn shown_confusion(&self) -> Option<(&ConfusionMatrix, ConfusionSplit)> {
        [ConfusionSplit::Test, ConfusionSplit::BestValidation]
            .into_iter()
            .find_map(|split| self.confusion(split).map(|matrix| (matrix, split)))
    }

    pub fn confusion(&self, split: ConfusionSplit) -> Option<&ConfusionMatrix> {
        let summary = self.summary.as_ref();
        match split {
            ConfusionSplit::Test => summary.and_then(|s| s.test_confusion.as_ref()),
            ConfusionSplit::BestValidation => {
                let best = self.best_epoch();
                summary
                    .and_then(|s| s.best_val_confusion.as_ref())
                    .or_else(|| {
                        self.event_confusions
                            .iter()
                            .rev()
                            .find(|(epoch, _)| *epoch == best)
                            .map(|(_, matrix)| matrix)
                    })
            }
        }
    }
}

fn read_text(path: &Path) -> Result<Option<String>, ReportError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ReportError::io(path, e)),
    }
}

fn read_config(path: &Path) -> Result<TrainConfig, ReportError> {
    let text = read_text(path)?.ok_or_else(|| ReportError::bad_file(path, "missing"))?;
    ron::from_str(&text).map_err(|e| ReportError::bad_file(path, e))
}

/// Parses `metrics.csv` by its header's column names, so added columns do not break
/// old reports. A missing file is an empty history.
pub fn read_metrics(path: &Path) -> Result<Vec<EpochRow>, ReportError> {
    let Some(text) = read_text(path)? else {
        return Ok(Vec::new());
    };
    parse_metrics(&text).map_err(|message| ReportError::bad_file(path, message))
}

pub fn parse_metrics(text: &str) -> Result<Vec<EpochRow>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let columns = reader.headers().map_err(|e| e.to_string())?.clone();
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    let index = |name: &str| {
        columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| format!("line 1: no `{name}` column"))
    };
    let recall_columns = EMOTIONS
        .iter()
        .map(|e| index(&format!("val_recall_{}", e.to_lowercase())))
        .collect::<Result<Vec<_>, _>>()?;
    let at = Columns {
        epoch: index("epoch")?,
        lr: index("lr")?,
        train_loss: index("train_loss")?,
        train_accuracy: index("train_accuracy")?,
        val_loss: index("val_loss")?,
        val_accuracy: index("val_accuracy")?,
        val_macro_f1: index("val_macro_f1")?,
        seconds: index("seconds")?,
        images_per_second: index("images_per_second")?,
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        rows.push(epoch_row(&record, &at, &recall_columns)?);
    }
    Ok(rows)
}

fn epoch_row(
    record: &csv::StringRecord,
    at: &Columns,
    recall_columns: &[usize],
) -> Result<EpochRow, String> {
    let number = record.position().map_or(0, |p| p.line());
    let value = |column: usize| -> Result<f64, String> {
        record
            .get(column)
            .and_then(|field| field.parse().ok())
            .ok_or_else(|| format!("line {number}: column {} is not a number", column + 1))
    };
    let mut val_recall = [0.0; NUM_CLASSES];
    for (slot, &column) in val_recall.iter_mut().zip(recall_columns) {
        *slot = value(column)?;
    }
    Ok(EpochRow {
        epoch: value(at.epoch)? as usize,
        lr: value(at.lr)?,
        train_loss: value(at.train_loss)?,
        train_accuracy: value(at.train_accuracy)?,
        val_loss: value(at.val_loss)?,
        val_accuracy: value(at.val_accuracy)?,
        val_macro_f1: value(at.val_macro_f1)?,
        val_recall,
        seconds: value(at.seconds)?,
        images_per_second: value(at.images_per_second)?,
    })
}

struct Columns {
    epoch: usize,
    lr: usize,
    train_loss: usize,
    train_accuracy: usize,
    val_loss: usize,
    val_accuracy: usize,
    val_macro_f1: usize,
    seconds: usize,
    images_per_second: usize,
}

fn started_parameters(events: &[Event]) -> Option<usize> {
    events.iter().rev().find_map(|event| match event {
        Event::RunStarted { parameters, .. } => Some(*parameters),
        _ => None,
    })
}

fn epoch_confusions(events: &[Event]) -> Vec<(usize, ConfusionMatrix)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::EpochFinished(metrics) => Some((metrics.epoch, metrics.val_confusion.clone())),
            _ => None,
        })
        .collect()
}
