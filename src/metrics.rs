//! Confusion matrix and per-class metrics.
//!
//! Degenerate cases are defined rather than NaN, so a report never prints `NaN`:
//! - `accuracy()` of an empty matrix is 0.
//! - `recall(c)` is 0 when class `c` has no true samples (empty row).
//! - `precision(c)` is 0 when class `c` was never predicted (empty column).
//! - `f1(c)` is 0 when precision + recall is 0.
//! - `macro_f1()` averages F1 over the classes that occur as a true or a
//!   predicted class (like scikit-learn's `f1_score(average="macro",
//!   zero_division=0)` without `labels`); it is 0 for an empty matrix.
//! - Queries with a class index outside `0..num_classes` answer 0.

mod tables;

use serde::{Deserialize, Serialize};

pub use tables::{confusion_table, per_class_table};

/// Index of the largest value (the first of equals; 0 when empty): the predicted class.
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 {
                (i, v)
            } else {
                best
            }
        })
        .0
}

/// Why a confusion-matrix update was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    #[error(
        "class {class} is out of range: the matrix has {num_classes} classes (0..{num_classes})"
    )]
    ClassOutOfRange { class: String, num_classes: usize },
    #[error("{truths} true labels but {predictions} predictions in one batch")]
    BatchLengthMismatch { truths: usize, predictions: usize },
    #[error("cannot merge a {theirs}-class confusion matrix into a {ours}-class one")]
    ClassCountMismatch { ours: usize, theirs: usize },
    #[error("confusion matrix row {row} has {len} entries, expected {expected}")]
    NotSquare {
        row: usize,
        len: usize,
        expected: usize,
    },
}

/// Counts of (true class, predicted class) pairs: `counts[true][predicted]`.
///
/// Deserialisation checks that the matrix is square, so a hand-edited file
/// cannot make later queries index out of bounds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawConfusionMatrix")]
pub struct ConfusionMatrix {
    counts: Vec<Vec<u64>>,
}

#[derive(Deserialize)]
struct RawConfusionMatrix {
    counts: Vec<Vec<u64>>,
}

impl TryFrom<RawConfusionMatrix> for ConfusionMatrix {
    type Error = MetricsError;

    fn try_from(raw: RawConfusionMatrix) -> Result<Self, Self::Error> {
        let expected = raw.counts.len();
        if let Some((row, cells)) = raw
            .counts
            .iter()
            .enumerate()
            .find(|(_, cells)| cells.len() != expected)
        {
            return Err(MetricsError::NotSquare {
                row,
                len: cells.len(),
                expected,
            });
        }
        Ok(Self { counts: raw.counts })
    }
}

/// One off-diagonal cell of a confusion matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfusedPair {
    pub true_class: usize,
    pub predicted_class: usize,
    pub count: u64,
}

impl ConfusionMatrix {
    pub fn new(num_classes: usize) -> Self {
        Self {
            counts: vec![vec![0; num_classes]; num_classes],
        }
    }

    pub fn num_classes(&self) -> usize {
        self.counts.len()
    }

    /// Adds one sample.
    pub fn record(
        &mut self,
        true_class: usize,
        predicted_class: usize,
    ) -> Result<(), MetricsError> {
        self.check_class(true_class)?;
        self.check_class(predicted_class)?;
        self.counts[true_class][predicted_class] += 1;
        Ok(())
    }

    /// Adds a batch of samples given as parallel slices of class indices
    /// (`u8` labels, `usize`, or the `i64`/`i32` an argmax returns).
    /// The whole batch is checked first: on error nothing is recorded.
    pub fn record_batch<T, P>(
        &mut self,
        truths: &[T],
        predictions: &[P],
    ) -> Result<(), MetricsError>
    where
        T: Copy + TryInto<usize> + std::fmt::Display,
        P: Copy + TryInto<usize> + std::fmt::Display,
    {
        if truths.len() != predictions.len() {
            return Err(MetricsError::BatchLengthMismatch {
                truths: truths.len(),
                predictions: predictions.len(),
            });
        }
        let pairs = truths
            .iter()
            .zip(predictions)
            .map(|(&truth, &prediction)| {
                Ok((self.class_index(truth)?, self.class_index(prediction)?))
            })
            .collect::<Result<Vec<_>, MetricsError>>()?;
        for (truth, prediction) in pairs {
            self.counts[truth][prediction] += 1;
        }
        Ok(())
    }

    /// Adds every count of `other` (e.g. matrices from several eval batches or workers).
    pub fn merge(&mut self, other: &ConfusionMatrix) -> Result<(), MetricsError> {
        if other.num_classes() != self.num_classes() {
            return Err(MetricsError::ClassCountMismatch {
                ours: self.num_classes(),
                theirs: other.num_classes(),
            });
        }
        for (our_row, their_row) in self.counts.iter_mut().zip(&other.counts) {
            for (ours, theirs) in our_row.iter_mut().zip(their_row) {
                *ours += theirs;
            }
        }
        Ok(())
    }

    /// Samples of `true_class` predicted as `predicted_class` (0 when out of range).
    pub fn count(&self, true_class: usize, predicted_class: usize) -> u64 {
        self.counts
            .get(true_class)
            .and_then(|row| row.get(predicted_class))
            .copied()
            .unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().flatten().sum()
    }

    /// Correctly classified samples (the diagonal).
    pub fn correct(&self) -> u64 {
        (0..self.num_classes())
            .map(|class| self.counts[class][class])
            .sum()
    }

    /// Fraction in [0, 1]; 0 for an empty matrix.
    pub fn accuracy(&self) -> f64 {
        ratio(self.correct(), self.total())
    }

    /// True samples of `class` (row sum).
    pub fn support(&self, class: usize) -> u64 {
        self.counts.get(class).map_or(0, |row| row.iter().sum())
    }

    /// Samples predicted as `class` (column sum).
    pub fn predicted(&self, class: usize) -> u64 {
        self.counts.iter().filter_map(|row| row.get(class)).sum()
    }

    /// 0 when the class has no true samples.
    pub fn recall(&self, class: usize) -> f64 {
        ratio(self.count(class, class), self.support(class))
    }

    /// 0 when the class was never predicted.
    pub fn precision(&self, class: usize) -> f64 {
        ratio(self.count(class, class), self.predicted(class))
    }

    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub fn f1(&self, class: usize) -> f64 {
        let precision = self.precision(class);
        let recall = self.recall(class);
        if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        }
    }

    /// Mean F1 over classes that occur as a true or predicted class; 0 when empty.
    pub fn macro_f1(&self) -> f64 {
        let present: Vec<usize> = (0..self.num_classes())
            .filter(|&class| self.support(class) > 0 || self.predicted(class) > 0)
            .collect();
        if present.is_empty() {
            return 0.0;
        }
        present.iter().map(|&class| self.f1(class)).sum::<f64>() / present.len() as f64
    }

    /// Each row divided by its support, as fractions in [0, 1] (rows sum to 1);
    /// a row with no samples stays all 0.
    pub fn row_normalised(&self) -> Vec<Vec<f64>> {
        self.counts
            .iter()
            .map(|row| {
                let support: u64 = row.iter().sum();
                row.iter().map(|&count| ratio(count, support)).collect()
            })
            .collect()
    }

    /// Up to `k` non-zero off-diagonal cells, largest count first; ties keep
    /// (true class, predicted class) order so the output is deterministic.
    pub fn most_confused_pairs(&self, k: usize) -> Vec<ConfusedPair> {
        let mut pairs: Vec<ConfusedPair> = self
            .counts
            .iter()
            .enumerate()
            .flat_map(|(true_class, row)| {
                row.iter()
                    .enumerate()
                    .filter(move |&(predicted_class, &count)| {
                        predicted_class != true_class && count > 0
                    })
                    .map(move |(predicted_class, &count)| ConfusedPair {
                        true_class,
                        predicted_class,
                        count,
                    })
            })
            .collect();
        pairs.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then((a.true_class, a.predicted_class).cmp(&(b.true_class, b.predicted_class)))
        });
        pairs.truncate(k);
        pairs
    }

    /// The raw counts, `[true][predicted]`.
    pub fn counts(&self) -> &[Vec<u64>] {
        &self.counts
    }

    fn check_class(&self, class: usize) -> Result<(), MetricsError> {
        if class < self.num_classes() {
            Ok(())
        } else {
            Err(self.out_of_range(class))
        }
    }

    fn class_index<T>(&self, class: T) -> Result<usize, MetricsError>
    where
        T: Copy + TryInto<usize> + std::fmt::Display,
    {
        match class.try_into() {
            Ok(index) if index < self.num_classes() => Ok(index),
            _ => Err(self.out_of_range(class)),
        }
    }

    fn out_of_range(&self, class: impl std::fmt::Display) -> MetricsError {
        MetricsError::ClassOutOfRange {
            class: class.to_string(),
            num_classes: self.num_classes(),
        }
    }
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}
