//! The board's columns as text, shared by the interactive board and the plain
//! table `fer runs` prints without a terminal.

use crate::run::format::duration;
use crate::run::listing::RunOverview;

/// Widest id and model shown; longer ones are cut with `~`.
const MAX_ID: usize = 28;
const MAX_MODEL: usize = 16;
/// Epochs the sparkline shows (the latest ones).
pub const SPARK_EPOCHS: usize = 24;

/// Column widths for a set of rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Widths {
    pub id: usize,
    pub model: usize,
}

impl Widths {
    pub fn of<'a>(runs: impl IntoIterator<Item = &'a RunOverview>) -> Self {
        let mut widths = Self { id: 2, model: 5 };
        for run in runs {
            widths.id = widths.id.max(run.id.chars().count().min(MAX_ID));
            widths.model = widths.model.max(run.model.chars().count().min(MAX_MODEL));
        }
        widths
    }
}

/// The header line, aligned with [`row`].
pub fn header(widths: Widths) -> String {
    format!(
        "{:<iw$} {:<mw$} {:<10} {:>7} {:>6} {:>6} {:>7} {:>8}  {}",
        "id",
        "model",
        "state",
        "epoch",
        "best",
        "test",
        "img/s",
        "elapsed",
        "val acc",
        iw = widths.id,
        mw = widths.model,
    )
}

/// One run as a line: id, model, state, epoch/total, best val and test accuracy
/// (%), images/s, elapsed time and the sparkline of val accuracy per epoch.
pub fn row(run: &RunOverview, widths: Widths, ascii: bool) -> String {
    let epoch = match (run.epoch, run.epochs) {
        (_, 0) if run.path.is_none() => "-".to_string(),
        (epoch, 0) => format!("{epoch}/?"),
        (epoch, total) => format!("{epoch}/{total}"),
    };
    let percent = |value: Option<f64>| match value {
        Some(v) if v.is_finite() => format!("{:.1}", 100.0 * v),
        _ => "-".to_string(),
    };
    let speed = match run.images_per_second {
        Some(v) if v.is_finite() => format!("{v:.0}"),
        _ => "-".to_string(),
    };
    let elapsed = match run.elapsed_seconds {
        Some(s) if s.is_finite() => duration(s),
        _ => "-".to_string(),
    };
    let spark = sparkline(&run.val_accuracies(), SPARK_EPOCHS, ascii);
    format!(
        "{:<iw$} {:<mw$} {:<10} {:>7} {:>6} {:>6} {:>7} {:>8}  {}",
        cut(&run.id, widths.id),
        cut(&run.model, widths.model),
        run.state.label(),
        epoch,
        percent(run.best_val_accuracy),
        percent(run.test_accuracy),
        speed,
        elapsed,
        spark,
        iw = widths.id,
        mw = widths.model,
    )
    .trim_end()
    .to_string()
}

/// The table `fer runs` prints without a terminal: a header and one line per run.
pub fn plain_table(runs: &[RunOverview], ascii: bool) -> Vec<String> {
    let widths = Widths::of(runs);
    let mut lines = vec![header(widths)];
    lines.extend(runs.iter().map(|run| row(run, widths, ascii)));
    lines
}

/// The last `max` values as one character each, scaled between the lowest and the
/// highest of them (▁ to █; `_.-=+*#@` in ASCII). Non-finite values are gaps.
pub fn sparkline(values: &[f64], max: usize, ascii: bool) -> String {
    const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    const ASCII: [char; 8] = ['_', '.', '-', '=', '+', '*', '#', '@'];
    let ramp = if ascii { ASCII } else { BLOCKS };
    let shown = &values[values.len().saturating_sub(max)..];
    let finite = shown.iter().copied().filter(|v| v.is_finite());
    let low = finite.clone().fold(f64::INFINITY, f64::min);
    let high = finite.fold(f64::NEG_INFINITY, f64::max);
    shown
        .iter()
        .map(|&value| {
            if !value.is_finite() {
                return ' ';
            }
            let level = if high > low {
                ((value - low) / (high - low) * 7.0).round() as usize
            } else {
                3
            };
            ramp[level.min(7)]
        })
        .collect()
}

/// `text` in at most `width` characters (`~` marks a cut).
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('~');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_between_the_lowest_and_highest_value() {
        assert_eq!(sparkline(&[0.1, 0.2, 0.3], 10, false), "▁▅█");
        assert_eq!(sparkline(&[0.1, 0.2, 0.3], 10, true), "_+@");
        assert_eq!(sparkline(&[0.5, 0.5], 10, true), "==");
        assert_eq!(sparkline(&[0.1, f64::NAN, 0.3, 0.2], 3, true), " @_");
        assert_eq!(sparkline(&[], 3, false), "");
    }
}
