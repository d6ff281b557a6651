//! The learning rate a run used, rebuilt from its schedule plans.
//!
//! Each `SchedulePlan` event samples the LR from the step it was made at to the end
//! of the run as then planned; a later plan (a schedule switch, a re-planned
//! length, a resume) replaces it from its own first step on. Stitching the plans
//! that way gives the LR the run actually followed, cut at the last finished epoch.

use super::record::{EpochRow, LrCurve};
use crate::run::Event;

pub fn lr_curve(events: &[Event], epochs: &[EpochRow], completed_epochs: usize) -> LrCurve {
    match per_step(events, completed_epochs) {
        Some(points) if !points.is_empty() => LrCurve {
            points,
            per_step: true,
        },
        _ => LrCurve {
            // metrics.csv's LR is the last step's of each epoch.
            points: epochs
                .iter()
                .map(|row| (row.epoch as f64, row.lr))
                .collect(),
            per_step: false,
        },
    }
}

fn per_step(events: &[Event], completed_epochs: usize) -> Option<Vec<(f64, f64)>> {
    let steps_per_epoch = events
        .iter()
        .rev()
        .find_map(|event| match event {
            Event::RunStarted {
                steps_per_epoch, ..
            } => Some(*steps_per_epoch),
            _ => None,
        })
        .filter(|&steps| steps > 0)?;
    let plans: Vec<&[(usize, f64)]> = events
        .iter()
        .filter_map(|event| match event {
            Event::SchedulePlan { plan, .. } if !plan.is_empty() => Some(plan.as_slice()),
            _ => None,
        })
        .collect();
    let end_step = completed_epochs.saturating_mul(steps_per_epoch);
    let points = stitch(&plans, end_step)
        .into_iter()
        .map(|(step, lr)| (step as f64 / steps_per_epoch as f64, lr))
        .collect();
    Some(points)
}

/// Each plan's samples before the next plan's first step, all before `end_step`.
pub fn stitch(plans: &[&[(usize, f64)]], end_step: usize) -> Vec<(usize, f64)> {
    let mut points = Vec::new();
    for (index, plan) in plans.iter().enumerate() {
        let until = plans
            .get(index + 1)
            .and_then(|next| next.first())
            .map_or(end_step, |&(step, _)| step.min(end_step));
        points.extend(plan.iter().copied().filter(|&(step, _)| step < until));
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_plan_replaces_the_earlier_from_its_first_step() {
        let first = [(0, 0.1), (50, 0.1), (100, 0.1), (150, 0.1)];
        let second = [(60, 0.01), (120, 0.01), (180, 0.01)];
        let stitched = stitch(&[&first, &second], 150);
        assert_eq!(stitched, vec![(0, 0.1), (50, 0.1), (60, 0.01), (120, 0.01)]);
    }

    #[test]
    fn a_run_that_stopped_early_is_cut_at_its_last_epoch() {
        let plan = [(0, 1.0), (10, 0.5), (20, 0.25)];
        assert_eq!(stitch(&[&plan], 15), vec![(0, 1.0), (10, 0.5)]);
    }
}
