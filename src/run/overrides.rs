//! Settings that override a base configuration: the flags of `fer train` and
//! `fer queue add`, and the entries of a study file and of `runs/queue.ron`. One
//! type for all of them, so a setting means the same thing wherever it is written.
//! The engine applies them (`TrainConfig::apply_overrides`); viewers only read them.

use std::path::PathBuf;

use clap::Args;
use serde::{Deserialize, Serialize};

use super::schedule::ScheduleName;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerName {
    /// SGD, momentum 0.9, Nesterov (PyTorch semantics).
    Sgd,
    /// AdamW (decoupled weight decay).
    Adamw,
}

/// Test-time augmentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Tta {
    /// Centre crop only.
    None,
    /// Centre crop and its mirror image.
    Flip,
    /// Four corners and the centre, each also mirrored: logits averaged over 10 views.
    #[value(name = "tencrop")]
    TenCrop,
}

/// Every field is optional: an absent one keeps the base configuration's value.
/// In RON files `Some(..)` may be left out (`epochs: 10`).
#[derive(Args, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConfigOverrides {
    /// FER2013 data: fer2013.csv, fer2013.csv.gz, icml_face_data.csv, or a folder with train/ and test/.
    /// Without it, fer trains on a sample bundled in the binary (1,280 + 320 real
    /// faces) with its own quick recipe: resnet8, 8 epochs, batch 32, no augmentation,
    /// flip TTA (each can be changed with its flag).
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// Architecture (see `fer models`). Default: resnet18, or resnet8 on the bundled sample.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Number of epochs (with --resume: extend the run to this many).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epochs: Option<usize>,
    /// Time budget: train for as many epochs as fit in M minutes, judged from the first
    /// epoch's speed (validation included), with the schedule scaled to end with them.
    /// The run then still saves its best checkpoint and evaluates the test split.
    #[arg(long, value_name = "M")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes: Option<f64>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<usize>,
    /// Peak learning rate (with --resume: the run's new base LR; the saved schedule
    /// keeps its shape, scaled to it: how a diverged run is rescued).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Learning-rate schedule.
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none", with = "value_name")]
    pub schedule: Option<ScheduleName>,
    /// Linear warm-up length in epochs.
    #[arg(long, value_name = "EPOCHS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup: Option<f64>,
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none", with = "value_name")]
    pub optimizer: Option<OptimizerName>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// Label smoothing epsilon (0 disables).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_smoothing: Option<f64>,
    /// Mixup alpha (0 disables).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mixup: Option<f64>,
    /// Weight the loss by inverse class frequency.
    #[arg(long)]
    #[serde(skip_serializing_if = "is_false")]
    pub class_balanced: bool,
    /// Turn off training augmentation (centre crops only).
    #[arg(long)]
    #[serde(skip_serializing_if = "is_false")]
    pub no_augment: bool,
    /// Random erasing: the probability of blanking one rectangle (2–20% of the area)
    /// of each training image, 0 to 1 [default: 0; published from-scratch recipes use
    /// 0.5 over hundreds of epochs].
    #[arg(long, value_name = "P", value_parser = fraction)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub erasing: Option<f64>,
    /// Brightness and contrast jitter: shift each training image by up to ±X and
    /// scale its contrast by 1 ± X, 0 to 1 [default: 0].
    #[arg(long, value_name = "X", value_parser = fraction)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter: Option<f64>,
    /// Side of the training and evaluation crops (pixels, at most 48).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crop: Option<usize>,
    /// Test-time augmentation of the run's reported figures: the best checkpoint
    /// evaluated on validation at the end, and test [default: tencrop].
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none", with = "value_name")]
    pub tta: Option<Tta>,
    /// Test-time augmentation of the validation after each epoch, which picks the
    /// best checkpoint (curves, per-class accuracy, `--schedule plateau`); fewer
    /// views leave more of a time budget to training [default: none].
    #[arg(long, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none", with = "value_name")]
    pub val_tta: Option<Tta>,
    /// auto (CUDA, then a discrete or integrated Vulkan GPU, else the CPU), cpu,
    /// cuda, cuda:N, wgpu (the best Vulkan adapter) or wgpu:N; `fer devices` lists them.
    #[arg(long, value_parser = crate::device::checked_name)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Skip malformed data rows (and count them) instead of stopping.
    #[arg(long)]
    #[serde(skip_serializing_if = "is_false")]
    pub skip_bad_rows: bool,
}

/// A number from 0 to 1.
fn fraction(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!("expected a number from 0 to 1, got `{text}`")),
    }
}

fn is_false(value: &bool) -> bool {
    !value
}

impl ConfigOverrides {
    /// These settings where given, `base`'s elsewhere (a study's run over the
    /// study's base, command-line flags over a study file).
    pub fn over(&self, base: &ConfigOverrides) -> ConfigOverrides {
        fn pick<T: Clone>(top: &Option<T>, base: &Option<T>) -> Option<T> {
            top.clone().or_else(|| base.clone())
        }
        ConfigOverrides {
            data: pick(&self.data, &base.data),
            model: pick(&self.model, &base.model),
            epochs: pick(&self.epochs, &base.epochs),
            minutes: pick(&self.minutes, &base.minutes),
            batch_size: pick(&self.batch_size, &base.batch_size),
            lr: pick(&self.lr, &base.lr),
            schedule: pick(&self.schedule, &base.schedule),
            warmup: pick(&self.warmup, &base.warmup),
            optimizer: pick(&self.optimizer, &base.optimizer),
            weight_decay: pick(&self.weight_decay, &base.weight_decay),
            label_smoothing: pick(&self.label_smoothing, &base.label_smoothing),
            mixup: pick(&self.mixup, &base.mixup),
            class_balanced: self.class_balanced || base.class_balanced,
            no_augment: self.no_augment || base.no_augment,
            erasing: pick(&self.erasing, &base.erasing),
            jitter: pick(&self.jitter, &base.jitter),
            crop: pick(&self.crop, &base.crop),
            tta: pick(&self.tta, &base.tta),
            val_tta: pick(&self.val_tta, &base.val_tta),
            device: pick(&self.device, &base.device),
            seed: pick(&self.seed, &base.seed),
            skip_bad_rows: self.skip_bad_rows || base.skip_bad_rows,
        }
    }

    /// The settings given, as `key value` words for labels and listings: the
    /// model first, the rest in alphabetical order (`model resnet20 epochs 5 mixup 0.2`).
    pub fn describe(&self) -> String {
        let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(self) else {
            return String::new();
        };
        let (model, rest): (Vec<_>, Vec<_>) = fields.iter().partition(|(key, _)| *key == "model");
        model
            .into_iter()
            .chain(rest)
            .map(|(key, value)| match value {
                serde_json::Value::String(text) => format!("{key} {text}"),
                other => format!("{key} {other}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Enum settings in files are written as on the command line (`schedule:
/// "one-cycle"`, `tta: "none"`): the same words everywhere, and no clash between
/// the `None` of test-time augmentation and an absent setting.
mod value_name {
    use clap::ValueEnum;
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer, T: ValueEnum>(
        value: &Option<T>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value.as_ref().and_then(|v| v.to_possible_value()) {
            Some(name) => serializer.serialize_some(name.get_name()),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: ValueEnum>(
        deserializer: D,
    ) -> Result<Option<T>, D::Error> {
        let Some(name) = Option::<String>::deserialize(deserializer)? else {
            return Ok(None);
        };
        T::from_str(&name, true).map(Some).map_err(|_| {
            let known: Vec<String> = T::value_variants()
                .iter()
                .filter_map(|v| v.to_possible_value())
                .map(|v| v.get_name().to_string())
                .collect();
            D::Error::custom(format!("{name:?} is not one of {}", known.join(", ")))
        })
    }
}

/// Reads RON as written by people: `Some(..)` optional (`epochs: 10`).
pub fn ron_options() -> ron::Options {
    ron::Options::default().with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
}

/// Writes RON the way `ron_options` reads it, without `Some(..)` around values.
pub fn ron_pretty() -> ron::ser::PrettyConfig {
    ron::ser::PrettyConfig::default().extensions(ron::extensions::Extensions::IMPLICIT_SOME)
}
