//! What a schedule is made of: its name and settings, as the CLI, configs, the
//! dashboard's picker and `fer ctl` give them (`train::schedule` runs them).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleName {
    Constant,
    Step,
    Cosine,
    OneCycle,
    Plateau,
}

/// Schedule settings. Fields missing from a serialised config take their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleConfig {
    pub name: ScheduleName,
    /// Linear warm-up length in epochs (fractions allowed); 0 = none.
    pub warmup_epochs: f64,
    /// Warm-up starts at `lr * warmup_start_factor` (LinearLR's `start_factor`).
    pub warmup_start_factor: f64,
    /// Step: decay every this many epochs (StepLR `step_size`, in epochs); 0 = never.
    pub step_epochs: usize,
    /// Step: decay factor.
    pub gamma: f64,
    /// Cosine `eta_min`; Plateau floor.
    pub min_lr: f64,
    /// OneCycle: fraction of the run spent rising (PyTorch's default is 0.3).
    pub pct_start: f64,
    /// OneCycle: initial LR = max / div_factor.
    pub div_factor: f64,
    /// OneCycle: final LR = initial / final_div_factor.
    pub final_div_factor: f64,
    /// Plateau: LR multiplier on a plateau (PyTorch's default is 0.1).
    pub plateau_factor: f64,
    /// Plateau: bad epochs tolerated before reducing.
    pub plateau_patience: usize,
    /// Plateau: relative improvement needed to count as better.
    pub plateau_threshold: f64,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        Self {
            name: ScheduleName::OneCycle,
            warmup_epochs: 0.0,
            warmup_start_factor: 0.1,
            step_epochs: 10,
            gamma: 0.1,
            min_lr: 0.0,
            pct_start: 0.15,
            div_factor: 25.0,
            final_div_factor: 1e4,
            plateau_factor: 0.5,
            plateau_patience: 5,
            plateau_threshold: 1e-4,
        }
    }
}

/// A schedule setting PyTorch would reject (or that makes no sense).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("schedule setting {field} = {value} is invalid: expected {expected}")]
    InvalidValue {
        field: &'static str,
        value: f64,
        expected: &'static str,
    },
}

impl ScheduleConfig {
    /// Checks every field the way PyTorch's constructors would. `Schedule::new` does not
    /// call this: it computes whatever the formulas give, so validate user input first.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        type Check = (&'static str, f64, fn(f64) -> bool, &'static str);
        let checks: [Check; 10] = [
            (
                "warmup_epochs",
                self.warmup_epochs,
                |v| v >= 0.0 && v.is_finite(),
                "a finite value >= 0",
            ),
            (
                "warmup_start_factor",
                self.warmup_start_factor,
                |v| v > 0.0 && v <= 1.0,
                "a value in (0, 1]",
            ),
            (
                "gamma",
                self.gamma,
                |v| v > 0.0 && v.is_finite(),
                "a finite value > 0",
            ),
            (
                "min_lr",
                self.min_lr,
                |v| v >= 0.0 && v.is_finite(),
                "a finite value >= 0",
            ),
            (
                "pct_start",
                self.pct_start,
                |v| (0.0..=1.0).contains(&v),
                "a value in [0, 1]",
            ),
            (
                "div_factor",
                self.div_factor,
                |v| v > 0.0 && v.is_finite(),
                "a finite value > 0",
            ),
            (
                "final_div_factor",
                self.final_div_factor,
                |v| v > 0.0 && v.is_finite(),
                "a finite value > 0",
            ),
            (
                "plateau_factor",
                self.plateau_factor,
                |v| (0.0..1.0).contains(&v),
                "a value in [0, 1)",
            ),
            (
                "plateau_threshold",
                self.plateau_threshold,
                |v| v >= 0.0 && v.is_finite(),
                "a finite value >= 0",
            ),
            (
                "step_epochs",
                self.step_epochs as f64,
                |v| v >= 1.0,
                "at least 1",
            ),
        ];
        let is_relevant = |field: &str| field != "step_epochs" || self.name == ScheduleName::Step;
        match checks
            .into_iter()
            .find(|(field, value, ok, _)| is_relevant(field) && !ok(*value))
        {
            Some((field, value, _, expected)) => Err(ScheduleError::InvalidValue {
                field,
                value,
                expected,
            }),
            None => Ok(()),
        }
    }
}
