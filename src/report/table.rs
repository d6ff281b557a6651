//! The results table: one row per run, as numbers (for callers) and as markdown.

use std::collections::HashMap;

use super::record::RunRecord;
use crate::model::macs::{human_count, macs_per_image};
use crate::run::format::with_thousands_separators;

#[derive(Clone, Debug, PartialEq)]
pub struct TableRow {
    pub label: String,
    pub model: String,
    pub finished: bool,
    pub parameters: Option<usize>,
    /// Multiply-accumulates of one forward pass at the run's crop side.
    pub macs_per_image: Option<u64>,
    pub crop: usize,
    pub epochs: usize,
    pub best_epoch: usize,
    /// Fractions in 0..1.
    pub val_accuracy: f64,
    pub test_accuracy: Option<f64>,
    pub val_macro_f1: f64,
    pub test_macro_f1: Option<f64>,
    pub training_seconds: f64,
    pub images_per_second: f64,
    /// Train minus validation accuracy at the best epoch, percentage points.
    pub gap_pp: Option<f64>,
}

pub fn table_rows(records: &[RunRecord]) -> Vec<TableRow> {
    // Counting MACs builds the model; do it once per (model, side).
    let mut macs: HashMap<(String, usize), Option<u64>> = HashMap::new();
    records
        .iter()
        .map(|record| {
            let crop = record.config.augment.crop;
            let key = (record.model().to_string(), crop);
            let macs = *macs
                .entry(key)
                .or_insert_with(|| macs_per_image(record.model(), crop).ok());
            TableRow {
                label: record.label.clone(),
                model: record.model().to_string(),
                finished: record.finished(),
                parameters: record.parameters(),
                macs_per_image: macs,
                crop,
                epochs: record.epochs_completed(),
                best_epoch: record.best_epoch(),
                val_accuracy: record.best_val_accuracy(),
                test_accuracy: record.test_accuracy(),
                val_macro_f1: record.best_val_macro_f1(),
                test_macro_f1: record.test_macro_f1(),
                training_seconds: record.training_seconds(),
                images_per_second: record.images_per_second(),
                gap_pp: record.generalisation_gap_pp(),
            }
        })
        .collect()
}

pub const DASH: &str = "—";

pub fn percent(fraction: f64) -> String {
    format!("{:.2}%", 100.0 * fraction)
}

pub fn optional_percent(fraction: Option<f64>) -> String {
    fraction.map_or_else(|| DASH.to_string(), percent)
}

/// `45s`, `12m 05s`, `2h 03m`.
pub fn duration(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as u64;
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60);
    match (hours, minutes) {
        (0, 0) => format!("{secs}s"),
        (0, _) => format!("{minutes}m {secs:02}s"),
        _ => format!("{hours}h {minutes:02}m"),
    }
}

pub fn markdown_table(rows: &[TableRow]) -> String {
    let mut text = String::from(
        "| Run | Model | Parameters | MACs/image | Epochs | Best epoch | Val accuracy | Test accuracy \
         | Val macro-F1 | Test macro-F1 | Training time | Images/s | Gap (pp) |\n\
         |---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n",
    );
    for row in rows {
        let label = if row.finished {
            row.label.clone()
        } else {
            format!("{} (unfinished)", row.label)
        };
        let cells = [
            label,
            row.model.clone(),
            row.parameters
                .map_or_else(|| DASH.to_string(), with_thousands_separators),
            row.macs_per_image.map_or_else(
                || DASH.to_string(),
                |macs| format!("{} @{}px", human_count(macs), row.crop),
            ),
            row.epochs.to_string(),
            row.best_epoch.to_string(),
            percent(row.val_accuracy),
            optional_percent(row.test_accuracy),
            percent(row.val_macro_f1),
            optional_percent(row.test_macro_f1),
            duration(row.training_seconds),
            format!("{:.0}", row.images_per_second),
            row.gap_pp
                .map_or_else(|| DASH.to_string(), |gap| format!("{gap:+.2}")),
        ];
        text.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(45.4), "45s");
        assert_eq!(duration(725.0), "12m 05s");
        assert_eq!(duration(7380.0), "2h 03m");
    }
}
