//! `fer report`: finished run directories in, `report.md` and PNG figures out.
//!
//! [`write_report`] loads each run ([`record`]), labels the runs uniquely
//! ([`labels`]), draws the figures ([`figures`]), computes the results table
//! ([`table`]), the findings ([`analysis`]) and the best ensemble ([`ensemble`]),
//! and writes the markdown ([`markdown`]). Nothing here trains or loads a model:
//! everything comes from the files a run leaves behind. [`card`] describes one run
//! (`RUN/model-card.md`) from the same readers.

pub mod analysis;
pub mod card;
pub mod ensemble;
mod error;
pub mod figures;
pub mod labels;
mod lr;
mod markdown;
pub mod record;
pub mod table;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use analysis::Analysis;
pub use card::{model_card, write_model_card, MODEL_CARD_FILE};
pub use ensemble::{EnsembleChoice, EnsembleOutcome};
pub use error::ReportError;
pub use record::{ConfusionSplit, RunRecord};
pub use table::TableRow;

/// The markdown file's name inside the output directory.
pub const REPORT_FILE: &str = "report.md";

/// What [`write_report`] wrote and found.
#[derive(Clone, Debug)]
pub struct Report {
    /// `<out_dir>/report.md`.
    pub markdown: PathBuf,
    /// Every PNG written, in the order the report shows them.
    pub figures: Vec<Figure>,
    /// The results table, one row per reported run, in the order given.
    pub table: Vec<TableRow>,
    pub analysis: Analysis,
    pub ensemble: EnsembleOutcome,
    /// Runs skipped or reported partially, and figures left out (also in the report).
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub path: PathBuf,
    /// The file name, which is also the report's relative link.
    pub file_name: String,
    /// The caption under the figure in the report.
    pub caption: String,
}

/// Reads the run directories `runs`, writes `report.md` and its figures into
/// `out_dir` (created if needed; files of an earlier report are overwritten), and
/// returns what was written. A path that is not a run directory is an error; a run
/// without any finished epoch is skipped with a warning; a run without
/// `summary.json` (it crashed or is still running) is reported from `metrics.csv`.
pub fn write_report(runs: &[PathBuf], out_dir: &Path, title: &str) -> Result<Report, ReportError> {
    let mut warnings = Vec::new();
    let mut records = load_records(runs, &mut warnings)?;
    labels::assign_labels(&mut records);
    std::fs::create_dir_all(out_dir).map_err(|e| ReportError::io(out_dir, e))?;
    let figures = write_figures(out_dir, &records, &mut warnings)?;
    let report = Report {
        markdown: out_dir.join(REPORT_FILE),
        table: table::table_rows(&records),
        analysis: analysis::analyse(&records),
        ensemble: ensemble::best_ensemble(&records),
        figures,
        warnings,
    };
    let text = markdown::render(title, &records, &report);
    std::fs::write(&report.markdown, text).map_err(|e| ReportError::io(&report.markdown, e))?;
    Ok(report)
}

fn load_records(
    runs: &[PathBuf],
    warnings: &mut Vec<String>,
) -> Result<Vec<RunRecord>, ReportError> {
    if runs.is_empty() {
        return Err(ReportError::NoRuns("no run directories given".into()));
    }
    let mut records = Vec::with_capacity(runs.len());
    for path in runs {
        let record = RunRecord::load(path)?;
        if record.is_empty() {
            warnings.push(format!(
                "{}: skipped: no finished epoch (no summary.json, no rows in metrics.csv)",
                path.display()
            ));
            continue;
        }
        if !record.finished() {
            warnings.push(format!(
                "{}: no summary.json (the run crashed or is still running): reported from \
                 metrics.csv and events.jsonl, without test scores",
                path.display()
            ));
        }
        records.push(record);
    }
    if records.is_empty() {
        return Err(ReportError::NoRuns(
            "none of the runs has a finished epoch".into(),
        ));
    }
    Ok(records)
}

fn write_figures(
    out_dir: &Path,
    records: &[RunRecord],
    warnings: &mut Vec<String>,
) -> Result<Vec<Figure>, ReportError> {
    let figure = |file_name: &str, caption: String| Figure {
        path: out_dir.join(file_name),
        file_name: file_name.to_string(),
        caption,
    };
    let curves = figure(
        "curves.png",
        "Accuracy and loss per epoch, training and validation.".into(),
    );
    figures::draw_curves(&curves.path, records)?;
    let lr = figure(
        "lr.png",
        "The learning rate each run followed (per step from its schedule plans; \
         \"per epoch\" marks runs with only metrics.csv's end-of-epoch LR)."
            .into(),
    );
    figures::draw_lr(&lr.path, records)?;
    let recall = figure(
        "recall.png",
        "Validation recall per emotion at each run's best epoch.".into(),
    );
    figures::draw_recall(&recall.path, records)?;
    let mut written = vec![curves, lr, recall];
    let mut stems = HashSet::new();
    for (index, record) in records.iter().enumerate() {
        let Some((matrix, split)) = record.shown_confusion() else {
            warnings.push(format!(
                "{}: no confusion matrix (neither summary.json nor events.jsonl has one)",
                record.label
            ));
            continue;
        };
        let mut stem = labels::file_stem(&record.label);
        if !stems.insert(stem.clone()) {
            stem = format!("{stem}-{}", index + 1);
            stems.insert(stem.clone());
        }
        let (title, caption) = confusion_caption(record, split);
        let confusion = figure(&format!("confusion-{stem}.png"), caption);
        figures::draw_confusion(&confusion.path, &title, matrix)?;
        written.push(confusion);
    }
    Ok(written)
}

/// The figure's title and the report's caption for a run's confusion matrix.
fn confusion_caption(record: &RunRecord, split: ConfusionSplit) -> (String, String) {
    let cells = "Counts per cell; colour and percentage: share of the true emotion.";
    match split {
        ConfusionSplit::Test => (
            format!("{}: test", record.label),
            format!(
                "{}: test split, best-validation checkpoint. {cells}",
                record.label
            ),
        ),
        ConfusionSplit::BestValidation => (
            format!(
                "{}: validation, epoch {}",
                record.label,
                record.best_epoch()
            ),
            format!(
                "{}: validation split at the best epoch ({}): the run has no test scores \
                 (the data set withheld the test rows, or the run did not finish). {cells}",
                record.label,
                record.best_epoch()
            ),
        ),
    }
}
