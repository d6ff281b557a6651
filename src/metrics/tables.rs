//! Plain-text reports of a confusion matrix, as `fer eval` prints them.

use super::ConfusionMatrix;
use std::fmt::Write;

/// Per-class support, precision, recall and F1, then accuracy and macro-F1.
/// Classes beyond `names` are labelled `class N`.
pub fn per_class_table(cm: &ConfusionMatrix, names: &[&str]) -> String {
    let labels = class_labels(cm.num_classes(), names);
    let name_width = labels
        .iter()
        .map(|l| l.chars().count())
        .chain([8])
        .max()
        .unwrap_or(8);
    let mut out = String::new();
    // `write!` into a String cannot fail; the results are ignored for that reason.
    let _ = writeln!(
        out,
        "{:<name_width$}  {:>8}  {:>9}  {:>7}  {:>7}",
        "class", "support", "precision", "recall", "F1"
    );
    for (class, label) in labels.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:<name_width$}  {:>8}  {:>9.4}  {:>7.4}  {:>7.4}",
            label,
            cm.support(class),
            cm.precision(class),
            cm.recall(class),
            cm.f1(class)
        );
    }
    let value_column = name_width + 2 + 8 + 2 + 9 + 2 + 7 + 2;
    let _ = writeln!(
        out,
        "{:<value_column$}{:>7.4}  ({}/{} correct)",
        "accuracy",
        cm.accuracy(),
        cm.correct(),
        cm.total()
    );
    let _ = writeln!(out, "{:<value_column$}{:>7.4}", "macro-F1", cm.macro_f1());
    out
}

/// The counts with true classes as rows and predicted classes as columns;
/// column headers are the first three letters of each name.
pub fn confusion_table(cm: &ConfusionMatrix, names: &[&str]) -> String {
    const CORNER: &str = "true\\pred";
    let labels = class_labels(cm.num_classes(), names);
    let abbreviations: Vec<String> = labels.iter().map(|label| abbreviate(label)).collect();
    let widest_count = cm
        .counts()
        .iter()
        .flatten()
        .max()
        .copied()
        .unwrap_or(0)
        .to_string()
        .len();
    let widest_abbreviation = abbreviations
        .iter()
        .map(|a| a.chars().count())
        .max()
        .unwrap_or(0);
    let cell_width = widest_count.max(widest_abbreviation);
    let name_width = labels
        .iter()
        .map(|l| l.chars().count())
        .chain([CORNER.len()])
        .max()
        .unwrap_or(CORNER.len());

    let mut out = format!("{CORNER:<name_width$}");
    for abbreviation in &abbreviations {
        let _ = write!(out, "  {abbreviation:>cell_width$}");
    }
    out.push('\n');
    for (label, row) in labels.iter().zip(cm.counts()) {
        let _ = write!(out, "{label:<name_width$}");
        for count in row {
            let _ = write!(out, "  {count:>cell_width$}");
        }
        out.push('\n');
    }
    out
}

fn class_labels(num_classes: usize, names: &[&str]) -> Vec<String> {
    (0..num_classes)
        .map(|class| {
            names
                .get(class)
                .map_or_else(|| format!("class {class}"), |name| name.to_string())
        })
        .collect()
}

fn abbreviate(label: &str) -> String {
    match label.strip_prefix("class ") {
        // Unnamed classes keep their number, which is the only thing that tells them apart.
        Some(number) => format!("c{number}"),
        None => label.chars().take(3).collect(),
    }
}
