use std::path::Path;

use super::*;
use crate::metrics::ConfusionMatrix;
use crate::run::control::PID_FILE;
use crate::run::schedule::ScheduleName;
use crate::run::{EpochMetrics, EventLog, QueueEntries, RunQueue};

fn started(model: &str, epochs: usize) -> Event {
    Event::RunStarted {
        run_id: "x".into(),
        run_dir: "x".into(),
        model: model.into(),
        parameters: 1,
        device: "cpu".into(),
        data_source: "sample".into(),
        train_images: 10,
        val_images: 10,
        test_images: 10,
        val_class_counts: vec![1; 7],
        epochs,
        steps_per_epoch: 3,
        batch_size: 4,
        start_epoch: 1,
        schedule: ScheduleName::Constant,
        notes: Vec::new(),
    }
}

fn epoch(epoch: usize, val_accuracy: f64) -> Event {
    Event::EpochFinished(EpochMetrics {
        epoch,
        lr: 0.1,
        train_loss: 2.0 - 0.1 * epoch as f64,
        train_accuracy: 0.3,
        val_loss: 1.9,
        val_accuracy,
        val_macro_f1: 0.2,
        val_recall: vec![0.5; 7],
        val_confusion: ConfusionMatrix::new(7),
        seconds: 10.0,
        images_per_second: 250.0,
    })
}

fn finished(stopped: bool) -> Event {
    Event::RunFinished {
        best_epoch: 2,
        best_val_accuracy: 0.4,
        test_accuracy: Some(0.38),
        stopped,
        seconds: 21.5,
    }
}

/// A run directory named `<stamp>-<model>` holding `events`.
fn write_run(root: &Path, name: &str, events: &[Event]) -> std::path::PathBuf {
    let path = root.join(name);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join(CONFIG_FILE), "()").unwrap();
    let run = RunDir::open(&path).unwrap();
    let mut log = EventLog::open(&run).unwrap();
    for event in events {
        log.append(event).unwrap();
    }
    path
}

/// Makes the run look trained by this (live) process.
fn make_live(path: &Path) {
    std::fs::write(path.join(PID_FILE), format!("{}\n", std::process::id())).unwrap();
}

fn state_of(listing: &Listing, id: &str) -> RunState {
    listing
        .runs
        .iter()
        .find(|run| run.id == id)
        .unwrap_or_else(|| panic!("{id} not in {listing:?}"))
        .state
}

#[test]
fn each_way_a_run_can_be_is_told_apart() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    write_run(
        dir,
        "20260101-000001-resnet8",
        &[
            started("resnet8", 2),
            epoch(1, 0.3),
            epoch(2, 0.4),
            finished(false),
        ],
    );
    write_run(
        dir,
        "20260101-000002-resnet20",
        &[started("resnet20", 5), epoch(1, 0.3), finished(true)],
    );
    write_run(
        dir,
        "20260101-000003-vgg11",
        &[started("vgg11", 5), epoch(1, 0.25)],
    );
    let paused = write_run(
        dir,
        "20260101-000004-resnet8",
        &[
            started("resnet8", 5),
            epoch(1, 0.2),
            Event::Paused { epoch: 2, step: 1 },
        ],
    );
    make_live(&paused);
    let running = write_run(
        dir,
        "20260101-000005-resnet8",
        &[
            started("resnet8", 5),
            Event::Paused { epoch: 1, step: 1 },
            Event::Resumed,
        ],
    );
    make_live(&running);
    write_run(
        dir,
        "20260101-000006-resnet8",
        &[
            started("resnet8", 5),
            epoch(1, 0.2),
            Event::Diverged {
                epoch: 2,
                step: 3,
                message: "the training loss was NaN".into(),
            },
            Event::RunFailed {
                error: "diverged".into(),
            },
        ],
    );
    write_run(
        dir,
        "20260101-000007-resnet8",
        &[
            started("resnet8", 5),
            Event::RunFailed {
                error: "disk full".into(),
            },
        ],
    );
    // A stopped run resumed and now crashed: its earlier finish no longer counts.
    write_run(
        dir,
        "20260101-000008-resnet8",
        &[started("resnet8", 5), finished(true), started("resnet8", 5)],
    );
    std::fs::create_dir(dir.join("study-report")).unwrap();
    let queue = RunQueue::in_dir(dir);
    queue
        .update(|entries: &mut QueueEntries| {
            let overrides = crate::run::overrides::ConfigOverrides {
                model: Some("resnet32".into()),
                ..Default::default()
            };
            entries.push(None, overrides, None);
            Ok::<_, RunError>(())
        })
        .unwrap();

    let listing = scan(dir).unwrap();
    assert_eq!(listing.runs.len(), 9, "{listing:?}");
    let expected = [
        ("20260101-000001-resnet8", RunState::Finished),
        ("20260101-000002-resnet20", RunState::Stopped),
        ("20260101-000003-vgg11", RunState::Crashed),
        ("20260101-000004-resnet8", RunState::Paused),
        ("20260101-000005-resnet8", RunState::Running),
        ("20260101-000006-resnet8", RunState::Diverged),
        ("20260101-000007-resnet8", RunState::Failed),
        ("20260101-000008-resnet8", RunState::Crashed),
        ("queued #1", RunState::Queued),
    ];
    for (id, state) in expected {
        assert_eq!(state_of(&listing, id), state, "{id}");
    }
    let done = &listing.runs[0];
    assert_eq!(
        (done.model.as_str(), done.epoch, done.epochs),
        ("resnet8", 2, 2)
    );
    assert_eq!(done.best_val_accuracy, Some(0.4));
    assert_eq!(done.test_accuracy, Some(0.38));
    assert_eq!(done.elapsed_seconds, Some(21.5));
    assert_eq!(done.images_per_second, Some(250.0));
    assert_eq!(done.val_accuracies(), vec![0.3, 0.4]);
    let queued = listing.runs.last().unwrap();
    assert_eq!(
        (queued.model.as_str(), queued.path.is_none()),
        ("resnet32", true)
    );
    assert!(listing.runs[5]
        .note
        .as_deref()
        .is_some_and(|note| note.contains("NaN")));
}

#[test]
fn a_corrupt_line_or_a_broken_run_does_not_break_the_list() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    let corrupt = write_run(dir, "20260101-000001-resnet8", &[started("resnet8", 3)]);
    let events = corrupt.join(EVENTS_FILE);
    let mut bytes = std::fs::read(&events).unwrap();
    bytes.extend_from_slice(b"{\"event\":\"epoch_fin\xff\xfe garbage\n");
    std::fs::write(&events, bytes).unwrap();
    let mut log = EventLog::open(&RunDir::open(&corrupt).unwrap()).unwrap();
    log.append(&epoch(1, 0.3)).unwrap();
    log.append(&finished(false)).unwrap();
    // events.jsonl is a directory: unreadable as a file.
    let broken = dir.join("20260101-000002-resnet8");
    std::fs::create_dir_all(broken.join(EVENTS_FILE)).unwrap();
    std::fs::write(broken.join(CONFIG_FILE), "()").unwrap();
    std::fs::write(dir.join(crate::run::QUEUE_FILE), "not ron at all (").unwrap();

    let listing = scan(dir).unwrap();
    assert_eq!(listing.runs.len(), 2, "{listing:?}");
    let first = &listing.runs[0];
    assert_eq!(first.state, RunState::Finished);
    assert_eq!(first.val_accuracies(), vec![0.3]);
    assert!(first
        .note
        .as_deref()
        .unwrap_or("")
        .contains("1 unreadable line"));
    assert_eq!(listing.runs[1].state, RunState::Unreadable);
    assert_eq!(listing.runs[1].model, "resnet8");
    assert_eq!(listing.notes.len(), 1, "{:?}", listing.notes);
}

#[test]
fn a_run_without_events_is_read_from_metrics_csv() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("20260101-000001-resnet20-2");
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join(CONFIG_FILE), "()").unwrap();
    let run = RunDir::open(&path).unwrap();
    let history: Vec<EpochMetrics> = [0.2, 0.35]
        .iter()
        .enumerate()
        .map(|(index, &acc)| match epoch(index + 1, acc) {
            Event::EpochFinished(metrics) => metrics,
            _ => unreachable!(),
        })
        .collect();
    run.write_metrics(&history).unwrap();
    let row = overview(&path);
    assert_eq!(row.state, RunState::Crashed);
    assert_eq!(row.model, "resnet20");
    assert_eq!(row.val_accuracies(), vec![0.2, 0.35]);
    assert_eq!((row.epoch, row.best_val_accuracy), (2, Some(0.35)));
}

#[test]
fn a_missing_runs_dir_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    assert!(scan(&root.path().join("nope")).is_err());
    assert!(scan(root.path()).unwrap().runs.is_empty());
}
