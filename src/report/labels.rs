//! Run labels: the model name, and when several runs share a model, the settings
//! that tell them apart (`resnet20 (mixup 0.2)`), else a number (`resnet20 (2)`).

use super::record::RunRecord;
use crate::train::TrainConfig;

/// A setting's short name, and how to read it from a config.
type Setting = (&'static str, fn(&TrainConfig) -> String);

/// The settings worth naming, in the order they appear in a label.
const SETTINGS: &[Setting] = &[
    ("schedule", |c| {
        format!("{:?}", c.schedule.name).to_lowercase()
    }),
    ("lr", |c| format!("{}", c.lr)),
    ("mixup", |c| format!("{}", c.loss.mixup_alpha)),
    ("LS", |c| format!("{}", c.loss.label_smoothing)),
    ("crop", |c| format!("{}", c.augment.crop)),
    ("erasing", |c| format!("{}", c.augment.erasing_probability)),
    ("jitter", |c| format!("{}", c.augment.brightness)),
    ("batch", |c| format!("{}", c.batch_size)),
    ("epochs", |c| format!("{}", c.epochs)),
];

pub fn assign_labels(records: &mut [RunRecord]) {
    let labels: Vec<String> = (0..records.len())
        .map(|index| descriptive_label(records, index))
        .collect();
    for (index, record) in records.iter_mut().enumerate() {
        let earlier_twins = labels[..index]
            .iter()
            .filter(|l| **l == labels[index])
            .count();
        record.label = match earlier_twins {
            0 => labels[index].clone(),
            n => format!("{} ({})", labels[index], n + 1),
        };
    }
}

/// The model name, plus the settings that differ among the runs of the same model.
fn descriptive_label(records: &[RunRecord], index: usize) -> String {
    let model = records[index].model();
    let twins: Vec<&TrainConfig> = records
        .iter()
        .filter(|r| r.model() == model)
        .map(|r| &r.config)
        .collect();
    if twins.len() < 2 {
        return model.to_string();
    }
    let own = &records[index].config;
    let differing: Vec<String> = SETTINGS
        .iter()
        .filter(|(_, value)| twins.iter().any(|c| value(c) != value(twins[0])))
        .map(|(name, value)| format!("{name} {}", value(own)))
        .collect();
    if differing.is_empty() {
        model.to_string()
    } else {
        format!("{model} ({})", differing.join(", "))
    }
}

/// A file-name-safe form of a label: `resnet20 (mixup 0.2)` -> `resnet20-mixup-0-2`.
pub fn file_stem(label: &str) -> String {
    let mut stem = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            stem.push(c.to_ascii_lowercase());
        } else if !stem.ends_with('-') && !stem.is_empty() {
            stem.push('-');
        }
    }
    stem.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_lowercase_words_joined_by_dashes() {
        assert_eq!(file_stem("resnet20 (mixup 0.2)"), "resnet20-mixup-0-2");
        assert_eq!(file_stem("resnet20 (2)"), "resnet20-2");
        assert_eq!(file_stem("densenet-small"), "densenet-small");
    }
}
