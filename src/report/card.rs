//! `RUN/model-card.md`: what a trained model is, what it learnt from, how well it did,
//! how to feed it and where it fails. Every number about the run comes from the run's
//! own files (config.ron, events.jsonl, metrics.csv, summary.json), read through
//! [`RunRecord`]; the only fixed numbers are the published ones the limits quote.
//! A session writes the card when a run ends, however it ended; `fer card RUN`
//! rewrites it.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::ValueEnum;

use super::analysis::{worst_confused_shares, CONFUSED_PAIRS};
use super::error::ReportError;
use super::record::{ConfusionSplit, RunRecord};
use super::table::{optional_percent, percent, DASH};
use crate::data::{EMOTIONS, IMAGE_SIDE, NUM_CLASSES};
use crate::metrics::ConfusionMatrix;
use crate::run::format::with_thousands_separators;
use crate::run::{write_atomic, CheckpointKind, Event, RunDir};

/// The card's file name inside the run directory.
pub const MODEL_CARD_FILE: &str = "model-card.md";

/// Where the class imbalance bites hardest: FER2013's rarest emotion.
const DISGUST: usize = 1;

/// The card of the run in `run`, as markdown. A run without a finished epoch has
/// nothing to describe: [`ReportError::NoFinishedEpoch`].
pub fn model_card(run: &RunDir) -> Result<String, ReportError> {
    let mut record = RunRecord::load(run.path())?;
    if record.epochs.is_empty() && record.summary.as_ref().is_none_or(|s| s.best_epoch == 0) {
        return Err(ReportError::NoFinishedEpoch(run.path().to_path_buf()));
    }
    let config_path = run.config_path();
    let config_text =
        std::fs::read_to_string(&config_path).map_err(|e| ReportError::io(&config_path, e))?;
    let facts = RunFacts::read(run)?;
    // A resume that trained more epochs and then failed leaves the summary.json of the
    // attempt before it: its scores no longer describe the run (best.ckpt may have
    // moved on), so the card is made from metrics.csv, as for a crash.
    let stale = record
        .summary
        .as_ref()
        .is_some_and(|s| s.epochs_completed < record.epochs.len());
    if stale && !facts.ending.finished() {
        record.summary = None;
    }
    let best_checkpoint = run.checkpoint_path(CheckpointKind::Best).is_file();
    let mut text = String::new();
    title_section(&mut text, &record, &facts);
    model_section(&mut text, &record, best_checkpoint);
    data_section(&mut text, &record, &facts, &config_text);
    results_section(&mut text, &record, &facts);
    preparation_section(&mut text);
    limits_section(&mut text, &record);
    Ok(text)
}

/// Writes [`model_card`] to `RUN/model-card.md` atomically (a reader never sees half
/// a card, and a failure leaves the previous one) and returns its path.
pub fn write_model_card(run: &RunDir) -> Result<PathBuf, ReportError> {
    let text = model_card(run)?;
    let path = run.path().join(MODEL_CARD_FILE);
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// What only `events.jsonl` knows: the rows per split and how the run ended.
struct RunFacts {
    started: Option<Started>,
    ending: Ending,
}

/// The last `RunStarted` event's data (a resumed run starts again on the same data).
struct Started {
    data_source: String,
    train_images: usize,
    val_images: usize,
    test_images: usize,
}

/// How the last attempt (the first run or its latest resume) ended.
enum Ending {
    Finished,
    Stopped,
    Failed(String),
    /// No ending recorded: killed, or still running.
    Unknown,
    /// events.jsonl has no `RunStarted`: nothing says, so summary.json is trusted.
    NotRecorded,
}

impl Ending {
    fn finished(&self) -> bool {
        matches!(
            self,
            Ending::Finished | Ending::Stopped | Ending::NotRecorded
        )
    }
}

impl RunFacts {
    fn read(run: &RunDir) -> Result<Self, ReportError> {
        let events = if run.events_path().is_file() {
            run.read_events()?
        } else {
            Vec::new()
        };
        let started = events.iter().rev().find_map(|event| match event {
            Event::RunStarted {
                data_source,
                train_images,
                val_images,
                test_images,
                ..
            } => Some(Started {
                data_source: data_source.clone(),
                train_images: *train_images,
                val_images: *val_images,
                test_images: *test_images,
            }),
            _ => None,
        });
        // Only the events since the last start: an earlier attempt's end is not this one's.
        let ending = events
            .iter()
            .rev()
            .take_while(|event| !matches!(event, Event::RunStarted { .. }))
            .find_map(|event| match event {
                Event::RunFinished { stopped: true, .. } => Some(Ending::Stopped),
                Event::RunFinished { .. } => Some(Ending::Finished),
                Event::RunFailed { error } => Some(Ending::Failed(error.clone())),
                Event::Diverged { message, .. } => Some(Ending::Failed(message.clone())),
                _ => None,
            });
        let ending = match (ending, &started) {
            (Some(ending), _) => ending,
            (None, Some(_)) => Ending::Unknown,
            (None, None) => Ending::NotRecorded,
        };
        Ok(Self { started, ending })
    }
}

fn plural(count: usize, word: &str) -> String {
    match count {
        1 => format!("1 {word}"),
        _ => format!("{count} {word}s"),
    }
}

fn title_section(text: &mut String, record: &RunRecord, facts: &RunFacts) {
    let _ = writeln!(
        text,
        "# Model card: {} ({})\n\nWritten by `fer` from this run's files (config.ron, \
         events.jsonl, metrics.csv, summary.json) when the run ended; `fer card RUN` \
         rewrites it.\n",
        record.model(),
        record.id
    );
    let _ = writeln!(text, "**Status**: {}\n", status(record, &facts.ending));
    if record.config.data.is_none() {
        text.push_str(
            "> **A smoke test, not a model**: this run trained on the bundled sample \
             (`fer train` without `--data`).\n\n",
        );
    }
}

fn status(record: &RunRecord, ending: &Ending) -> String {
    let (epochs, best) = (
        plural(record.epochs_completed(), "epoch"),
        record.best_epoch(),
    );
    let why = match ending {
        Ending::Failed(error) => format!("it failed: {error}"),
        _ => "it crashed, was killed or is still running".to_string(),
    };
    match (&record.summary, ending) {
        (Some(_), Ending::Stopped) => format!(
            "Stopped before the end of its plan, after {epochs}; the best validation \
             accuracy was at epoch {best}."
        ),
        (Some(_), Ending::Finished | Ending::NotRecorded) => {
            format!("Finished: {epochs}; the best validation accuracy was at epoch {best}.")
        }
        (Some(_), _) => format!(
            "Finished after {epochs} (the best validation accuracy at epoch {best}); a \
             later attempt (a resume) added no epoch and did not finish: {why}. The scores \
             below are from the finished attempt."
        ),
        (None, _) => format!(
            "**This run did not finish** ({why}). What follows comes from metrics.csv and \
             events.jsonl at its best epoch ({best}) of {}; there are no test scores.",
            plural(record.epochs.len(), "finished epoch")
        ),
    }
}

fn model_section(text: &mut String, record: &RunRecord, best_checkpoint: bool) {
    let config = &record.config;
    let parameters = record.parameters().map_or_else(
        || format!("{DASH} (neither summary.json nor events.jsonl says)"),
        with_thousands_separators,
    );
    let tta = config
        .tta
        .to_possible_value()
        .map_or_else(|| format!("{:?}", config.tta), |v| v.get_name().to_string());
    let checkpoint = if best_checkpoint {
        "`checkpoints/best.ckpt` (the best validation epoch's weights: every score below is \
         theirs)"
    } else {
        "none: `checkpoints/best.ckpt` is missing"
    };
    let _ = writeln!(
        text,
        "## Model\n\n\
         - Architecture: `{}` (see `fer models`)\n\
         - Parameters: {parameters}\n\
         - Input: one grey {IMAGE_SIDE}\u{d7}{IMAGE_SIDE} face; trained on \
         {crop}\u{d7}{crop} crops of it, evaluated with test-time augmentation `{tta}`\n\
         - Output: {NUM_CLASSES} probabilities (softmax), in FER2013 label order (see \
         [Preparing faces](#preparing-faces))\n\
         - Checkpoint: {checkpoint}\n",
        config.model,
        crop = config.augment.crop,
    );
}

fn data_section(text: &mut String, record: &RunRecord, facts: &RunFacts, config_text: &str) {
    let data = record.config.data.as_ref().map_or_else(
        || "the bundled sample (`fer train` without `--data`)".to_string(),
        |path| format!("`{}`", path.display()),
    );
    text.push_str("## Data\n\n");
    let _ = writeln!(text, "- Data file: {data}");
    let source = facts
        .started
        .as_ref()
        .map(|s| s.data_source.clone())
        .or_else(|| record.summary.as_ref().map(|s| s.data_source.clone()));
    if let Some(source) = source {
        let _ = writeln!(text, "- Loaded as: {source}");
    }
    let _ = match &facts.started {
        Some(s) => writeln!(
            text,
            "- Images per split: train {}, validation {}, test {}{}",
            s.train_images,
            s.val_images,
            s.test_images,
            if s.test_images == 0 {
                " (the data set withheld the test rows)"
            } else {
                ""
            }
        ),
        None => writeln!(
            text,
            "- Images per split: {DASH} (events.jsonl has no run_started event)"
        ),
    };
    let _ = writeln!(
        text,
        "- Seed: {} (every random draw of the run derives from it: `fer train --seed`)\n\n\
         The configuration (`config.ron`; `fer train --config` repeats the run):\n\n\
         ```ron\n{}\n```\n",
        record.config.seed,
        config_text.trim_end()
    );
}

fn results_section(text: &mut String, record: &RunRecord, facts: &RunFacts) {
    let best = record.best_epoch();
    let val_images = facts.started.as_ref().map(|s| s.val_images);
    let test_images = facts.started.as_ref().map(|s| s.test_images);
    let count = |n: Option<usize>| n.map_or_else(|| DASH.to_string(), |n| n.to_string());
    let _ = writeln!(
        text,
        "## Results\n\n\
         | Split | Accuracy | Macro-F1 | Images |\n|---|--:|--:|--:|\n\
         | Validation (epoch {best}) | {} | {} | {} |\n\
         | Test (the same checkpoint) | {} | {} | {} |\n",
        percent(record.best_val_accuracy()),
        percent(record.best_val_macro_f1()),
        count(val_images),
        optional_percent(record.test_accuracy()),
        optional_percent(record.test_macro_f1()),
        count(test_images),
    );
    if record.test_accuracy().is_none() {
        let _ = writeln!(
            text,
            "No test scores ({}). The validation split chose the checkpoint, so its scores \
             are optimistic.\n",
            missing_test_reason(record, facts)
        );
    }
    recall_table(text, record);
    confusions_text(text, record);
}

fn missing_test_reason(record: &RunRecord, facts: &RunFacts) -> &'static str {
    match (&facts.started, &record.summary) {
        (Some(started), _) if started.test_images == 0 => "the data set withheld the test rows",
        (_, None) => "the run did not finish",
        (_, Some(_)) => "summary.json has none",
    }
}

fn recall_table(text: &mut String, record: &RunRecord) {
    let val = record.confusion(ConfusionSplit::BestValidation);
    let test = record.confusion(ConfusionSplit::Test);
    text.push_str(
        "Recall per emotion (the share of each true emotion recognised):\n\n\
         | Emotion | Validation recall | Validation images | Test recall | Test images |\n\
         |---|--:|--:|--:|--:|\n",
    );
    for (class, name) in EMOTIONS.iter().enumerate() {
        let (val_recall, val_images) = match val {
            Some(matrix) => recall_cells(Some(matrix), class),
            // Without a matrix, metrics.csv still has the best epoch's recall.
            None => (
                record
                    .best_row()
                    .map_or_else(|| DASH.to_string(), |row| percent(row.val_recall[class])),
                DASH.to_string(),
            ),
        };
        let (test_recall, test_images) = recall_cells(test, class);
        let _ = writeln!(
            text,
            "| {name} | {val_recall} | {val_images} | {test_recall} | {test_images} |"
        );
    }
    text.push('\n');
}

/// Recall and image count of `class`; a dash for a recall without images to count.
fn recall_cells(matrix: Option<&ConfusionMatrix>, class: usize) -> (String, String) {
    match matrix {
        Some(matrix) if matrix.support(class) > 0 => (
            percent(matrix.recall(class)),
            matrix.support(class).to_string(),
        ),
        Some(_) => (DASH.to_string(), "0".to_string()),
        None => (DASH.to_string(), DASH.to_string()),
    }
}

fn confusions_text(text: &mut String, record: &RunRecord) {
    let Some((matrix, split)) = record.shown_confusion() else {
        text.push_str(
            "Worst confusions: none to show (neither summary.json nor events.jsonl has a \
             confusion matrix).\n\n",
        );
        return;
    };
    let split = match split {
        ConfusionSplit::Test => "test split".to_string(),
        ConfusionSplit::BestValidation => {
            format!("validation split at epoch {}", record.best_epoch())
        }
    };
    let _ = writeln!(
        text,
        "Worst confusions ({split}): the mistakes that take the largest share of their \
         true emotion.\n"
    );
    let worst = worst_confused_shares(matrix, CONFUSED_PAIRS);
    for pair in &worst {
        let _ = writeln!(
            text,
            "- {} taken for {}: {:.1}% of the true {} ({} of {})",
            EMOTIONS[pair.true_class],
            EMOTIONS[pair.predicted_class],
            100.0 * pair.share_of_true_class,
            EMOTIONS[pair.true_class],
            pair.count,
            plural(matrix.support(pair.true_class) as usize, "image"),
        );
    }
    if worst.is_empty() {
        text.push_str("- none: every image was classified correctly\n");
    }
    text.push('\n');
}

fn preparation_section(text: &mut String) {
    let labels: Vec<String> = EMOTIONS
        .iter()
        .enumerate()
        .map(|(label, name)| format!("{label} {name}"))
        .collect();
    let _ = writeln!(
        text,
        "## Preparing faces\n\n\
         The model only knows faces framed as FER2013 frames them. Give it:\n\n\
         1. a square crop of the face with about 10% margin around it;\n\
         2. converted to grey (one channel);\n\
         3. resized to {IMAGE_SIDE}\u{d7}{IMAGE_SIDE} pixels.\n\n\
         `fer predict --run RUN IMAGE` does this, finding the face first, and applies the \
         run's test-time augmentation. The output is {NUM_CLASSES} probabilities in \
         FER2013 label order: {}.\n",
        labels.join(", ")
    );
}

fn limits_section(text: &mut String, record: &RunRecord) {
    text.push_str(
        "## Known limits\n\n\
         - FER2013's faces are posed-ish, centred, low-resolution crops scraped from the \
         web, with label noise: human accuracy on FER2013 is about 65\u{b1}5%.\n\
         - Heavy class imbalance: Disgust is 1.5% of FER2013",
    );
    if let Some(matrix) = record.confusion(ConfusionSplit::BestValidation) {
        let (disgust, total) = (matrix.support(DISGUST), matrix.total());
        let share = 100.0 * disgust as f64 / total.max(1) as f64;
        let _ = write!(
            text,
            " (this run's validation split: {disgust} of {total} images, {share:.1}%; \
             predicted as Disgust: {})",
            matrix.predicted(DISGUST)
        );
    }
    text.push_str(
        ", so its scores rest on few images.\n\
         - Photos in the wild score much lower than FER2013's own test split: py-feat \
         reports an accuracy of 0.54 on RAF-DB for a FER2013-trained model (ResMaskNet, \
         74.1% on FER2013). Expect a large drop from the scores above on your own \
         photos.\n\
         - It always answers with the 7 emotions above, whatever the face shows (or \
         whether there is one): a research model for comparing architectures on FER2013, \
         not a judge of what people feel.\n\
         - A run on the bundled sample (`fer train` without `--data`) is a smoke test, \
         not a model",
    );
    if record.config.data.is_none() {
        text.push_str(": this run is one");
    }
    text.push_str(".\n");
}
