//! Learning-rate schedules, stepped once per optimizer step, with PyTorch's formulas.
//!
//! Step `s` here is PyTorch's `last_epoch` after `s` calls to `scheduler.step()`:
//! `lr()` at step 0 is the LR of the first optimizer step.
//!
//! - Constant: `base_lr`.
//! - Step (StepLR): `base_lr * gamma^(epoch // step_epochs)`, `epoch = step // steps_per_epoch`.
//! - Cosine (CosineAnnealingLR, closed form): `min_lr + (base_lr - min_lr)(1 + cos(pi s / T))/2`
//!   with `T = total_steps`; it stays at `min_lr` from step `T` on (PyTorch would rise again).
//! - OneCycle (OneCycleLR, `anneal_strategy="cos"`, `three_phase=False`, `max_lr = base_lr`):
//!   from `base_lr / div_factor` up to `base_lr` at step `pct_start * T - 1`, then down to
//!   `base_lr / div_factor / final_div_factor` at step `T - 1`, where it stays.
//! - Plateau (ReduceLROnPlateau, mode "max" on validation accuracy, threshold_mode "rel",
//!   cooldown 0, eps 1e-8): `end_epoch` multiplies the LR by `plateau_factor` (not below
//!   `min_lr`) once more than `plateau_patience` epochs in a row failed to beat the best
//!   accuracy by the relative `plateau_threshold`.
//!
//! Warm-up multiplies any of these by LinearLR's factor, which rises linearly from
//! `warmup_start_factor` (default 0.1, rather than LinearLR's 1/3, so the first steps are
//! gentle) to 1 over `round(warmup_epochs * steps_per_epoch)` steps, exactly as a
//! ChainedScheduler of LinearLR and the schedule. One-cycle has its own warm-up phase,
//! so leave `warmup_epochs` at 0 with it unless a doubly slow start is wanted.

mod curve;

pub use crate::run::schedule::{ScheduleConfig, ScheduleError, ScheduleName};
use curve::{fresh_curve, fresh_plateau, Curve, Knot, Warmup};
use serde::{Deserialize, Serialize};

/// The running schedule; serialise it into a checkpoint to resume exactly.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Schedule {
    config: ScheduleConfig,
    base_lr: f64,
    steps_per_epoch: usize,
    total_epochs: usize,
    step: usize,
    warmup: Warmup,
    curve: Curve,
}

impl Schedule {
    /// `base_lr` is the peak LR for one-cycle and the starting LR otherwise.
    pub fn new(
        config: ScheduleConfig,
        base_lr: f64,
        steps_per_epoch: usize,
        total_epochs: usize,
    ) -> Self {
        let total_steps = steps_per_epoch.saturating_mul(total_epochs);
        Self {
            warmup: Warmup::new(&config, steps_per_epoch),
            curve: fresh_curve(&config, base_lr, steps_per_epoch, total_steps),
            config,
            base_lr,
            steps_per_epoch,
            total_epochs,
            step: 0,
        }
    }

    /// The LR for the current optimizer step.
    pub fn lr(&self) -> f64 {
        self.lr_at(self.step)
    }

    /// Call after each optimizer step.
    pub fn advance(&mut self) {
        self.step = self.step.saturating_add(1);
    }

    /// Makes `base_lr` the run's LR from now on (`fer train --resume --lr`): the whole
    /// curve, its floors and the plateau reductions so far included, is scaled by
    /// `base_lr / self.base_lr()`, so the schedule keeps its shape and step, and
    /// `lr()` changes by that factor.
    pub fn set_base_lr(&mut self, base_lr: f64) {
        self.scale(base_lr / self.base_lr);
        self.base_lr = base_lr;
    }

    fn scale(&mut self, factor: f64) {
        self.curve.scale(factor);
        self.config.min_lr *= factor;
        self.base_lr *= factor;
    }

    /// The LR is `lr` from the current step on (`fer ctl RUN lr`, the dashboard's
    /// `l`): the curve is scaled so that it passes through `lr` here, so constant
    /// stays at `lr` and the others keep their shape from it (`set_base_lr`). A
    /// running warm-up ends: whoever sets the LR has taken over from it. A curve at
    /// zero (cosine at its end with `min_lr` 0) cannot be scaled and holds `lr`.
    pub fn set_lr(&mut self, lr: f64) {
        let curve_lr = self.curve.lr_at(self.step);
        self.warmup.steps = 0;
        self.config.warmup_epochs = 0.0;
        match self.curve {
            // Exactly `lr`, not `lr` up to the rounding of a scale factor.
            Curve::Constant { .. } => self.curve = Curve::Constant { lr },
            _ if curve_lr > 0.0 && curve_lr.is_finite() => self.scale(lr / curve_lr),
            _ => self.curve = Curve::Constant { lr },
        }
    }

    /// Plateau reduces its LR here; the other schedules ignore it.
    pub fn end_epoch(&mut self, val_accuracy: f64) {
        if let Curve::Plateau(plateau) = &mut self.curve {
            plateau.observe(val_accuracy);
        }
    }

    /// Optimizer steps taken so far.
    pub fn step(&self) -> usize {
        self.step
    }

    /// Switches schedule. Before the first step this is the same as `Schedule::new` with
    /// the new config. Mid-run, the new schedule starts from the current LR (so `lr()`
    /// does not jump) and covers the remaining steps: constant holds it; step decays it
    /// every `step_epochs` epochs counted from now; cosine anneals it to `min_lr` at
    /// `total_steps`; one-cycle anneals it (cosine, no new rise) to
    /// `base_lr / div_factor / final_div_factor` at `total_steps - 1`; plateau holds it with
    /// a fresh best/patience. The running warm-up carries on unchanged, and `config()`
    /// keeps reporting the warm-up fields that are in effect.
    pub fn replace(&mut self, mut config: ScheduleConfig) {
        if self.step == 0 {
            *self = Schedule::new(
                config,
                self.base_lr,
                self.steps_per_epoch,
                self.total_epochs,
            );
            return;
        }
        config.warmup_epochs = self.config.warmup_epochs;
        config.warmup_start_factor = self.config.warmup_start_factor;
        self.curve = self.continuing_curve(&config);
        self.config = config;
    }

    /// Changes the run length (resuming with more epochs, or fitting a time budget).
    /// Before the first step the schedule is rebuilt as if created with `epochs`.
    /// Mid-run, constant, step and plateau are unaffected; cosine and one-cycle re-anchor
    /// at the current step and LR (so `lr()` does not jump) and stretch or squeeze the
    /// rest to end at the new total: cosine anneals to `min_lr`, one-cycle still before
    /// its peak rises to `base_lr` at `pct_start * new_total - 1` and then anneals, past
    /// its peak it anneals straight to its final LR. If the new end is not after the
    /// current step, the LR is held where it is. Passing the current total is a no-op.
    pub fn set_total_epochs(&mut self, epochs: usize) {
        if epochs == self.total_epochs {
            return;
        }
        self.total_epochs = epochs;
        if self.step == 0 && !matches!(self.curve, Curve::Plateau(_)) {
            self.curve = fresh_curve(
                &self.config,
                self.base_lr,
                self.steps_per_epoch,
                self.total_steps(),
            );
            return;
        }
        let current = self.curve.lr_at(self.step);
        let step = self.step;
        let total = self.total_steps();
        self.curve = match &self.curve {
            Curve::Cosine { min_lr, .. } if total > step => Curve::Cosine {
                start_step: step,
                start_lr: current,
                end_step: total,
                min_lr: *min_lr,
            },
            Curve::OneCycle { peak, end, .. } if total as f64 - 1.0 > step as f64 => {
                let new_peak = peak
                    .filter(|peak| step as f64 <= peak.step)
                    .map(|peak| Knot {
                        step: self.config.pct_start * total as f64 - 1.0,
                        lr: peak.lr,
                    })
                    .filter(|peak| peak.step > step as f64);
                Curve::OneCycle {
                    start_step: step as f64,
                    start_lr: current,
                    peak: new_peak,
                    end: Knot {
                        step: total as f64 - 1.0,
                        lr: end.lr,
                    },
                }
            }
            Curve::Cosine { .. } | Curve::OneCycle { .. } => Curve::Constant { lr: current },
            unaffected => unaffected.clone(),
        };
    }

    /// The LR the current schedule will give from the current step to the last step of
    /// the run (`total_steps - 1`), sampled at up to `points` evenly spaced steps that
    /// include both ends. Plateau is drawn flat (future reductions are unknowable).
    /// After the run's end it is just the current step.
    pub fn plan(&self, points: usize) -> Vec<(usize, f64)> {
        if points == 0 {
            return Vec::new();
        }
        let first = self.step;
        let last = self.total_steps().saturating_sub(1).max(first);
        let span = last - first;
        let samples = points.min(span.saturating_add(1));
        if samples == 1 {
            return vec![(first, self.lr_at(first))];
        }
        (0..samples)
            .map(|index| {
                let offset = (index as u128 * span as u128 / (samples - 1) as u128) as usize;
                let step = first + offset;
                (step, self.lr_at(step))
            })
            .collect()
    }

    pub fn name(&self) -> ScheduleName {
        self.config.name
    }

    pub fn config(&self) -> &ScheduleConfig {
        &self.config
    }

    pub fn total_steps(&self) -> usize {
        self.steps_per_epoch.saturating_mul(self.total_epochs)
    }

    pub fn total_epochs(&self) -> usize {
        self.total_epochs
    }

    pub fn steps_per_epoch(&self) -> usize {
        self.steps_per_epoch
    }

    pub fn base_lr(&self) -> f64 {
        self.base_lr
    }

    /// Length of the linear warm-up in optimizer steps.
    pub fn warmup_steps(&self) -> usize {
        self.warmup.steps
    }

    fn lr_at(&self, step: usize) -> f64 {
        self.curve.lr_at(step) * self.warmup.factor(step)
    }

    fn continuing_curve(&self, config: &ScheduleConfig) -> Curve {
        let current = self.curve.lr_at(self.step);
        let step = self.step;
        let total = self.total_steps();
        match config.name {
            ScheduleName::Constant => Curve::Constant { lr: current },
            ScheduleName::Step => Curve::Step {
                start_step: step,
                start_lr: current,
                every_steps: config.step_epochs.saturating_mul(self.steps_per_epoch),
                gamma: config.gamma,
            },
            ScheduleName::Cosine if total > step => Curve::Cosine {
                start_step: step,
                start_lr: current,
                end_step: total,
                min_lr: config.min_lr,
            },
            ScheduleName::OneCycle if total as f64 - 1.0 > step as f64 => Curve::OneCycle {
                start_step: step as f64,
                start_lr: current,
                peak: None,
                end: Knot {
                    step: total as f64 - 1.0,
                    lr: self.base_lr / config.div_factor / config.final_div_factor,
                },
            },
            ScheduleName::Cosine | ScheduleName::OneCycle => Curve::Constant { lr: current },
            ScheduleName::Plateau => Curve::Plateau(fresh_plateau(config, current)),
        }
    }
}
