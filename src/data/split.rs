//! Completing the splits after parsing: a stratified, seeded validation
//! hold-out when the source has no PublicTest rows.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::{Dataset, Split, NUM_CLASSES};

/// Adds the validation hold-out (when needed) and notes about missing splits.
pub fn complete_splits(dataset: &mut Dataset, val_fraction: f64, seed: u64) {
    if dataset.val.is_empty() && !dataset.train.is_empty() {
        if val_fraction > 0.0 {
            let total = dataset.train.len();
            let (train, val) = hold_out(&dataset.train, val_fraction, seed);
            dataset.notes.push(format!(
                "no PublicTest rows: held out {} of {} Training rows ({:.1}%, stratified by emotion, seed {seed}) as validation",
                val.len(),
                total,
                100.0 * val.len() as f64 / total as f64,
            ));
            dataset.train = train;
            dataset.val = val;
        } else {
            dataset
                .notes
                .push("no PublicTest rows and val_fraction is 0: no validation split".into());
        }
    }
    if dataset.train.is_empty() {
        dataset
            .notes
            .push("no Training rows: the training split is empty".into());
    }
    if dataset.test.is_empty() {
        dataset
            .notes
            .push("no PrivateTest rows: the test split is empty".into());
    }
}

/// Moves `round(fraction * n)` rows of each emotion (at least one when the
/// emotion has two or more) from `train` to a new validation split. Both keep
/// the original row order, so the result depends only on the data and `seed`.
pub fn hold_out(train: &Split, fraction: f64, seed: u64) -> (Split, Split) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut held_out = vec![false; train.len()];
    for class in 0..NUM_CLASSES {
        let mut indices: Vec<usize> = (0..train.len())
            .filter(|&index| usize::from(train.labels[index]) == class)
            .collect();
        let wanted = held_out_count(indices.len(), fraction);
        indices.shuffle(&mut rng);
        for &index in &indices[..wanted] {
            held_out[index] = true;
        }
    }
    let (mut kept, mut val) = (Split::default(), Split::default());
    for (index, &is_held_out) in held_out.iter().enumerate() {
        let target = if is_held_out { &mut val } else { &mut kept };
        target.push(train.image(index), train.labels[index]);
    }
    (kept, val)
}

fn held_out_count(class_size: usize, fraction: f64) -> usize {
    let rounded = (class_size as f64 * fraction).round() as usize;
    let at_least_one = if class_size >= 2 { 1 } else { 0 };
    rounded.max(at_least_one).min(class_size.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::IMAGE_PIXELS;

    #[test]
    fn held_out_count_rounds_and_keeps_one_for_training() {
        assert_eq!(held_out_count(1000, 0.1), 100);
        assert_eq!(held_out_count(4, 0.1), 1);
        assert_eq!(held_out_count(1, 0.1), 0);
        assert_eq!(held_out_count(2, 0.9), 1);
        assert_eq!(held_out_count(0, 0.1), 0);
    }

    #[test]
    fn hold_out_keeps_every_row_exactly_once() {
        let mut train = Split::default();
        for index in 0..200u32 {
            train.push(&[(index % 256) as u8; IMAGE_PIXELS], (index % 7) as u8);
        }
        let (kept, val) = hold_out(&train, 0.25, 3);
        assert_eq!(kept.len() + val.len(), 200);
        let mut firsts: Vec<u8> = (0..kept.len()).map(|i| kept.image(i)[0]).collect();
        firsts.extend((0..val.len()).map(|i| val.image(i)[0]));
        firsts.sort_unstable();
        assert_eq!(firsts, (0..200u32).map(|i| i as u8).collect::<Vec<_>>());
    }
}
