//! `fer train --minutes M`: how many epochs fit in a time budget.
//!
//! The run's length is decided at epoch boundaries from the measured epoch time
//! (training and validation). After the first epoch the plan is what fits outright:
//! `max(1, floor(budget / epoch time))`. Later boundaries only correct it, with some
//! slack so that timing noise does not make the plan (and with it the learning-rate
//! schedule) flip back and forth:
//! - it grows when clearly more epochs fit (the first epoch also paid for warm-up:
//!   kernel compilation and autotuning on a GPU);
//! - it shrinks when the planned epochs would overrun the budget by more than half an
//!   epoch, but not below one more epoch while some budget is left: an epoch already
//!   promised is not cut for a small overrun, so the schedule still reaches its end;
//! - once the budget is spent, the run stops at that boundary (the hard stop; the
//!   schedule then ends where it is).
//!
//! The evaluations after the last epoch (the best checkpoint on validation with the
//! reported TTA, and test) are paid from the budget first.
//!
//! So a run ends at most about one epoch after its budget.
//!
//! Before that, a first estimate is made early in the first epoch (`early_plan`),
//! from the pace of its steps: a one-cycle or warm-up schedule planned for the
//! configured length would otherwise spend the whole first epoch warming up for a
//! run that is then cut to a few epochs, and never reach its peak LR.

use super::config::TrainConfig;

/// Extra room asked for before the plan grows by an epoch (10% of an epoch's time).
const GROW_MARGIN: f64 = 1.1;
/// Overrun tolerated before the plan shrinks, in epochs.
const SHRINK_TOLERANCE: f64 = 0.5;

/// Where a run stands at an epoch boundary.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BudgetPosition {
    /// Epochs done, the one just finished included.
    pub completed_epochs: usize,
    /// The run's current length in epochs.
    pub planned_epochs: usize,
    /// Seconds spent so far (training and validation, every process of the run).
    pub elapsed_seconds: f64,
    /// Seconds the epoch just finished took.
    pub last_epoch_seconds: f64,
    pub budget_seconds: f64,
}

/// The run's new length in epochs, or `None` to keep the plan. Never fewer than the
/// epochs already completed (and so at least 1 after the first epoch).
pub fn replan(position: &BudgetPosition) -> Option<usize> {
    let BudgetPosition {
        completed_epochs: completed,
        planned_epochs: planned,
        elapsed_seconds,
        last_epoch_seconds,
        budget_seconds,
    } = *position;
    let epoch_seconds = last_epoch_seconds.max(1e-9);
    let remaining = (budget_seconds - elapsed_seconds).max(0.0);
    let fitting = (remaining / epoch_seconds).floor() as usize;
    let new_total = if completed <= 1 {
        completed.max(1) + fitting
    } else if completed >= planned {
        return None;
    } else if remaining <= 0.0 {
        completed
    } else {
        let still_planned = planned - completed;
        let clearly_fitting = (remaining / (epoch_seconds * GROW_MARGIN)).floor() as usize;
        let overrun = elapsed_seconds + still_planned as f64 * epoch_seconds - budget_seconds;
        if clearly_fitting > still_planned {
            completed + clearly_fitting
        } else if overrun > SHRINK_TOLERANCE * epoch_seconds {
            completed + fitting.max(1)
        } else {
            planned
        }
    };
    (new_total != planned).then_some(new_total)
}

/// The first-epoch steps an early plan waits for: the pace is timed from `1/20` to
/// `1/10` of the epoch (past the first steps' warm-up), in epochs of at least this
/// many steps (shorter epochs are planned at their end).
pub const EARLY_PLAN_MIN_STEPS: usize = 40;

/// When (steps into the first epoch) the early plan starts and ends its timing.
pub fn early_plan_window(steps_per_epoch: usize) -> Option<(usize, usize)> {
    (steps_per_epoch >= EARLY_PLAN_MIN_STEPS)
        .then_some((steps_per_epoch / 20, steps_per_epoch / 10))
}

/// The run's length from the pace of the first epoch's steps: `seconds_per_step`
/// times the epoch's steps, plus validation as `validation_share` of that, in the
/// budget; at least one epoch.
pub fn early_plan(
    seconds_per_step: f64,
    steps_per_epoch: usize,
    validation_share: f64,
    budget_seconds: f64,
) -> usize {
    let epoch_seconds = seconds_per_step * steps_per_epoch as f64 * (1.0 + validation_share);
    ((budget_seconds / epoch_seconds.max(1e-9)).floor() as usize).max(1)
}

/// An evaluation's cost relative to a training epoch, guessed before it has run
/// from its images times views: a forward pass per view costs about a third of a
/// training step's forward and backward, image for image.
pub fn evaluation_share(views: usize, train_images: usize) -> f64 {
    views as f64 / (3.0 * train_images.max(1) as f64)
}

/// Images times views evaluated once training ends: validation again when the
/// reported TTA differs from the per-epoch one, and test (both with the reported TTA).
pub fn final_evaluation_views(
    val_images: usize,
    test_images: usize,
    config: &TrainConfig,
) -> usize {
    let validation = match config.val_tta == config.tta {
        true => 0,
        false => val_images,
    };
    (validation + test_images) * config.tta.views()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::config::Tta;

    #[test]
    fn the_final_evaluations_count_every_view_they_will_run() {
        let config = |val_tta, tta| TrainConfig {
            val_tta,
            tta,
            ..TrainConfig::default()
        };
        let centre_then_tencrop = config(Tta::None, Tta::TenCrop);
        assert_eq!(final_evaluation_views(3589, 0, &centre_then_tencrop), 35890);
        assert_eq!(
            final_evaluation_views(3589, 3589, &centre_then_tencrop),
            71780
        );
        let tencrop_throughout = config(Tta::TenCrop, Tta::TenCrop);
        assert_eq!(
            final_evaluation_views(3589, 3589, &tencrop_throughout),
            35890
        );
        assert_eq!(
            final_evaluation_views(3589, 0, &config(Tta::Flip, Tta::Flip)),
            0
        );
    }

    #[test]
    fn the_early_plan_fits_whole_epochs_with_validation() {
        // 448 steps of 0.44 s: 197 s, plus 4% validation: 205 s an epoch.
        let share = evaluation_share(3589, 28709);
        assert!((share - 0.0417).abs() < 1e-3);
        assert_eq!(early_plan(0.44, 448, share, 1200.0), 5);
        assert_eq!(early_plan(10.0, 448, share, 60.0), 1, "at least one epoch");
        assert_eq!(early_plan_window(448), Some((22, 44)));
        assert_eq!(early_plan_window(39), None);
    }

    fn at(completed: usize, planned: usize, elapsed: f64, last: f64) -> Option<usize> {
        replan(&BudgetPosition {
            completed_epochs: completed,
            planned_epochs: planned,
            elapsed_seconds: elapsed,
            last_epoch_seconds: last,
            budget_seconds: 100.0,
        })
    }

    #[test]
    fn the_first_epoch_sets_the_length_to_what_fits() {
        assert_eq!(at(1, 30, 9.0, 9.0), Some(11), "floor(100 / 9)");
        assert_eq!(at(1, 30, 10.0, 10.0), Some(10));
        assert_eq!(
            at(1, 5, 9.0, 9.0),
            Some(11),
            "more epochs than configured when they fit"
        );
        assert_eq!(at(1, 11, 9.0, 9.0), None, "already the right length");
    }

    #[test]
    fn a_first_epoch_longer_than_the_budget_leaves_one_epoch() {
        assert_eq!(at(1, 30, 150.0, 150.0), Some(1));
    }

    #[test]
    fn later_boundaries_keep_the_plan_through_timing_noise() {
        // 11 planned at 9 s: 10 more from 9 s elapsed. Epoch 2 took 9.4 s.
        assert_eq!(at(2, 11, 18.4, 9.4), None, "overrun 3 s < half an epoch");
        assert_eq!(
            at(2, 11, 17.0, 8.0),
            None,
            "8 s epochs: 10 fit, 9 planned; growing needs 10% room"
        );
    }

    #[test]
    fn a_faster_steady_state_grows_the_plan() {
        // Epoch 1 took 20 s (compiling kernels), epoch 2 took 5 s: 80 s left = 16 epochs.
        assert_eq!(at(1, 30, 20.0, 20.0), Some(5));
        assert_eq!(at(2, 5, 25.0, 5.0), Some(2 + 13), "floor(75 / 5.5)");
    }

    #[test]
    fn slower_epochs_shrink_the_plan() {
        assert_eq!(
            at(2, 11, 30.0, 15.0),
            Some(2 + 4),
            "70 s left at 15 s an epoch"
        );
        assert_eq!(
            at(5, 8, 95.0, 15.0),
            Some(6),
            "5 s left: one more epoch, the schedule ends with it"
        );
        assert_eq!(
            at(5, 6, 95.0, 15.0),
            None,
            "the promised last epoch still runs while budget is left"
        );
        assert_eq!(at(5, 6, 88.0, 15.0), None);
    }

    #[test]
    fn a_spent_budget_stops_the_run_at_the_boundary() {
        assert_eq!(at(5, 8, 100.0, 15.0), Some(5));
        assert_eq!(at(5, 6, 104.0, 15.0), Some(5));
    }

    #[test]
    fn a_finished_plan_is_left_alone() {
        assert_eq!(at(6, 6, 60.0, 10.0), None);
    }
}
