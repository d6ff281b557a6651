//! The analysis section's findings, computed from the runs' numbers: ranking,
//! most confused emotions, overfitting, and depth against accuracy.

use super::record::{ConfusionSplit, EpochRow, RunRecord};
use crate::data::NUM_CLASSES;
use crate::metrics::{ConfusedPair, ConfusionMatrix};

/// Validation loss must end more than this fraction above its minimum...
pub const OVERFIT_RISE: f64 = 0.10;
/// ...in each of this many last epochs (one noisy epoch is not overfitting).
pub const OVERFIT_CONFIRM_EPOCHS: usize = 2;
/// How many confused pairs the report lists.
pub const CONFUSED_PAIRS: usize = 3;

#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    /// Best validation accuracy first (ties keep the runs' order).
    pub ranking: Vec<Ranked>,
    pub confusion: Option<ConfusionFinding>,
    /// One entry per run, in the runs' order.
    pub overfitting: Vec<OverfitFinding>,
    pub depth: DepthFinding,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Ranked {
    pub label: String,
    pub val_accuracy: f64,
    /// Percentage points ahead of the next run in the ranking (none for the last).
    pub lead_over_next_pp: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConfusionFinding {
    /// The split the summed matrices count.
    pub split: ConfusionSplit,
    /// How many runs' matrices were summed.
    pub runs: usize,
    pub pairs: Vec<ConfusedShare>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConfusedShare {
    pub true_class: usize,
    pub predicted_class: usize,
    pub count: u64,
    /// `count` as a fraction of the true class's images.
    pub share_of_true_class: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OverfitFinding {
    pub label: String,
    pub onset: Option<OverfitOnset>,
}

/// Where a run started to overfit, by [`overfit_onset`]'s rule.
#[derive(Clone, Debug, PartialEq)]
pub struct OverfitOnset {
    /// The epoch of the lowest validation loss; overfitting follows it.
    pub epoch: usize,
    pub min_val_loss: f64,
    pub last_val_loss: f64,
    pub train_loss_at_onset: f64,
    pub last_train_loss: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum DepthFinding {
    /// Fewer than two ResNet runs of different depths.
    NotEnough { resnet_runs: usize },
    Found {
        /// (label, depth, validation accuracy), shallowest first.
        runs: Vec<(String, usize, f64)>,
        /// Spearman's rank correlation of depth and validation accuracy.
        spearman: f64,
        /// Epochs each of `runs` trained, when they differ (a time budget gives a
        /// deeper network fewer): the comparison is then at equal time, not equal epochs.
        unequal_epochs: Option<Vec<usize>>,
    },
}

pub fn analyse(records: &[RunRecord]) -> Analysis {
    Analysis {
        ranking: ranking(records),
        confusion: confused_pairs(records),
        overfitting: records
            .iter()
            .map(|record| OverfitFinding {
                label: record.label.clone(),
                onset: overfit_onset(&record.epochs),
            })
            .collect(),
        depth: depth_finding(records),
    }
}

fn ranking(records: &[RunRecord]) -> Vec<Ranked> {
    let mut order: Vec<&RunRecord> = records.iter().collect();
    order.sort_by(|a, b| b.best_val_accuracy().total_cmp(&a.best_val_accuracy()));
    order
        .iter()
        .enumerate()
        .map(|(index, record)| Ranked {
            label: record.label.clone(),
            val_accuracy: record.best_val_accuracy(),
            lead_over_next_pp: order
                .get(index + 1)
                .map(|next| 100.0 * (record.best_val_accuracy() - next.best_val_accuracy())),
        })
        .collect()
}

/// Sums the runs' matrices, all of the same split: test when every run has one,
/// else the best-epoch validation matrices.
fn confused_pairs(records: &[RunRecord]) -> Option<ConfusionFinding> {
    let split = if records
        .iter()
        .all(|r| r.confusion(ConfusionSplit::Test).is_some())
    {
        ConfusionSplit::Test
    } else {
        ConfusionSplit::BestValidation
    };
    let mut total = ConfusionMatrix::new(NUM_CLASSES);
    let mut runs = 0;
    for matrix in records.iter().filter_map(|r| r.confusion(split)) {
        if total.merge(matrix).is_ok() {
            runs += 1;
        }
    }
    if runs == 0 {
        return None;
    }
    let pairs = total
        .most_confused_pairs(CONFUSED_PAIRS)
        .into_iter()
        .map(|pair| confused_share(&total, pair))
        .collect();
    Some(ConfusionFinding { split, runs, pairs })
}

/// The `k` mistakes that take the largest share of their true class, largest first
/// (ties: the larger count, then class order). Shares rather than counts, so that a
/// small class that is mostly missed (Disgust) is not hidden behind large ones.
pub fn worst_confused_shares(matrix: &ConfusionMatrix, k: usize) -> Vec<ConfusedShare> {
    // most_confused_pairs orders by count with ties in class order; the stable sort
    // keeps that order among equal shares.
    let mut shares: Vec<ConfusedShare> = matrix
        .most_confused_pairs(usize::MAX)
        .into_iter()
        .map(|pair| confused_share(matrix, pair))
        .collect();
    shares.sort_by(|a, b| b.share_of_true_class.total_cmp(&a.share_of_true_class));
    shares.truncate(k);
    shares
}

fn confused_share(matrix: &ConfusionMatrix, pair: ConfusedPair) -> ConfusedShare {
    ConfusedShare {
        true_class: pair.true_class,
        predicted_class: pair.predicted_class,
        count: pair.count,
        share_of_true_class: pair.count as f64 / matrix.support(pair.true_class).max(1) as f64,
    }
}

/// A run overfits from epoch `m`, the epoch of its lowest validation loss, when at
/// least [`OVERFIT_CONFIRM_EPOCHS`] epochs follow `m`, the validation loss of each
/// of the last [`OVERFIT_CONFIRM_EPOCHS`] epochs is more than [`OVERFIT_RISE`] above
/// that minimum, and the training loss of the last epoch is below its value at `m`
/// (the model kept fitting the training set while getting worse on validation).
pub fn overfit_onset(rows: &[EpochRow]) -> Option<OverfitOnset> {
    let (lowest, best) = rows.iter().enumerate().fold(
        None::<(usize, &EpochRow)>,
        |min, (index, row)| match min {
            Some((_, m)) if m.val_loss <= row.val_loss => min,
            _ => Some((index, row)),
        },
    )?;
    let after = &rows[lowest + 1..];
    if after.len() < OVERFIT_CONFIRM_EPOCHS {
        return None;
    }
    let threshold = best.val_loss * (1.0 + OVERFIT_RISE);
    let confirmed = after[after.len() - OVERFIT_CONFIRM_EPOCHS..]
        .iter()
        .all(|row| row.val_loss > threshold);
    let last = after.last()?;
    (confirmed && last.train_loss < best.train_loss).then_some(OverfitOnset {
        epoch: best.epoch,
        min_val_loss: best.val_loss,
        last_val_loss: last.val_loss,
        train_loss_at_onset: best.train_loss,
        last_train_loss: last.train_loss,
    })
}

/// The depth in a ResNet's name: `resnet20` -> 20, `ResNet152` -> 152; `None` for
/// other families.
pub fn resnet_depth(model: &str) -> Option<usize> {
    let lower = model.trim().to_ascii_lowercase();
    let digits = lower.strip_prefix("resnet")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn depth_finding(records: &[RunRecord]) -> DepthFinding {
    let mut runs: Vec<(String, usize, f64, usize)> = records
        .iter()
        .filter_map(|r| {
            resnet_depth(r.model()).map(|depth| {
                let epochs = r.epochs_completed();
                (r.label.clone(), depth, r.best_val_accuracy(), epochs)
            })
        })
        .collect();
    let distinct_depths = runs.iter().any(|(_, depth, _, _)| *depth != runs[0].1);
    if runs.len() < 2 || !distinct_depths {
        return DepthFinding::NotEnough {
            resnet_runs: runs.len(),
        };
    }
    runs.sort_by_key(|(_, depth, _, _)| *depth);
    let depths: Vec<f64> = runs.iter().map(|(_, depth, _, _)| *depth as f64).collect();
    let accuracies: Vec<f64> = runs.iter().map(|(_, _, accuracy, _)| *accuracy).collect();
    let epochs: Vec<usize> = runs.iter().map(|(_, _, _, epochs)| *epochs).collect();
    DepthFinding::Found {
        spearman: spearman(&depths, &accuracies),
        unequal_epochs: epochs.iter().any(|&e| e != epochs[0]).then_some(epochs),
        runs: runs
            .into_iter()
            .map(|(label, depth, accuracy, _)| (label, depth, accuracy))
            .collect(),
    }
}

/// Spearman's rho: Pearson's correlation of the ranks (ties share their mean rank);
/// 0 when either side is constant.
pub fn spearman(xs: &[f64], ys: &[f64]) -> f64 {
    pearson(&ranks(xs), &ranks(ys))
}

fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Ranks are 1-based; a tie of positions start..end shares their mean.
        let shared = (start + end + 1) as f64 / 2.0;
        for &index in &order[start..end] {
            ranks[index] = shared;
        }
        start = end;
    }
    ranks
}

fn pearson(xs: &[f64], ys: &[f64]) -> f64 {
    let n = xs.len().min(ys.len()) as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = ys.iter().sum::<f64>() / n;
    let (mut cov, mut var_x, mut var_y) = (0.0, 0.0, 0.0);
    for (x, y) in xs.iter().zip(ys) {
        cov += (x - mean_x) * (y - mean_y);
        var_x += (x - mean_x).powi(2);
        var_y += (y - mean_y).powi(2);
    }
    if var_x == 0.0 || var_y == 0.0 {
        0.0
    } else {
        cov / (var_x * var_y).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: usize, train_loss: f64, val_loss: f64) -> EpochRow {
        EpochRow {
            epoch,
            lr: 0.1,
            train_loss,
            train_accuracy: 0.5,
            val_loss,
            val_accuracy: 0.5,
            val_macro_f1: 0.5,
            val_recall: [0.5; NUM_CLASSES],
            seconds: 1.0,
            images_per_second: 100.0,
        }
    }

    fn rows(losses: &[(f64, f64)]) -> Vec<EpochRow> {
        losses
            .iter()
            .enumerate()
            .map(|(index, &(train, val))| row(index + 1, train, val))
            .collect()
    }

    #[test]
    fn overfitting_starts_at_the_lowest_validation_loss() {
        let history = rows(&[
            (1.5, 1.4),
            (1.2, 1.1),
            (1.0, 1.0),
            (0.8, 1.08),
            (0.6, 1.2),
            (0.5, 1.3),
        ]);
        let onset = overfit_onset(&history).expect("overfits");
        assert_eq!(onset.epoch, 3);
        assert_eq!(onset.min_val_loss, 1.0);
        assert_eq!(onset.last_val_loss, 1.3);
        assert_eq!(onset.last_train_loss, 0.5);
    }

    #[test]
    fn one_noisy_epoch_or_a_small_rise_is_not_overfitting() {
        // A spike in the last epoch only.
        let spike = rows(&[(1.5, 1.4), (1.2, 1.0), (1.0, 1.05), (0.9, 1.3)]);
        assert_eq!(overfit_onset(&spike), None);
        // A rise of 5%, under the 10% threshold.
        let small = rows(&[(1.5, 1.0), (1.2, 1.05), (1.0, 1.05)]);
        assert_eq!(overfit_onset(&small), None);
        // Still improving.
        let improving = rows(&[(1.5, 1.4), (1.2, 1.2), (1.0, 1.0)]);
        assert_eq!(overfit_onset(&improving), None);
        // Validation loss rose but so did training loss (divergence, not overfitting).
        let diverging = rows(&[(1.0, 1.0), (1.5, 1.5), (2.0, 2.0)]);
        assert_eq!(overfit_onset(&diverging), None);
        assert_eq!(overfit_onset(&[]), None);
    }

    #[test]
    fn the_worst_confusions_are_ranked_by_share_of_the_true_class() {
        let mut matrix = ConfusionMatrix::new(NUM_CLASSES);
        // 10 Happy: 3 taken for Neutral. 2 Disgust: 1 taken for Angry.
        let truths = [3u8; 10].into_iter().chain([1, 1]).collect::<Vec<_>>();
        let predicted = [3u8, 3, 3, 3, 3, 3, 3, 6, 6, 6, 1, 0];
        matrix.record_batch(&truths, &predicted).unwrap();
        let worst = worst_confused_shares(&matrix, 3);
        assert_eq!(worst.len(), 2, "only non-zero mistakes: {worst:?}");
        assert_eq!((worst[0].true_class, worst[0].predicted_class), (1, 0));
        assert_eq!(worst[0].share_of_true_class, 0.5);
        assert_eq!(
            (
                worst[1].true_class,
                worst[1].predicted_class,
                worst[1].count
            ),
            (3, 6, 3)
        );
        assert!((worst[1].share_of_true_class - 0.3).abs() < 1e-12);
        assert!(worst_confused_shares(&ConfusionMatrix::new(NUM_CLASSES), 3).is_empty());
    }

    #[test]
    fn depth_comes_from_resnet_names_only() {
        assert_eq!(resnet_depth("resnet20"), Some(20));
        assert_eq!(resnet_depth("ResNet152"), Some(152));
        assert_eq!(resnet_depth("resnet"), None);
        assert_eq!(resnet_depth("resnet20x"), None);
        assert_eq!(resnet_depth("vgg16"), None);
        assert_eq!(resnet_depth("densenet121"), None);
    }

    #[test]
    fn spearman_uses_ranks_and_shares_ties() {
        assert_eq!(spearman(&[8.0, 20.0, 32.0], &[0.5, 0.6, 0.9]), 1.0);
        assert_eq!(spearman(&[8.0, 20.0, 32.0], &[0.9, 0.6, 0.5]), -1.0);
        // Ranks (1,2,3) against (1,3,2): rho = 1 - 6*2/(3*8) = 0.5.
        assert!((spearman(&[8.0, 20.0, 32.0], &[0.5, 0.9, 0.6]) - 0.5).abs() < 1e-12);
        assert_eq!(ranks(&[3.0, 1.0, 3.0]), vec![2.5, 1.0, 2.5]);
        assert_eq!(spearman(&[1.0, 2.0], &[0.5, 0.5]), 0.0);
    }
}
