//! The learning-rate curves behind a `Schedule`, each anchored at the step where
//! it started, so that a curve swapped in mid-run can continue from the current LR.
//! Formulas are PyTorch's closed forms written with the same operation order,
//! so fresh curves reproduce torch's values to the last bit or so.

use super::{ScheduleConfig, ScheduleName};
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// ReduceLROnPlateau's `eps`: reductions smaller than this are skipped.
const PLATEAU_EPS: f64 = 1e-8;

/// A point a one-cycle phase anneals towards. Steps are `f64` because PyTorch's
/// phase boundaries (`pct_start * total - 1`) are fractional.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Knot {
    pub step: f64,
    pub lr: f64,
}

/// ReduceLROnPlateau state, mode "max", threshold_mode "rel", cooldown 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Plateau {
    pub lr: f64,
    pub factor: f64,
    pub patience: usize,
    pub threshold: f64,
    pub min_lr: f64,
    /// `None` until the first metric; stands for PyTorch's `-inf` (JSON has no infinity).
    pub best: Option<f64>,
    pub num_bad_epochs: usize,
}

impl Plateau {
    /// `ReduceLROnPlateau.step(metric)`.
    pub fn observe(&mut self, metric: f64) {
        if self.is_better(metric) {
            self.best = Some(metric);
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.num_bad_epochs > self.patience {
            self.reduce();
            self.num_bad_epochs = 0;
        }
    }

    fn is_better(&self, metric: f64) -> bool {
        match self.best {
            None => metric > f64::NEG_INFINITY,
            Some(best) => metric > best * (self.threshold + 1.0),
        }
    }

    fn reduce(&mut self) {
        let new_lr = (self.lr * self.factor).max(self.min_lr);
        if self.lr - new_lr > PLATEAU_EPS {
            self.lr = new_lr;
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) enum Curve {
    Constant {
        lr: f64,
    },
    /// StepLR: `start_lr * gamma^((step - start_step) // every_steps)`; never decays when `every_steps` is 0.
    Step {
        start_step: usize,
        start_lr: f64,
        every_steps: usize,
        gamma: f64,
    },
    /// CosineAnnealingLR closed form over `[start_step, end_step]`, then flat at `min_lr`.
    Cosine {
        start_step: usize,
        start_lr: f64,
        end_step: usize,
        min_lr: f64,
    },
    /// OneCycleLR (cos, two phases) from `(start_step, start_lr)` through `peak` to `end`;
    /// `peak` is `None` for a pure anneal (a one-cycle swapped in mid-run).
    OneCycle {
        start_step: f64,
        start_lr: f64,
        peak: Option<Knot>,
        end: Knot,
    },
    Plateau(Plateau),
}

impl Curve {
    /// Multiplies every LR of the curve (its floors included) by `factor`.
    pub fn scale(&mut self, factor: f64) {
        match self {
            Curve::Constant { lr } => *lr *= factor,
            Curve::Step { start_lr, .. } => *start_lr *= factor,
            Curve::Cosine {
                start_lr, min_lr, ..
            } => {
                *start_lr *= factor;
                *min_lr *= factor;
            }
            Curve::OneCycle {
                start_lr,
                peak,
                end,
                ..
            } => {
                *start_lr *= factor;
                if let Some(peak) = peak {
                    peak.lr *= factor;
                }
                end.lr *= factor;
            }
            Curve::Plateau(plateau) => {
                plateau.lr *= factor;
                plateau.min_lr *= factor;
            }
        }
    }

    pub fn lr_at(&self, step: usize) -> f64 {
        match self {
            Curve::Constant { lr } => *lr,
            Curve::Step {
                start_step,
                start_lr,
                every_steps,
                gamma,
            } => {
                let decays = step
                    .saturating_sub(*start_step)
                    .checked_div(*every_steps)
                    .unwrap_or(0);
                // `powf` is C's `pow`, which is what Python's `gamma ** k` calls.
                start_lr * gamma.powf(decays as f64)
            }
            Curve::Cosine {
                start_step,
                start_lr,
                end_step,
                min_lr,
            } => cosine_at(*start_step, *start_lr, *end_step, *min_lr, step),
            Curve::OneCycle {
                start_step,
                start_lr,
                peak,
                end,
            } => one_cycle_at(*start_step, *start_lr, *peak, *end, step as f64),
            Curve::Plateau(plateau) => plateau.lr,
        }
    }
}

fn cosine_at(start_step: usize, start_lr: f64, end_step: usize, min_lr: f64, step: usize) -> f64 {
    if step >= end_step {
        return min_lr;
    }
    let elapsed = step.saturating_sub(start_step) as f64;
    let length = (end_step - start_step) as f64;
    min_lr + (start_lr - min_lr) * (1.0 + (PI * elapsed / length).cos()) / 2.0
}

/// OneCycleLR.get_lr: the first phase whose end is not behind `step` (or the last
/// phase) anneals from the previous knot. `pct` is clamped to [0, 1], so past the
/// end the LR stays at the final value (PyTorch raises there instead), and an
/// empty phase counts as finished (PyTorch divides by zero).
fn one_cycle_at(start_step: f64, start_lr: f64, peak: Option<Knot>, end: Knot, step: f64) -> f64 {
    let mut from = Knot {
        step: start_step,
        lr: start_lr,
    };
    if let Some(peak) = peak {
        if step <= peak.step {
            return annealing_cos(from.lr, peak.lr, phase_fraction(from.step, peak.step, step));
        }
        from = peak;
    }
    annealing_cos(from.lr, end.lr, phase_fraction(from.step, end.step, step))
}

fn phase_fraction(start_step: f64, end_step: f64, step: f64) -> f64 {
    let length = end_step - start_step;
    if length > 0.0 {
        ((step - start_step) / length).clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// PyTorch's `OneCycleLR._annealing_cos`.
pub(super) fn annealing_cos(start: f64, end: f64, pct: f64) -> f64 {
    let cos_out = (PI * pct).cos() + 1.0;
    end + (start - end) / 2.0 * cos_out
}

/// LinearLR-style warm-up factor, fixed when the schedule is created.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Warmup {
    pub steps: usize,
    pub start_factor: f64,
}

impl Warmup {
    pub fn new(config: &ScheduleConfig, steps_per_epoch: usize) -> Self {
        let steps = (config.warmup_epochs * steps_per_epoch as f64).round();
        Self {
            // `as` maps NaN and negatives to 0 and saturates huge values.
            steps: steps as usize,
            start_factor: config.warmup_start_factor,
        }
    }

    /// LinearLR closed form with `end_factor = 1`.
    pub fn factor(&self, step: usize) -> f64 {
        if self.steps == 0 {
            return 1.0;
        }
        self.start_factor
            + (1.0 - self.start_factor) * self.steps.min(step) as f64 / self.steps as f64
    }
}

pub(super) fn fresh_curve(
    config: &ScheduleConfig,
    base_lr: f64,
    steps_per_epoch: usize,
    total_steps: usize,
) -> Curve {
    match config.name {
        ScheduleName::Constant => Curve::Constant { lr: base_lr },
        ScheduleName::Step => Curve::Step {
            start_step: 0,
            start_lr: base_lr,
            every_steps: config.step_epochs.saturating_mul(steps_per_epoch),
            gamma: config.gamma,
        },
        ScheduleName::Cosine => Curve::Cosine {
            start_step: 0,
            start_lr: base_lr,
            end_step: total_steps,
            min_lr: config.min_lr,
        },
        ScheduleName::OneCycle => {
            let initial_lr = base_lr / config.div_factor;
            Curve::OneCycle {
                start_step: 0.0,
                start_lr: initial_lr,
                peak: Some(Knot {
                    step: config.pct_start * total_steps as f64 - 1.0,
                    lr: base_lr,
                }),
                end: Knot {
                    step: total_steps as f64 - 1.0,
                    lr: initial_lr / config.final_div_factor,
                },
            }
        }
        ScheduleName::Plateau => Curve::Plateau(fresh_plateau(config, base_lr)),
    }
}

pub(super) fn fresh_plateau(config: &ScheduleConfig, lr: f64) -> Plateau {
    Plateau {
        lr,
        factor: config.plateau_factor,
        patience: config.plateau_patience,
        threshold: config.plateau_threshold,
        min_lr: config.min_lr,
        best: None,
        num_bad_epochs: 0,
    }
}
