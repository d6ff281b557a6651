//! Settings given on top of a configuration (`ConfigOverrides`, the run contract's
//! vocabulary) written into the engine's `TrainConfig`.

use super::config::{OptimizerConfig, TrainConfig};
use crate::run::overrides::{ConfigOverrides, OptimizerName};

impl TrainConfig {
    /// Writes the settings `overrides` gives into this configuration.
    pub fn apply_overrides(&mut self, overrides: &ConfigOverrides) {
        fn set<T: Clone>(target: &mut T, value: &Option<T>) {
            if let Some(value) = value {
                *target = value.clone();
            }
        }
        if overrides.data.is_some() {
            self.data = overrides.data.clone();
        }
        if overrides.minutes.is_some() {
            self.minutes = overrides.minutes;
        }
        set(&mut self.model, &overrides.model);
        set(&mut self.epochs, &overrides.epochs);
        set(&mut self.batch_size, &overrides.batch_size);
        set(&mut self.lr, &overrides.lr);
        set(&mut self.schedule.name, &overrides.schedule);
        set(&mut self.schedule.warmup_epochs, &overrides.warmup);
        set(&mut self.loss.label_smoothing, &overrides.label_smoothing);
        set(&mut self.loss.mixup_alpha, &overrides.mixup);
        set(&mut self.augment.crop, &overrides.crop);
        set(&mut self.augment.erasing_probability, &overrides.erasing);
        set(&mut self.augment.brightness, &overrides.jitter);
        set(&mut self.augment.contrast, &overrides.jitter);
        set(&mut self.tta, &overrides.tta);
        set(&mut self.val_tta, &overrides.val_tta);
        set(&mut self.device, &overrides.device);
        set(&mut self.seed, &overrides.seed);
        apply_optimizer(overrides, &mut self.optimizer);
        self.loss.class_balanced |= overrides.class_balanced;
        self.augment.enabled &= !overrides.no_augment;
        self.skip_bad_rows |= overrides.skip_bad_rows;
    }
}

/// A different optimizer starts from its defaults; the weight decay then applies to either.
fn apply_optimizer(overrides: &ConfigOverrides, optimizer: &mut OptimizerConfig) {
    match overrides.optimizer {
        Some(OptimizerName::Sgd) if !matches!(optimizer, OptimizerConfig::Sgd { .. }) => {
            *optimizer = OptimizerConfig::default();
        }
        Some(OptimizerName::Adamw) if !matches!(optimizer, OptimizerConfig::AdamW { .. }) => {
            *optimizer = OptimizerConfig::adamw_default();
        }
        _ => {}
    }
    if let Some(decay) = overrides.weight_decay {
        match optimizer {
            OptimizerConfig::Sgd { weight_decay, .. }
            | OptimizerConfig::AdamW { weight_decay, .. } => *weight_decay = decay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::overrides::{ron_options, ron_pretty};
    use crate::run::schedule::ScheduleName;
    use crate::train::config::Tta;

    #[test]
    fn the_top_layer_wins_and_flags_accumulate() {
        let base: ConfigOverrides = ron_options()
            .from_str(r#"(epochs: 5, lr: 0.05, mixup: 0.2, class_balanced: true, tta: "none")"#)
            .unwrap();
        let top = ConfigOverrides {
            lr: Some(0.1),
            model: Some("vgg19".into()),
            ..ConfigOverrides::default()
        };
        let merged = top.over(&base);
        assert_eq!(merged.lr, Some(0.1));
        assert_eq!(merged.epochs, Some(5));
        assert_eq!(merged.mixup, Some(0.2));
        assert_eq!(merged.model.as_deref(), Some("vgg19"));
        assert!(merged.class_balanced);
        assert_eq!(
            merged.tta,
            Some(Tta::None),
            "tta \"none\" is a setting, not an absence"
        );

        let mut config = TrainConfig::default();
        config.apply_overrides(&merged);
        assert_eq!(
            (config.epochs, config.lr, config.loss.mixup_alpha),
            (5, 0.1, 0.2)
        );
        assert_eq!(config.model, "vgg19");
        assert!(config.loss.class_balanced);
        assert_eq!(config.batch_size, TrainConfig::default().batch_size);
    }

    #[test]
    fn heavier_augmentation_is_a_flag_away() {
        let overrides = ConfigOverrides {
            erasing: Some(0.5),
            jitter: Some(0.2),
            ..ConfigOverrides::default()
        };
        let mut config = TrainConfig::default();
        config.apply_overrides(&overrides);
        let a = &config.augment;
        assert_eq!(
            (a.erasing_probability, a.brightness, a.contrast),
            (0.5, 0.2, 0.2)
        );
        assert!(overrides.describe().contains("erasing 0.5"));
    }

    #[test]
    fn ron_round_trips_only_what_is_set() {
        let overrides = ConfigOverrides {
            schedule: Some(ScheduleName::OneCycle),
            optimizer: Some(OptimizerName::Adamw),
            weight_decay: Some(0.01),
            no_augment: true,
            ..ConfigOverrides::default()
        };
        let text = ron::ser::to_string_pretty(&overrides, ron_pretty()).unwrap();
        assert!(!text.contains("epochs"), "{text}");
        assert!(text.contains(r#"schedule: "one-cycle""#), "{text}");
        let back: ConfigOverrides = ron_options().from_str(&text).unwrap();
        assert_eq!(back, overrides);
        assert_eq!(
            overrides.describe(),
            "no_augment true optimizer adamw schedule one-cycle weight_decay 0.01"
        );
        let mut config = TrainConfig::default();
        config.apply_overrides(&overrides);
        assert!(matches!(
            config.optimizer,
            OptimizerConfig::AdamW { weight_decay, .. } if weight_decay == 0.01
        ));
        assert!(!config.augment.enabled);
    }

    #[test]
    fn unknown_settings_are_refused() {
        let error = ron_options()
            .from_str::<ConfigOverrides>("(epoch: 5)")
            .unwrap_err();
        assert!(error.to_string().contains("epoch"), "{error}");
        let error = ron_options()
            .from_str::<ConfigOverrides>(r#"(schedule: "cosin")"#)
            .unwrap_err();
        assert!(error.to_string().contains("one-cycle"), "{error}");
    }
}
