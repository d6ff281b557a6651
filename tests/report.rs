//! `fer report` on run directories built from designed numbers (no training), so
//! that every figure in the report can be checked exactly.

mod common;

use std::path::{Path, PathBuf};

use common::process::{fer, stderr, stdout};
use fer::data::NUM_CLASSES;
use fer::metrics::ConfusionMatrix;
use fer::report::analysis::DepthFinding;
use fer::report::figures::{CONFUSION_SIZE, CURVES_SIZE, LR_SIZE, RECALL_SIZE};
use fer::report::{write_report, ConfusionSplit, EnsembleOutcome, Report};
use fer::run::{EpochMetrics, Event, EventLog, PredictedSplit, Predictions, RunDir};
use fer::train::schedule::ScheduleName;
use fer::train::summary::RunSummary;
use fer::train::TrainConfig;

/// (train loss, train accuracy, val loss, val accuracy) per epoch.
type Epoch = (f64, f64, f64, f64);

struct RunSpec {
    id: &'static str,
    config: TrainConfig,
    epochs: Vec<Epoch>,
    /// `None`: the run crashed (no summary.json).
    summary: Option<SummarySpec>,
    val_predictions: Option<Predictions>,
    test_predictions: Option<Predictions>,
}

struct SummarySpec {
    parameters: usize,
    best_epoch: usize,
    val_confusion: ConfusionMatrix,
    test: Option<(f64, ConfusionMatrix)>,
}

fn config(model: &str, crop: usize) -> TrainConfig {
    let mut config = TrainConfig {
        model: model.into(),
        ..TrainConfig::default()
    };
    config.augment.crop = crop;
    config
}

/// Per-class validation recall derived from the epoch number, so rows differ.
fn recall(epoch: usize) -> Vec<f64> {
    (0..NUM_CLASSES)
        .map(|class| 0.1 * class as f64 / 2.0 + 0.05 * epoch as f64)
        .collect()
}

fn history(epochs: &[Epoch]) -> Vec<EpochMetrics> {
    epochs
        .iter()
        .enumerate()
        .map(
            |(index, &(train_loss, train_accuracy, val_loss, val_accuracy))| EpochMetrics {
                epoch: index + 1,
                lr: 0.1 / (index + 1) as f64,
                train_loss,
                train_accuracy,
                val_loss,
                val_accuracy,
                val_macro_f1: val_accuracy - 0.1,
                val_recall: recall(index + 1),
                val_confusion: ConfusionMatrix::new(NUM_CLASSES),
                seconds: 30.0,
                images_per_second: 1000.0 + index as f64 * 10.0,
            },
        )
        .collect()
}

/// Two correct images of every class plus the given (true, predicted, count) mistakes.
fn matrix(mistakes: &[(usize, usize, u64)]) -> ConfusionMatrix {
    let mut matrix = ConfusionMatrix::new(NUM_CLASSES);
    for class in 0..NUM_CLASSES {
        for _ in 0..2 {
            matrix.record(class, class).unwrap();
        }
    }
    for &(truth, predicted, count) in mistakes {
        for _ in 0..count {
            matrix.record(truth, predicted).unwrap();
        }
    }
    matrix
}

fn write_run(root: &Path, spec: RunSpec) -> PathBuf {
    let path = root.join(spec.id);
    std::fs::create_dir_all(&path).unwrap();
    let text = ron::ser::to_string_pretty(&spec.config, ron::ser::PrettyConfig::default()).unwrap();
    std::fs::write(path.join("config.ron"), text).unwrap();
    let run = RunDir::open(&path).unwrap();
    let history = history(&spec.epochs);
    run.write_metrics(&history).unwrap();
    write_events(&run, &spec.config, spec.epochs.len());
    if let Some(summary) = spec.summary {
        let best = &history[summary.best_epoch - 1];
        let record = RunSummary {
            run_id: spec.id.into(),
            model: spec.config.model.clone(),
            parameters: summary.parameters,
            data_source: "designed".into(),
            epochs_completed: history.len(),
            best_epoch: summary.best_epoch,
            best_val_accuracy: best.val_accuracy,
            best_val_macro_f1: best.val_macro_f1,
            best_val_confusion: Some(summary.val_confusion),
            test_accuracy: summary.test.as_ref().map(|(accuracy, _)| *accuracy),
            test_macro_f1: summary.test.as_ref().map(|(_, m)| m.macro_f1()),
            test_confusion: summary.test.map(|(_, matrix)| matrix),
            training_seconds: 30.0 * history.len() as f64,
            mean_images_per_second: 1020.0,
        };
        std::fs::write(
            run.summary_path(),
            serde_json::to_vec_pretty(&record).unwrap(),
        )
        .unwrap();
    }
    if let Some(predictions) = spec.val_predictions {
        run.write_predictions(PredictedSplit::Val, &predictions)
            .unwrap();
    }
    if let Some(predictions) = spec.test_predictions {
        run.write_predictions(PredictedSplit::Test, &predictions)
            .unwrap();
    }
    path
}

/// RunStarted (10 steps per epoch) and a one-cycle-like plan over the whole run.
fn write_events(run: &RunDir, config: &TrainConfig, epochs: usize) {
    let mut log = EventLog::open(run).unwrap();
    log.append(&Event::RunStarted {
        run_id: run.id(),
        run_dir: run.path().display().to_string(),
        model: config.model.clone(),
        parameters: 1234,
        device: "cpu".into(),
        data_source: "designed".into(),
        train_images: 640,
        val_images: 20,
        test_images: 0,
        val_class_counts: vec![3; NUM_CLASSES],
        epochs,
        steps_per_epoch: 10,
        batch_size: 64,
        start_epoch: 1,
        schedule: ScheduleName::OneCycle,
        notes: Vec::new(),
    })
    .unwrap();
    let steps = epochs * 10;
    let plan = (0..steps)
        .step_by(5)
        .map(|step| (step, 0.1 * (1.0 - step as f64 / steps as f64)))
        .collect();
    log.append(&Event::SchedulePlan {
        name: ScheduleName::OneCycle,
        current_lr: 0.1,
        plan,
        epochs,
        settings: None,
    })
    .unwrap();
}

fn says(class: u8, confidence: f32) -> [f32; NUM_CLASSES] {
    let mut row = [(1.0 - confidence) / 6.0; NUM_CLASSES];
    row[usize::from(class)] = confidence;
    row
}

/// Which class a member names for an image: its label, or one of two wrong ones.
#[derive(Clone, Copy)]
enum Says {
    Right(f32),
    Wrong1(f32),
    Wrong2(f32),
}

/// Validation predictions of the three designed runs (A, B, C) on 20 images, by
/// groups: (images, A, B, C).
const VAL_GROUPS: [(usize, Says, Says, Says); 6] = [
    (8, Says::Right(0.9), Says::Right(0.9), Says::Right(0.9)),
    (3, Says::Wrong1(0.9), Says::Right(0.8), Says::Right(0.7)),
    (3, Says::Right(0.95), Says::Wrong1(0.9), Says::Wrong1(0.9)),
    (3, Says::Wrong1(0.6), Says::Right(0.9), Says::Wrong2(0.6)),
    (2, Says::Wrong1(0.6), Says::Wrong2(0.6), Says::Right(0.9)),
    (1, Says::Wrong1(0.9), Says::Wrong1(0.9), Says::Wrong1(0.9)),
];

fn predictions(groups: &[(usize, Says, Says, Says)], member: usize) -> Predictions {
    let mut out = Predictions {
        labels: Vec::new(),
        probabilities: Vec::new(),
    };
    for &(images, a, b, c) in groups {
        for _ in 0..images {
            let label = (out.labels.len() % NUM_CLASSES) as u8;
            let row = match [a, b, c][member] {
                Says::Right(p) => says(label, p),
                Says::Wrong1(p) => says((label + 1) % 7, p),
                Says::Wrong2(p) => says((label + 2) % 7, p),
            };
            out.labels.push(label);
            out.probabilities.push(row);
        }
    }
    out
}

/// Test predictions of B and C on 4 images: both right twice, B alone right once
/// (and more sure than C is wrong), both wrong once: the pair scores 3 of 4.
const TEST_GROUPS: [(usize, Says, Says, Says); 3] = [
    (2, Says::Right(0.9), Says::Right(0.9), Says::Right(0.9)),
    (1, Says::Right(0.9), Says::Right(0.8), Says::Wrong1(0.6)),
    (1, Says::Right(0.9), Says::Wrong1(0.9), Says::Wrong2(0.9)),
];

/// The study: resnet8 (A) overfits from epoch 3; resnet20 (B, crop 32, the only
/// run with test scores) improves to the end and wins; resnet32 (C) has one noisy
/// last epoch. Best validation accuracies 55%, 70%, 65%; gaps +20, +10, +5 pp.
fn designed_study(root: &Path) -> Vec<PathBuf> {
    let a = RunSpec {
        id: "20260101-000000-resnet8",
        config: config("resnet8", 40),
        epochs: vec![
            (1.6, 0.40, 1.50, 0.40),
            (1.3, 0.55, 1.20, 0.50),
            (1.1, 0.65, 1.00, 0.52),
            (0.9, 0.75, 1.05, 0.55),
            (0.7, 0.82, 1.15, 0.54),
            (0.5, 0.90, 1.30, 0.53),
        ],
        summary: Some(SummarySpec {
            parameters: 78_000,
            best_epoch: 4,
            val_confusion: matrix(&[(2, 4, 3), (0, 6, 1)]),
            test: None,
        }),
        val_predictions: Some(predictions(&VAL_GROUPS, 0)),
        test_predictions: None,
    };
    let b = RunSpec {
        id: "20260101-010000-resnet20",
        config: config("resnet20", 32),
        epochs: vec![
            (1.5, 0.45, 1.40, 0.45),
            (1.2, 0.60, 1.15, 0.58),
            (1.0, 0.70, 1.00, 0.64),
            (0.9, 0.75, 0.95, 0.68),
            (0.8, 0.80, 0.90, 0.70),
        ],
        summary: Some(SummarySpec {
            parameters: 272_474,
            best_epoch: 5,
            val_confusion: matrix(&[(2, 4, 2), (4, 6, 1), (0, 6, 1)]),
            test: Some((0.68, matrix(&[(2, 4, 5), (3, 5, 1)]))),
        }),
        val_predictions: Some(predictions(&VAL_GROUPS, 1)),
        test_predictions: Some(predictions(&TEST_GROUPS, 1)),
    };
    let c = RunSpec {
        id: "20260101-020000-resnet32",
        config: config("resnet32", 40),
        epochs: vec![
            (1.5, 0.45, 1.40, 0.45),
            (1.2, 0.58, 1.10, 0.58),
            (1.0, 0.65, 1.00, 0.62),
            (0.9, 0.70, 0.98, 0.65),
            (0.8, 0.74, 1.20, 0.63),
        ],
        summary: Some(SummarySpec {
            parameters: 466_906,
            best_epoch: 4,
            val_confusion: matrix(&[(2, 4, 2), (6, 4, 1)]),
            test: None,
        }),
        val_predictions: Some(predictions(&VAL_GROUPS, 2)),
        test_predictions: Some(predictions(&TEST_GROUPS, 2)),
    };
    [a, b, c]
        .into_iter()
        .map(|spec| write_run(root, spec))
        .collect()
}

fn report_of(runs: &[PathBuf], out: &Path) -> (Report, String) {
    let report = write_report(runs, out, "Designed study").unwrap();
    // FER_KEEP_REPORT=DIR keeps a copy of the report, to look at the figures.
    if let Ok(keep) = std::env::var("FER_KEEP_REPORT") {
        let _ = std::fs::create_dir_all(&keep);
        for entry in std::fs::read_dir(out).unwrap().flatten() {
            let _ = std::fs::copy(entry.path(), Path::new(&keep).join(entry.file_name()));
        }
    }
    let text = std::fs::read_to_string(&report.markdown).unwrap();
    (report, text)
}

#[test]
fn the_table_holds_each_runs_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let runs = designed_study(&dir.path().join("runs"));
    let (report, text) = report_of(&runs, &dir.path().join("report"));
    assert_eq!(report.markdown, dir.path().join("report/report.md"));
    let labels: Vec<&str> = report.table.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["resnet8", "resnet20", "resnet32"]);
    let b = &report.table[1];
    assert_eq!(b.parameters, Some(272_474));
    // The hand count of src/model/macs.rs, at the run's 32 px crop.
    assert_eq!(b.macs_per_image, Some(40_518_080));
    assert_eq!((b.epochs, b.best_epoch), (5, 5));
    assert_eq!(b.val_accuracy, 0.70);
    assert_eq!(b.test_accuracy, Some(0.68));
    assert_eq!(report.table[0].test_accuracy, None);
    let gaps: Vec<f64> = report.table.iter().map(|r| r.gap_pp.unwrap()).collect();
    for (gap, expected) in gaps.iter().zip([20.0, 10.0, 5.0]) {
        assert!((gap - expected).abs() < 1e-9, "{gaps:?}");
    }
    // Test macro-F1 of B's test matrix by hand: F1 1, 1, 4/9, 0.8, 4/9, 0.8, 1 -> 78.41%.
    assert!(
        text.contains(
            "| resnet20 | resnet20 | 272,474 | 40.5M @32px | 5 | 5 | 70.00% | 68.00% | 60.00% \
             | 78.41% | 2m 30s | 1020 | +10.00 |"
        ),
        "{text}"
    );
    assert!(
        text.contains("| resnet8 | resnet8 | 78,000 |") && text.contains("| 55.00% | \u{2014} |"),
        "{text}"
    );
    assert!(
        text.contains("| +20.00 |") && text.contains("| +5.00 |"),
        "{text}"
    );
}

#[test]
fn the_analysis_is_computed_from_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let runs = designed_study(&dir.path().join("runs"));
    let (report, text) = report_of(&runs, &dir.path().join("report"));
    let ranking: Vec<&str> = report
        .analysis
        .ranking
        .iter()
        .map(|r| r.label.as_str())
        .collect();
    assert_eq!(ranking, ["resnet20", "resnet32", "resnet8"]);
    assert!(
        text.contains("1. resnet20: 70.00% (5.00 pp ahead of resnet32)"),
        "{text}"
    );
    assert!(
        text.contains("2. resnet32: 65.00% (10.00 pp ahead of resnet8)"),
        "{text}"
    );
    assert!(text.contains("3. resnet8: 55.00%\n"), "{text}");

    // Not every run has a test matrix, so the validation matrices are summed:
    // Fear taken for Sad 3 + 2 + 2 = 7 times, of 5 + 4 + 4 Fear faces.
    let confusion = report.analysis.confusion.as_ref().unwrap();
    assert_eq!(
        (confusion.split, confusion.runs),
        (ConfusionSplit::BestValidation, 3)
    );
    let top = &confusion.pairs[0];
    assert_eq!((top.true_class, top.predicted_class, top.count), (2, 4, 7));
    assert!(
        text.contains("- Fear taken for Sad: 7 images, 53.8% of the true Fear"),
        "{text}"
    );
    assert!(text.contains("- Angry taken for Neutral: 2 images, 25.0% of the true Angry"));

    let onsets: Vec<Option<usize>> = report
        .analysis
        .overfitting
        .iter()
        .map(|f| f.onset.as_ref().map(|o| o.epoch))
        .collect();
    assert_eq!(onsets, [Some(3), None, None]);
    assert!(
        text.contains(
            "- resnet8 overfits from epoch 3: validation loss rose from 1.0000 to 1.3000 (+30.0%) \
             while training loss fell from 1.1000 to 0.5000"
        ),
        "{text}"
    );
    assert!(text.contains("- resnet32 does not overfit by this rule"));
    assert!(text.contains("more than 10% above that minimum"));

    // Depth ranks (1, 2, 3) against accuracy ranks (1, 3, 2): rho = 0.5.
    let DepthFinding::Found {
        spearman,
        runs,
        unequal_epochs,
    } = &report.analysis.depth
    else {
        panic!("{:?}", report.analysis.depth);
    };
    assert!((spearman - 0.5).abs() < 1e-12);
    assert_eq!(runs.len(), 3);
    assert_eq!(unequal_epochs.as_deref(), Some(&[6, 5, 5][..]));
    assert!(
        text.contains(
            "did not train for the same number of epochs (resnet8 6, resnet20 5, resnet32 5)"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "By depth: resnet8 (depth 8) 55.00%, resnet20 (depth 20) 70.00%, resnet32 (depth 32) \
             65.00%. Spearman rank correlation of depth and validation accuracy over 3 ResNet \
             runs: \u{3c1} = +0.50: no consistent relation"
        ),
        "{text}"
    );
}

#[test]
fn the_best_ensemble_is_the_hand_computed_pair() {
    let dir = tempfile::tempdir().unwrap();
    let runs = designed_study(&dir.path().join("runs"));
    let (report, text) = report_of(&runs, &dir.path().join("report"));
    let EnsembleOutcome::Chosen(choice) = &report.ensemble else {
        panic!("{:?}", report.ensemble);
    };
    // Alone A, B, C get 11, 14, 13 of 20; A+B 14, A+C 13, B+C 16 and all three 16:
    // the tie goes to the pair.
    assert_eq!(choice.members, ["resnet20", "resnet32"]);
    assert_eq!(choice.val_accuracy, 0.80);
    assert_eq!(choice.best_single, ("resnet20".to_string(), 0.70));
    assert_eq!(choice.subsets_tried, 4);
    // B and C both have test predictions: 3 of 4 right.
    assert_eq!(choice.test_accuracy, Some(0.75));
    assert!(text.contains("Members: **resnet20 + resnet32**"), "{text}");
    assert!(text.contains(
        "- Validation accuracy 80.00% (+10.00 pp against the best single run, resnet20 at 70.00%)"
    ));
    assert!(!text.contains("No ensemble of these runs beat"));
    assert!(text.contains("the test accuracy is the unbiased estimate"));
    assert!(text.contains("- Test accuracy 75.00%"));
    assert!(text.contains("Selected on the validation split"));
}

#[test]
fn every_figure_decodes_at_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let runs = designed_study(&dir.path().join("runs"));
    let (report, text) = report_of(&runs, &dir.path().join("report"));
    let names: Vec<&str> = report
        .figures
        .iter()
        .map(|f| f.file_name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "curves.png",
            "lr.png",
            "recall.png",
            "confusion-resnet8.png",
            "confusion-resnet20.png",
            "confusion-resnet32.png"
        ]
    );
    for figure in &report.figures {
        let image = image::open(&figure.path).unwrap();
        let expected = match figure.file_name.as_str() {
            "curves.png" => CURVES_SIZE,
            "lr.png" => LR_SIZE,
            "recall.png" => RECALL_SIZE,
            _ => CONFUSION_SIZE,
        };
        assert_eq!(
            (image.width(), image.height()),
            expected,
            "{}",
            figure.file_name
        );
        // Something was drawn: not a blank canvas.
        let rgb = image.to_rgb8();
        assert!(
            rgb.pixels().any(|p| p.0 != [255, 255, 255]),
            "{}",
            figure.file_name
        );
        assert!(text.contains(&format!("]({})", figure.file_name)), "{text}");
    }
    // resnet20 has a test matrix; the others fall back to validation, and say so.
    let captions: Vec<&str> = report.figures[3..]
        .iter()
        .map(|f| f.caption.as_str())
        .collect();
    assert!(
        captions[1].starts_with("resnet20: test split"),
        "{captions:?}"
    );
    assert!(captions[0].starts_with("resnet8: validation split at the best epoch (4)"));
}

#[test]
fn twins_get_distinct_labels_and_a_crashed_run_is_reported_from_its_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("runs");
    let mut mixup = config("resnet20", 40);
    mixup.loss.mixup_alpha = 0.2;
    let finished = RunSpec {
        id: "20260101-000000-resnet20",
        config: config("resnet20", 40),
        epochs: vec![(1.5, 0.4, 1.4, 0.40), (1.2, 0.5, 1.2, 0.50)],
        summary: Some(SummarySpec {
            parameters: 272_474,
            best_epoch: 2,
            val_confusion: matrix(&[]),
            test: None,
        }),
        val_predictions: None,
        test_predictions: None,
    };
    let crashed = RunSpec {
        id: "20260101-010000-resnet20",
        config: mixup,
        epochs: vec![(1.5, 0.4, 1.3, 0.45), (1.3, 0.5, 1.25, 0.44)],
        summary: None,
        val_predictions: None,
        test_predictions: None,
    };
    let empty = RunSpec {
        id: "20260101-020000-vgg11",
        config: config("vgg11", 40),
        epochs: Vec::new(),
        summary: None,
        val_predictions: None,
        test_predictions: None,
    };
    let runs: Vec<PathBuf> = [finished, crashed, empty]
        .into_iter()
        .map(|spec| write_run(&root, spec))
        .collect();
    let (report, text) = report_of(&runs, &dir.path().join("out"));
    let labels: Vec<&str> = report.table.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["resnet20 (mixup 0)", "resnet20 (mixup 0.2)"]);
    let crashed = &report.table[1];
    assert!(!crashed.finished);
    // Best epoch from metrics.csv; parameters from the RunStarted event.
    assert_eq!((crashed.best_epoch, crashed.val_accuracy), (1, 0.45));
    assert_eq!(crashed.parameters, Some(1234));
    assert!(
        text.contains("| resnet20 (mixup 0.2) (unfinished) |"),
        "{text}"
    );
    assert!(report
        .warnings
        .iter()
        .any(|w| w.contains("vgg11") && w.contains("skipped")));
    assert!(text.contains("no summary.json"));
    assert!(text.contains("No ensemble: fewer than two runs have validation predictions"));
    assert!(
        text.contains("Not enough runs to say: 2 ResNet runs")
            || text.contains("Not enough runs to say")
    );
}

#[test]
fn the_cli_writes_the_report_and_rejects_a_path_that_is_not_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let runs = designed_study(&dir.path().join("runs"));
    let out = dir.path().join("out");
    let mut args = vec!["report".to_string()];
    args.extend(runs.iter().map(|p| p.display().to_string()));
    args.extend(["-o".to_string(), out.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = fer(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains(&format!("wrote {}", out.join("report.md").display())),
        "{}",
        stdout(&output)
    );
    assert!(out.join("report.md").is_file() && out.join("curves.png").is_file());

    let not_a_run = dir.path().join("runs");
    let output = fer(&[
        "report",
        not_a_run.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(message.contains("is not a run directory"), "{message}");
}
