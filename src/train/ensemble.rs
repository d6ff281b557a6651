//! Ensembles: several models' softmax outputs on the same images, averaged.

use thiserror::Error;

use super::evaluate::{argmax, Evaluation};
use crate::data::NUM_CLASSES;
use crate::metrics::ConfusionMatrix;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EnsembleError {
    #[error("an ensemble needs at least one member")]
    Empty,
    #[error("member {member} has {images} predictions for {labels} labelled images")]
    LengthMismatch {
        member: usize,
        images: usize,
        labels: usize,
    },
    #[error("label {label} of image {image} is not one of the {NUM_CLASSES} emotions")]
    BadLabel { image: usize, label: u8 },
}

/// The mean of the members' probabilities per image, scored against `labels`: the
/// ensemble's confusion matrix, its cross-entropy (natural log of the averaged
/// probability of the true class, floored at 1e-12), and the averaged
/// probabilities themselves.
pub fn average(members: &[&Evaluation], labels: &[u8]) -> Result<Evaluation, EnsembleError> {
    if members.is_empty() {
        return Err(EnsembleError::Empty);
    }
    for (member, evaluation) in members.iter().enumerate() {
        if evaluation.probabilities.len() != labels.len() {
            return Err(EnsembleError::LengthMismatch {
                member,
                images: evaluation.probabilities.len(),
                labels: labels.len(),
            });
        }
    }
    let weight = 1.0 / members.len() as f32;
    let mut confusion = ConfusionMatrix::new(NUM_CLASSES);
    let mut loss_sum = 0.0;
    let mut probabilities = Vec::with_capacity(labels.len());
    for (image, &label) in labels.iter().enumerate() {
        let mut mean = [0.0f32; NUM_CLASSES];
        for member in members {
            for (sum, &p) in mean.iter_mut().zip(&member.probabilities[image]) {
                *sum += weight * p;
            }
        }
        let truth = usize::from(label);
        confusion
            .record(truth, argmax(&mean))
            .map_err(|_| EnsembleError::BadLabel { image, label })?;
        loss_sum -= f64::from(mean[truth].max(1e-12)).ln();
        probabilities.push(mean);
    }
    Ok(Evaluation {
        confusion,
        loss: loss_sum / labels.len().max(1) as f64,
        probabilities,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(rows: &[[f32; NUM_CLASSES]]) -> Evaluation {
        Evaluation::unscored(rows.to_vec())
    }

    fn one_hot_ish(class: usize, confidence: f32) -> [f32; NUM_CLASSES] {
        let rest = (1.0 - confidence) / (NUM_CLASSES - 1) as f32;
        let mut row = [rest; NUM_CLASSES];
        row[class] = confidence;
        row
    }

    #[test]
    fn probabilities_are_averaged_and_the_argmax_is_scored() {
        // Image 0 (label 3): A says 3 weakly, B says 5 strongly -> the mean says 5.
        // Image 1 (label 0): both say 0.
        let a = member(&[one_hot_ish(3, 0.4), one_hot_ish(0, 0.9)]);
        let b = member(&[one_hot_ish(5, 0.8), one_hot_ish(0, 0.7)]);
        let ensemble = average(&[&a, &b], &[3, 0]).unwrap();
        // A spreads 0.6 over six classes (0.1 each), B spreads 0.2 (1/30 each).
        let mean_3 = 0.5 * (0.4 + 0.2 / 6.0);
        let mean_5 = 0.5 * (0.6 / 6.0 + 0.8);
        assert!((ensemble.probabilities[0][3] - mean_3).abs() < 1e-6);
        assert!((ensemble.probabilities[0][5] - mean_5).abs() < 1e-6);
        assert_eq!(ensemble.confusion.count(3, 5), 1);
        assert_eq!(ensemble.confusion.count(0, 0), 1);
        assert_eq!(ensemble.accuracy(), 0.5);
        let p_true = [
            f64::from(ensemble.probabilities[0][3]),
            f64::from(ensemble.probabilities[1][0]),
        ];
        let loss = -(p_true[0].ln() + p_true[1].ln()) / 2.0;
        assert!(
            (ensemble.loss - loss).abs() < 1e-9,
            "{} vs {loss}",
            ensemble.loss
        );
        for row in &ensemble.probabilities {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
    }

    #[test]
    fn one_member_is_itself() {
        let a = member(&[one_hot_ish(2, 0.6), one_hot_ish(6, 0.3)]);
        let ensemble = average(&[&a], &[2, 1]).unwrap();
        assert_eq!(ensemble.probabilities, a.probabilities);
        assert_eq!(ensemble.confusion.count(2, 2), 1);
        assert_eq!(ensemble.confusion.count(1, 6), 1);
    }

    #[test]
    fn mismatched_members_and_bad_labels_are_errors() {
        let a = member(&[one_hot_ish(2, 0.6)]);
        assert_eq!(average(&[], &[0]).unwrap_err(), EnsembleError::Empty);
        assert!(matches!(
            average(&[&a], &[0, 1]),
            Err(EnsembleError::LengthMismatch {
                member: 0,
                images: 1,
                labels: 2
            })
        ));
        assert_eq!(
            average(&[&a], &[9]).unwrap_err(),
            EnsembleError::BadLabel { image: 0, label: 9 }
        );
    }
}
