//! The best ensemble of the runs: every subset of two or more runs whose
//! validation predictions cover the same images, averaged with
//! [`crate::train::ensemble::average`] and chosen by validation accuracy.

use super::record::RunRecord;
use crate::run::Predictions;
use crate::train::ensemble::{average, EnsembleError};
use crate::train::evaluate::Evaluation;

/// 2^12 - 13 = 4083 subsets: well under a second on FER2013's 3,589 validation faces.
pub const MAX_CANDIDATES: usize = 12;

#[derive(Clone, Debug, PartialEq)]
pub enum EnsembleOutcome {
    /// Why there is no ensemble (one line).
    Skipped(String),
    Chosen(EnsembleChoice),
}

#[derive(Clone, Debug, PartialEq)]
pub struct EnsembleChoice {
    /// Labels of the chosen runs, in the runs' order.
    pub members: Vec<String>,
    /// Labels of the runs searched over.
    pub candidates: Vec<String>,
    pub subsets_tried: usize,
    pub val_accuracy: f64,
    pub val_macro_f1: f64,
    /// When every member has test predictions on the same images.
    pub test_accuracy: Option<f64>,
    pub test_macro_f1: Option<f64>,
    /// The most accurate candidate alone (validation), for comparison.
    pub best_single: (String, f64),
    /// Runs left out of the search, and why.
    pub notes: Vec<String>,
}

pub fn best_ensemble(records: &[RunRecord]) -> EnsembleOutcome {
    let with_predictions: Vec<&RunRecord> = records
        .iter()
        .filter(|r| r.val_predictions.as_ref().is_some_and(|p| !p.is_empty()))
        .collect();
    if with_predictions.len() < 2 {
        return EnsembleOutcome::Skipped(format!(
            "fewer than two runs have validation predictions (predictions/val.csv): {} of {}",
            with_predictions.len(),
            records.len()
        ));
    }
    let mut notes = Vec::new();
    let group = same_images_group(&with_predictions, &mut notes);
    if group.len() < 2 {
        return EnsembleOutcome::Skipped(
            "no two runs have validation predictions on the same images".into(),
        );
    }
    match search(&group, &mut notes) {
        Ok(outcome) => outcome,
        Err(error) => EnsembleOutcome::Skipped(format!("the predictions do not fit: {error}")),
    }
}

fn val(record: &RunRecord) -> &Predictions {
    // Callers keep only records with validation predictions.
    record
        .val_predictions
        .as_ref()
        .unwrap_or(&EMPTY_PREDICTIONS)
}

static EMPTY_PREDICTIONS: Predictions = Predictions {
    labels: Vec::new(),
    probabilities: Vec::new(),
};

/// The largest set of runs whose validation labels are identical (the first such
/// set on a tie); the others are noted.
fn same_images_group<'a>(records: &[&'a RunRecord], notes: &mut Vec<String>) -> Vec<&'a RunRecord> {
    let mut groups: Vec<Vec<&RunRecord>> = Vec::new();
    for &record in records {
        match groups
            .iter_mut()
            .find(|g| val(g[0]).labels == val(record).labels)
        {
            Some(group) => group.push(record),
            None => groups.push(vec![record]),
        }
    }
    let largest = groups
        .iter()
        .enumerate()
        .max_by(|(ia, a), (ib, b)| a.len().cmp(&b.len()).then(ib.cmp(ia)))
        .map_or(0, |(index, _)| index);
    let chosen = groups.swap_remove(largest);
    for record in groups.into_iter().flatten() {
        notes.push(format!(
            "{} left out: its validation predictions cover other images than {}'s",
            record.label, chosen[0].label
        ));
    }
    chosen
}

fn search(group: &[&RunRecord], notes: &mut Vec<String>) -> Result<EnsembleOutcome, EnsembleError> {
    let labels = &val(group[0]).labels;
    let mut scored: Vec<(&RunRecord, Evaluation)> = group
        .iter()
        .map(|&record| Ok((record, scored_alone(val(record), labels)?)))
        .collect::<Result<_, EnsembleError>>()?;
    if scored.len() > MAX_CANDIDATES {
        // Keep the most accurate runs alone; stable, so ties keep the runs' order.
        scored.sort_by(|a, b| b.1.accuracy().total_cmp(&a.1.accuracy()));
        for (record, _) in scored.drain(MAX_CANDIDATES..) {
            notes.push(format!(
                "{} left out: the search is capped at the {MAX_CANDIDATES} most accurate runs",
                record.label
            ));
        }
        let order = |r: &RunRecord| group.iter().position(|g| std::ptr::eq(*g, r));
        scored.sort_by_key(|(record, _)| order(record));
    }
    let evaluations: Vec<&Evaluation> = scored.iter().map(|(_, e)| e).collect();
    let Some((members, validation)) = best_subset(&evaluations, labels)? else {
        return Ok(EnsembleOutcome::Skipped("fewer than two candidates".into()));
    };
    let chosen: Vec<&RunRecord> = members.iter().map(|&i| scored[i].0).collect();
    let (test_accuracy, test_macro_f1) = match test_score(&chosen)? {
        Some(test) => (Some(test.accuracy()), Some(test.confusion.macro_f1())),
        None => (None, None),
    };
    let best_single = scored
        .iter()
        .fold(
            None::<&(&RunRecord, Evaluation)>,
            |best, entry| match best {
                Some(b) if b.1.accuracy() >= entry.1.accuracy() => Some(b),
                _ => Some(entry),
            },
        )
        .map_or((String::new(), 0.0), |(r, e)| {
            (r.label.clone(), e.accuracy())
        });
    Ok(EnsembleOutcome::Chosen(EnsembleChoice {
        members: chosen.iter().map(|r| r.label.clone()).collect(),
        candidates: scored.iter().map(|(r, _)| r.label.clone()).collect(),
        subsets_tried: subsets_of_two_or_more(scored.len()),
        val_accuracy: validation.accuracy(),
        val_macro_f1: validation.confusion.macro_f1(),
        test_accuracy,
        test_macro_f1,
        best_single,
        notes: std::mem::take(notes),
    }))
}

/// One run's predictions scored as an evaluation (an ensemble of one).
fn scored_alone(predictions: &Predictions, labels: &[u8]) -> Result<Evaluation, EnsembleError> {
    let unscored = Evaluation::unscored(predictions.probabilities.clone());
    average(&[&unscored], labels)
}

pub fn subsets_of_two_or_more(candidates: usize) -> usize {
    (1usize << candidates) - candidates - 1
}

/// The subset of two or more `members` whose averaged probabilities classify the
/// most `labels` correctly; on a tie the smaller subset, then the first in
/// (size, bit pattern) order. Returns the members' indices, ascending.
pub fn best_subset(
    members: &[&Evaluation],
    labels: &[u8],
) -> Result<Option<(Vec<usize>, Evaluation)>, EnsembleError> {
    let count = members.len().min(usize::BITS as usize - 1);
    let mut masks: Vec<usize> = (1usize..1 << count)
        .filter(|mask| mask.count_ones() >= 2)
        .collect();
    masks.sort_by_key(|mask| (mask.count_ones(), *mask));
    let mut best: Option<(Vec<usize>, Evaluation)> = None;
    for mask in masks {
        let indices: Vec<usize> = (0..count).filter(|i| mask & (1 << i) != 0).collect();
        let chosen: Vec<&Evaluation> = indices.iter().map(|&i| members[i]).collect();
        let evaluation = average(&chosen, labels)?;
        // Strictly better only: an equal score keeps the earlier, smaller subset.
        if best
            .as_ref()
            .is_none_or(|(_, b)| evaluation.confusion.correct() > b.confusion.correct())
        {
            best = Some((indices, evaluation));
        }
    }
    Ok(best)
}

/// The ensemble on the test split, when every member has test predictions on the
/// same images.
fn test_score(members: &[&RunRecord]) -> Result<Option<Evaluation>, EnsembleError> {
    let tests: Option<Vec<&Predictions>> = members
        .iter()
        .map(|r| r.test_predictions.as_ref().filter(|p| !p.is_empty()))
        .collect();
    let Some(tests) = tests else {
        return Ok(None);
    };
    let labels = &tests[0].labels;
    if tests.iter().any(|t| &t.labels != labels) {
        return Ok(None);
    }
    // Members need no scoring of their own here: only the average is scored.
    let evaluations: Vec<Evaluation> = tests
        .iter()
        .map(|t| Evaluation::unscored(t.probabilities.clone()))
        .collect();
    let refs: Vec<&Evaluation> = evaluations.iter().collect();
    average(&refs, labels).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::NUM_CLASSES;

    fn member(rows: &[[f32; NUM_CLASSES]]) -> Evaluation {
        Evaluation::unscored(rows.to_vec())
    }

    fn says(class: usize, confidence: f32) -> [f32; NUM_CLASSES] {
        let mut row = [(1.0 - confidence) / 6.0; NUM_CLASSES];
        row[class] = confidence;
        row
    }

    #[test]
    fn the_most_accurate_subset_wins_and_ties_go_to_fewer_members() {
        let labels = [0, 1, 2];
        // A and B are each right on two images, and together right on all three;
        // C is wrong everywhere and only dilutes them.
        let a = member(&[says(0, 0.9), says(1, 0.9), says(3, 0.6)]);
        let b = member(&[says(0, 0.9), says(4, 0.6), says(2, 0.9)]);
        let c = member(&[says(5, 0.9), says(5, 0.9), says(5, 0.9)]);
        let (indices, evaluation) = best_subset(&[&a, &c, &b], &labels).unwrap().unwrap();
        assert_eq!(indices, vec![0, 2]);
        assert_eq!(evaluation.confusion.correct(), 3);
        // Two copies of A: every subset scores the same, so the first pair stays.
        let (indices, _) = best_subset(&[&a, &a, &a], &labels).unwrap().unwrap();
        assert_eq!(indices, vec![0, 1]);
        assert!(best_subset(&[&b], &labels).unwrap().is_none());
        assert_eq!(subsets_of_two_or_more(3), 4);
        assert_eq!(subsets_of_two_or_more(12), 4083);
    }
}
