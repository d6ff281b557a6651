//! `predictions/{val,test}.csv`: a run's softmax outputs per image, with the true
//! label, so that reports can build ensembles without loading a model.
//!
//! One row per image, in the split's order: `label,angry,disgust,…,neutral`, the
//! probabilities with six decimals. `val.csv` belongs to the best-validation epoch
//! (rewritten whenever the best improves), `test.csv` to the best checkpoint.

use std::path::PathBuf;

use super::{RunDir, RunError, RunFile};
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
        let bytes = predictions
            .to_csv()
            .map_err(|e| RunError::bad_file(&path, e))?;
        self.replace_file(RunFile::Predictions(split), &bytes)
    }

    /// `None` when the run has no such file (a run from before predictions were
    /// saved, or one without a test split).
    pub fn read_predictions(&self, split: PredictedSplit) -> Result<Option<Predictions>, RunError> {
        let path = self.predictions_path(split);
        match std::fs::read_to_string(&path) {
            Ok(text) => Predictions::from_csv(text.as_bytes())
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

    /// The file's bytes: a header, then one row per image.
    pub fn to_csv(&self) -> Result<Vec<u8>, csv::Error> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let mut header = vec!["label".to_string()];
        header.extend(EMOTIONS.iter().map(|name| name.to_lowercase()));
        writer.write_record(&header)?;
        for (label, row) in self.labels.iter().zip(&self.probabilities) {
            let mut record = vec![label.to_string()];
            record.extend(row.iter().map(|p| format!("{p:.6}")));
            writer.write_record(&record)?;
        }
        writer.into_inner().map_err(|e| e.into_error().into())
    }

    /// Parses `to_csv`'s format; the error names the line.
    pub fn from_csv(bytes: &[u8]) -> Result<Self, String> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(bytes);
        let header = reader.headers().map_err(|e| e.to_string())?;
        if header.is_empty() {
            return Err("empty file (no header)".into());
        }
        if header.len() != NUM_CLASSES + 1 {
            return Err(format!(
                "line 1: expected a header of label and {NUM_CLASSES} emotions, got {:?}",
                header.iter().collect::<Vec<_>>().join(",")
            ));
        }
        let mut predictions = Predictions {
            labels: Vec::new(),
            probabilities: Vec::new(),
        };
        for record in reader.records() {
            let record = record.map_err(|e| e.to_string())?;
            let number = record.position().map_or(0, |p| p.line());
            let (label, row) = parse_row(&record, number)?;
            predictions.labels.push(label);
            predictions.probabilities.push(row);
        }
        Ok(predictions)
    }
}

fn parse_row(record: &csv::StringRecord, number: u64) -> Result<(u8, [f32; NUM_CLASSES]), String> {
    if record.len() != NUM_CLASSES + 1 {
        return Err(format!(
            "line {number}: expected {NUM_CLASSES} probabilities"
        ));
    }
    let label: u8 = record[0]
        .parse()
        .ok()
        .filter(|&l| usize::from(l) < NUM_CLASSES)
        .ok_or_else(|| format!("line {number}: the label is not 0..{NUM_CLASSES}"))?;
    let mut row = [0.0f32; NUM_CLASSES];
    for (slot, field) in row.iter_mut().zip(record.iter().skip(1)) {
        *slot = field
            .parse()
            .map_err(|_| format!("line {number}: {field:?} is not a number"))?;
    }
    Ok((label, row))
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
        let text = String::from_utf8(predictions.to_csv().unwrap()).unwrap();
        assert!(text.starts_with("label,angry,disgust,fear,happy,sad,surprise,neutral\n"));
        let back = Predictions::from_csv(text.as_bytes()).unwrap();
        assert_eq!(back.labels, predictions.labels);
        for (a, b) in back.probabilities.iter().zip(&predictions.probabilities) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() < 1e-6);
            }
        }
        let broken = text.replace("0,0.142857", "9,0.142857");
        assert!(Predictions::from_csv(broken.as_bytes())
            .unwrap_err()
            .starts_with("line 3:"));
        let short = "label,a,b,c,d,e,f,g\n1,0.5,0.5\n";
        assert!(Predictions::from_csv(short.as_bytes())
            .unwrap_err()
            .contains("line 2"));
    }
}
