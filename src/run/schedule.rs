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

impl ScheduleName {
    /// The settings this schedule reads (warm-up aside), as the dashboard's picker
    /// offers them for editing.
    pub fn settings(self) -> &'static [ScheduleSetting] {
        use ScheduleSetting::*;
        match self {
            Self::Constant => &[],
            Self::Step => &[StepEpochs, Gamma],
            Self::Cosine => &[MinLr],
            Self::OneCycle => &[PctStart, DivFactor, FinalDivFactor],
            Self::Plateau => &[PlateauFactor, PlateauPatience, PlateauThreshold, MinLr],
        }
    }
}

/// One editable number of a `ScheduleConfig`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScheduleSetting {
    StepEpochs,
    Gamma,
    MinLr,
    PctStart,
    DivFactor,
    FinalDivFactor,
    PlateauFactor,
    PlateauPatience,
    PlateauThreshold,
}

impl ScheduleSetting {
    /// The field's name in `config.ron`.
    pub fn key(self) -> &'static str {
        match self {
            Self::StepEpochs => "step_epochs",
            Self::Gamma => "gamma",
            Self::MinLr => "min_lr",
            Self::PctStart => "pct_start",
            Self::DivFactor => "div_factor",
            Self::FinalDivFactor => "final_div_factor",
            Self::PlateauFactor => "plateau_factor",
            Self::PlateauPatience => "plateau_patience",
            Self::PlateauThreshold => "plateau_threshold",
        }
    }

    /// What the number does, in a few words.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::StepEpochs => "decay every N epochs",
            Self::Gamma => "decay factor",
            Self::MinLr => "lowest LR",
            Self::PctStart => "share of the run rising",
            Self::DivFactor => "start LR = peak / this",
            Self::FinalDivFactor => "final LR = start / this",
            Self::PlateauFactor => "LR factor on a plateau",
            Self::PlateauPatience => "bad epochs tolerated",
            Self::PlateauThreshold => "relative gain that counts",
        }
    }

    /// Whole numbers only (epochs, patience).
    pub fn is_count(self) -> bool {
        matches!(self, Self::StepEpochs | Self::PlateauPatience)
    }
}

impl ScheduleConfig {
    pub fn get(&self, setting: ScheduleSetting) -> f64 {
        match setting {
            ScheduleSetting::StepEpochs => self.step_epochs as f64,
            ScheduleSetting::Gamma => self.gamma,
            ScheduleSetting::MinLr => self.min_lr,
            ScheduleSetting::PctStart => self.pct_start,
            ScheduleSetting::DivFactor => self.div_factor,
            ScheduleSetting::FinalDivFactor => self.final_div_factor,
            ScheduleSetting::PlateauFactor => self.plateau_factor,
            ScheduleSetting::PlateauPatience => self.plateau_patience as f64,
            ScheduleSetting::PlateauThreshold => self.plateau_threshold,
        }
    }

    /// Sets one number, then checks the whole config as `validate` does; on an
    /// error nothing changed.
    pub fn set(&mut self, setting: ScheduleSetting, value: f64) -> Result<(), ScheduleError> {
        let invalid = |expected| ScheduleError::InvalidValue {
            field: setting.key(),
            value,
            expected,
        };
        if setting.is_count() && (value.fract() != 0.0 || !(0.0..=1e9).contains(&value)) {
            return Err(invalid("a whole number >= 0"));
        }
        let mut changed = self.clone();
        match setting {
            ScheduleSetting::StepEpochs => changed.step_epochs = value as usize,
            ScheduleSetting::Gamma => changed.gamma = value,
            ScheduleSetting::MinLr => changed.min_lr = value,
            ScheduleSetting::PctStart => changed.pct_start = value,
            ScheduleSetting::DivFactor => changed.div_factor = value,
            ScheduleSetting::FinalDivFactor => changed.final_div_factor = value,
            ScheduleSetting::PlateauFactor => changed.plateau_factor = value,
            ScheduleSetting::PlateauPatience => changed.plateau_patience = value as usize,
            ScheduleSetting::PlateauThreshold => changed.plateau_threshold = value,
        }
        changed.validate()?;
        *self = changed;
        Ok(())
    }

    /// `min_lr 0.001, pct_start 0.3`: the settings `name` reads.
    pub fn describe_settings(&self) -> String {
        self.name
            .settings()
            .iter()
            .map(|&setting| format!("{} {}", setting.key(), format_setting(self.get(setting))))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Shortest form that reads back exactly (`0.1`, `1e-4`, `10000`).
pub fn format_setting(value: f64) -> String {
    let plain = format!("{value}");
    let scientific = format!("{value:e}");
    if scientific.len() < plain.len() {
        scientific
    } else {
        plain
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_and_written_by_name_and_checked() {
        let mut config = ScheduleConfig {
            name: ScheduleName::Plateau,
            ..ScheduleConfig::default()
        };
        config.set(ScheduleSetting::PlateauPatience, 3.0).unwrap();
        assert_eq!(config.plateau_patience, 3);
        assert!(config.set(ScheduleSetting::PlateauPatience, 2.5).is_err());
        let error = config.set(ScheduleSetting::PlateauFactor, 1.5).unwrap_err();
        assert!(error.to_string().contains("plateau_factor"), "{error}");
        assert_eq!(
            config.plateau_factor, 0.5,
            "a refused value changes nothing"
        );
        assert_eq!(
            config.describe_settings(),
            "plateau_factor 0.5, plateau_patience 3, plateau_threshold 1e-4, min_lr 0"
        );
        for name in [
            ScheduleName::Step,
            ScheduleName::OneCycle,
            ScheduleName::Cosine,
        ] {
            for &setting in name.settings() {
                let value = config.get(setting);
                config.set(setting, value).unwrap();
            }
        }
    }
}
