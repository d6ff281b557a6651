//! `predictions/{val,test}.csv`: a run's softmax outputs per image, with the true
//! label, so that reports can build ensembles without loading a model.
//!
//! One row per image, in the split's order: `label,angry,disgust,…,neutral`, the
//! probabilities with six decimals. `val.csv` belongs to the best-validation epoch
//! (rewritten whenever the best improves), `test.csv` to the best checkpoint.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::dir::write_atomic;
use super::{RunDir, RunError};
use crate::data::{EMOTIONS, NUM_CLASSES};

pub const PREDICTIONS_DIR: &str = "predictions";

/// Which split a predictions file covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PredictedSplit {
    Val,
    Test,
}

/// True labels and predicted probabilities of one split, image by image.
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    pub labels: Vec<u8>,
    pub probabilities: Vec<[f32; NUM_CLASSES]>,
}

impl RunDir {
    pub fn predictions_path(&self, split: PredictedSplit) -> PathBuf {
        let name = match split {
            PredictedSplit::Val => "val.csv",
            PredictedSplit::Test => "test.csv",
        };
        self.path().join(PREDICTIONS_DIR).join(name)
    }

    /// Writes the file atomically (a reader never sees half of it).
    pub fn write_predictions(
        &self,
        split: PredictedSplit,
        predictions: &Predictions,
    ) -> Result<(), RunError> {
        let path = self.predictions_path(split);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| RunError::io(dir, e))?;
        }
        write_atomic(&path, predictions.to_csv().as_bytes())
    }

    /// `None` when the run has no such file (a run from before predictions were
    /// saved, or one without a test split).
    pub fn read_predictions(&self, split: PredictedSplit) -> Result<Option<Predictions>, RunError> {
        let path = self.predictions_path(split);
        match std::fs::read_to_string(&path) {
            Ok(text) => Predictions::from_csv(&text)
                .map(Some)
                .map_err(|message| RunError::bad_file(&path, message)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(RunError::io(&path, e)),
        }
    }
}

impl Predictions {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn to_csv(&self) -> String {
        let mut text = String::from("label");
        for name in EMOTIONS {
            text.push(',');
            text.push_str(&name.to_lowercase());
        }
        text.push('\n');
        for (label, row) in self.labels.iter().zip(&self.probabilities) {
            let _ = write!(text, "{label}");
            for p in row {
                let _ = write!(text, ",{p:.6}");
            }
            text.push('\n');
        }
        text
    }

    /// Parses `to_csv`'s format; the error names the line.
    pub fn from_csv(text: &str) -> Result<Self, String> {
        let mut lines = text.lines();
        let header = lines.next().ok_or("empty file (no header)")?;
        if header.split(',').count() != NUM_CLASSES + 1 {
            return Err(format!(
                "line 1: expected a header of label and {NUM_CLASSES} emotions, got {header:?}"
            ));
        }
        let mut predictions = Predictions {
            labels: Vec::new(),
            probabilities: Vec::new(),
        };
        for (index, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let number = index + 2;
            let mut fields = line.split(',');
            let label: u8 = fields
                .next()
                .and_then(|f| f.trim().parse().ok())
                .filter(|&l| usize::from(l) < NUM_CLASSES)
                .ok_or_else(|| format!("line {number}: the label is not 0..{NUM_CLASSES}"))?;
            let mut row = [0.0f32; NUM_CLASSES];
            let mut count = 0;
            for (slot, field) in row.iter_mut().zip(fields.by_ref()) {
                *slot = field
                    .trim()
                    .parse()
                    .map_err(|_| format!("line {number}: {field:?} is not a number"))?;
                count += 1;
            }
            if count != NUM_CLASSES || fields.next().is_some() {
                return Err(format!(
                    "line {number}: expected {NUM_CLASSES} probabilities"
                ));
            }
            predictions.labels.push(label);
            predictions.probabilities.push(row);
        }
        Ok(predictions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_round_trips_and_names_bad_lines() {
        let predictions = Predictions {
            labels: vec![3, 0],
            probabilities: vec![[0.1, 0.0, 0.0, 0.7, 0.1, 0.05, 0.05], [1.0 / 7.0; 7]],
        };
        let text = predictions.to_csv();
        assert!(text.starts_with("label,angry,disgust,fear,happy,sad,surprise,neutral\n"));
        let back = Predictions::from_csv(&text).unwrap();
        assert_eq!(back.labels, predictions.labels);
        for (a, b) in back.probabilities.iter().zip(&predictions.probabilities) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-6);
            }
        }
        let broken = text.replace("0,0.142857", "9,0.142857");
        assert!(Predictions::from_csv(&broken)
            .unwrap_err()
            .starts_with("line 3:"));
        let short = "label,a,b,c,d,e,f,g\n1,0.5,0.5\n";
        assert!(Predictions::from_csv(short).unwrap_err().contains("line 2"));
    }
}
