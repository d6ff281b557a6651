//! The model card (`RUN/model-card.md`): its numbers against the run's own files, a
//! run that did not finish, and the binary (`fer train` leaves one, `fer card`
//! rewrites it, and refuses what is not a run with one line and exit code 2).

mod common;

use std::path::Path;

use common::process::{fer, stderr, stdout, train_small_run};
use common::{fast_config, new_run, tiny_dataset, train};
use fer::data::{EMOTIONS, NUM_CLASSES};
use fer::metrics::ConfusionMatrix;
use fer::report::card::{model_card, write_model_card, MODEL_CARD_FILE};
use fer::report::record::read_metrics;
use fer::report::ReportError;
use fer::run::format::with_thousands_separators;
use fer::run::{Event, EventLog, RunDir};
use fer::train::summary::RunSummary;

fn percent(fraction: f64) -> String {
    format!("{:.2}%", 100.0 * fraction)
}

/// The recall row the card should print for `class`, computed here from the matrices.
fn recall_row(class: usize, val: &ConfusionMatrix, test: Option<&ConfusionMatrix>) -> String {
    let cells = |matrix: Option<&ConfusionMatrix>| match matrix {
        Some(m) if m.support(class) > 0 => (
            percent(m.count(class, class) as f64 / m.support(class) as f64),
            m.support(class).to_string(),
        ),
        Some(_) => ("—".to_string(), "0".to_string()),
        None => ("—".to_string(), "—".to_string()),
    };
    let (val_recall, val_images) = cells(Some(val));
    let (test_recall, test_images) = cells(test);
    format!(
        "| {} | {val_recall} | {val_images} | {test_recall} | {test_images} |",
        EMOTIONS[class]
    )
}

/// The largest share of a true class taken for another, as the card prints it.
fn worst_share(matrix: &ConfusionMatrix) -> Option<String> {
    let shares = (0..NUM_CLASSES).flat_map(|t| {
        (0..NUM_CLASSES)
            .filter(move |&p| p != t && matrix.count(t, p) > 0)
            .map(move |p| matrix.count(t, p) as f64 / matrix.support(t) as f64)
    });
    shares
        .max_by(f64::total_cmp)
        .map(|share| format!("{:.1}% of the true", 100.0 * share))
}

fn assert_has(card: &str, needle: &str) {
    assert!(card.contains(needle), "no {needle:?} in the card:\n{card}");
}

#[test]
fn the_card_gives_the_runs_own_numbers_and_says_when_it_did_not_finish() {
    let root = tempfile::tempdir().unwrap();
    let mut config = fast_config(2);
    config.seed = 7;
    let run = new_run(root.path(), &config);
    let (result, events) = train(&run, config, tiny_dataset(64, 32), None, &[]);
    result.expect("the tiny run trains");

    let path = write_model_card(&run).expect("the card is written");
    assert_eq!(path, run.path().join(MODEL_CARD_FILE));
    let card = std::fs::read_to_string(&path).unwrap();
    let summary = RunSummary::load(&run).unwrap().expect("summary.json");
    let val = summary.best_val_confusion.as_ref().expect("val confusion");
    let test = summary.test_confusion.as_ref().expect("test confusion");

    assert_has(&card, &format!("# Model card: resnet8 ({})", run.id()));
    assert_has(&card, "**Status**: Finished: 2 epochs;");
    assert_has(
        &card,
        &format!(
            "- Parameters: {}",
            with_thousands_separators(summary.parameters)
        ),
    );
    assert_has(&card, "- Architecture: `resnet8`");
    assert_has(
        &card,
        "- Images per split: train 64, validation 32, test 16",
    );
    assert_has(&card, "- Seed: 7 ");
    let config_text = std::fs::read_to_string(run.config_path()).unwrap();
    assert_has(&card, &format!("```ron\n{}\n```", config_text.trim_end()));
    assert_has(
        &card,
        &format!(
            "| Validation (epoch {}) | {} | {} | 32 |",
            summary.best_epoch,
            percent(summary.best_val_accuracy),
            percent(summary.best_val_macro_f1)
        ),
    );
    assert_has(
        &card,
        &format!(
            "| Test (the same checkpoint) | {} | {} | 16 |",
            percent(summary.test_accuracy.unwrap()),
            percent(summary.test_macro_f1.unwrap())
        ),
    );
    for class in 0..NUM_CLASSES {
        assert_has(&card, &recall_row(class, val, Some(test)));
    }
    let confusions = card
        .split("Worst confusions (test split)")
        .nth(1)
        .expect("the worst confusions, on the test split");
    let first = confusions.lines().find(|l| l.starts_with("- ")).unwrap();
    match worst_share(test) {
        Some(share) => assert!(first.contains(&share), "{first} is not {share}"),
        None => assert!(first.contains("every image was classified correctly")),
    }
    // How to feed it, and its limits.
    assert_has(&card, "a square crop of the face with about 10% margin");
    assert_has(&card, "converted to grey");
    assert_has(&card, "resized to 48×48 pixels");
    assert_has(
        &card,
        "0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral",
    );
    assert_has(&card, "human accuracy on FER2013 is about 65±5%");
    assert_has(
        &card,
        &format!(
            "Disgust is 1.5% of FER2013 (this run's validation split: {} of 32 images",
            val.support(1)
        ),
    );
    assert_has(&card, "0.54 on RAF-DB");
    assert_has(&card, "ResMaskNet, 74.1% on FER2013");
    assert_has(&card, "is a smoke test, not a model: this run is one.");

    // A resume that failed before adding an epoch leaves the finished attempt's scores.
    let started = events
        .iter()
        .find(|event| matches!(event, Event::RunStarted { .. }))
        .expect("a run_started event")
        .clone();
    let failed = Event::RunFailed {
        error: "the training engine crashed: boom".into(),
    };
    let mut log = EventLog::open(&run).unwrap();
    log.append(&started).unwrap();
    log.append(&failed).unwrap();
    let resumed = model_card(&run).unwrap();
    assert_has(
        &resumed,
        "a later attempt (a resume) added no epoch and did not finish: it failed: the \
         training engine crashed: boom",
    );
    assert_has(&resumed, &percent(summary.test_accuracy.unwrap()));

    // Without summary.json (a crash), the card comes from metrics.csv and the events.
    let summary_json = std::fs::read(run.summary_path()).unwrap();
    std::fs::remove_file(run.summary_path()).unwrap();
    let card = model_card(&run).expect("a card from what the run left");
    assert_has(
        &card,
        "**This run did not finish** (it failed: the training engine crashed: boom)",
    );
    let rows = read_metrics(&run.metrics_path()).unwrap();
    let best = rows
        .iter()
        .find(|row| row.epoch == summary.best_epoch)
        .unwrap();
    assert_has(
        &card,
        &format!(
            "| Validation (epoch {}) | {} | {} | 32 |",
            best.epoch,
            percent(best.val_accuracy),
            percent(best.val_macro_f1)
        ),
    );
    assert_has(&card, "| Test (the same checkpoint) | — | — | 16 |");
    assert_has(&card, "No test scores (the run did not finish).");
    for class in 0..NUM_CLASSES {
        assert_has(&card, &recall_row(class, val, None));
    }
    assert_has(&card, "Worst confusions (validation split at epoch");

    // A summary.json from before epochs the failed attempt added is ignored.
    let mut stale: serde_json::Value = serde_json::from_slice(&summary_json).unwrap();
    stale["epochs_completed"] = 1.into();
    std::fs::write(run.summary_path(), stale.to_string()).unwrap();
    assert_eq!(model_card(&run).unwrap(), card);
}

#[test]
fn a_run_without_a_finished_epoch_has_no_card() {
    let root = tempfile::tempdir().unwrap();
    let run = new_run(root.path(), &fast_config(1));
    let error = model_card(&run).expect_err("nothing to describe");
    assert!(matches!(error, ReportError::NoFinishedEpoch(_)), "{error}");
    assert!(error.is_user_error());
    let message = error.to_string();
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("no finished epoch"), "{message}");
    assert!(!run.path().join(MODEL_CARD_FILE).exists());
}

#[test]
fn fer_train_leaves_a_card_and_fer_card_rewrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let run = train_small_run(dir.path(), 64);
    let card_path = run.join(MODEL_CARD_FILE);
    let written = std::fs::read_to_string(&card_path).expect("the run wrote its card");
    assert_has(&written, "**Status**: Finished: 1 epoch;");
    assert_has(&written, "small.csv`");
    assert_has(
        &written,
        "- Images per split: train 64, validation 32, test 16",
    );
    assert!(!written.contains("smoke test, not a model: this run is one"));
    assert!(
        !written.contains("No test scores"),
        "PrivateTest rows are the test split"
    );

    std::fs::remove_file(&card_path).unwrap();
    let output = fer(&["card", run.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output).trim(), card_path.display().to_string());
    let rewritten = std::fs::read_to_string(&card_path).expect("fer card rewrote it");
    assert_eq!(
        rewritten, written,
        "the same files give the same card, at the run's end or later"
    );

    let not_a_run = dir.path().join("empty");
    std::fs::create_dir(&not_a_run).unwrap();
    assert_one_line_usage_error(&not_a_run, "empty");
    // A run that never finished an epoch: only its config.ron.
    let unstarted = RunDir::create(&dir.path().join("runs"), "resnet8").unwrap();
    std::fs::copy(run.join("config.ron"), unstarted.config_path()).unwrap();
    assert_one_line_usage_error(unstarted.path(), "no finished epoch");
}

fn assert_one_line_usage_error(path: &Path, needle: &str) {
    let output = fer(&["card", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(
        message.starts_with("error: ") && message.contains(needle),
        "{message}"
    );
    assert!(!path.join(MODEL_CARD_FILE).exists());
}
