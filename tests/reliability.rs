//! What a run survives: a loss that stops being finite, and a disk that refuses
//! writes (injected through the run directory's storage), each file kind in turn;
//! and resuming after both.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{fast_config, new_run, tiny_dataset, train, train_with, FlakyDisk};
use fer::run::{CheckpointKind, Event, PredictedSplit, RunDir};
use fer::train::checkpoint::CheckpointFile;
use fer::train::summary::RunSummary;
use fer::train::{TrainConfig, TrainError};

const FULL: &str = "No space left on device (os error 28)";

fn last_checkpoint(run: &RunDir) -> CheckpointFile {
    CheckpointFile::load(&run.checkpoint_path(CheckpointKind::Last)).expect("last checkpoint")
}

fn write_failures(events: &[Event]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::WriteFailed { file, error } => Some((file.clone(), error.clone())),
            _ => None,
        })
        .collect()
}

fn recoveries(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::WriteRecovered { file } => Some(file.clone()),
            _ => None,
        })
        .collect()
}

fn no_temporary_files(run: &RunDir) {
    for dir in [run.path().to_path_buf(), run.checkpoint_dir()] {
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name();
            assert!(
                !name.to_string_lossy().ends_with(".tmp"),
                "{name:?} left behind"
            );
        }
    }
}

/// Trains `config` on the tiny data set with `disk` as the run's storage.
fn train_on(
    run: &RunDir,
    config: TrainConfig,
    disk: std::sync::Arc<FlakyDisk>,
    resume: Option<CheckpointFile>,
) -> (Result<fer::train::Outcome, TrainError>, Vec<Event>) {
    let run = run.clone().with_storage(disk);
    let adjust = |setup: &mut fer::train::EngineSetup| {
        setup.resume = resume;
        setup.final_write_retry = Duration::from_millis(300);
    };
    train_with(&run, config, tiny_dataset(96, 64), adjust, &[], |_, _| {})
}

#[test]
fn a_diverging_run_stops_keeps_every_finite_epoch_and_resumes_with_a_lower_lr() {
    let root = tempfile::tempdir().unwrap();
    let config = fast_config(1);
    let run = new_run(root.path(), &config);
    let (first, _) = train(&run, config.clone(), tiny_dataset(96, 64), None, &[]);
    first.expect("a sane first epoch");
    let best_before = std::fs::read(run.checkpoint_path(CheckpointKind::Best)).unwrap();

    let wild = TrainConfig {
        epochs: 3,
        lr: 1e30,
        ..config.clone()
    };
    let (result, events) = train(
        &run,
        wild,
        tiny_dataset(96, 64),
        Some(last_checkpoint(&run)),
        &[],
    );
    let Err(TrainError::Diverged(message)) = result else {
        panic!("a divergence, not {result:?}");
    };
    let resume = format!(
        ". Nothing non-finite was saved; the last checkpoint is checkpoints/last.ckpt (end of epoch 1): continue from it with a lower LR, e.g. `fer train --resume {} --lr 1e29`",
        run.path().display()
    );
    assert!(
        message.starts_with("the run diverged: the ")
            && message.contains(" at epoch 2, step ")
            && message.contains(" of 3 (lr ")
            && message.ends_with(&resume),
        "{message}"
    );
    let diverged = events
        .iter()
        .filter(|e| matches!(e, Event::Diverged { .. }));
    assert_eq!(diverged.count(), 1);
    assert_eq!(
        events.last(),
        Some(&Event::RunFailed { error: message }),
        "the run ends failed, with the same account"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::EpochFinished(_) | Event::NewBest { .. })),
        "no non-finite epoch is reported as finished, or as best"
    );

    // Nothing non-finite reached the disk: the epoch-1 files are as they were.
    let kept = last_checkpoint(&run);
    assert_eq!(
        (kept.state.completed_epochs, kept.state.non_finite()),
        (1, None)
    );
    assert_eq!(
        std::fs::read(run.checkpoint_path(CheckpointKind::Best)).unwrap(),
        best_before
    );
    let metrics = std::fs::read_to_string(run.metrics_path()).unwrap();
    assert_eq!(
        metrics.lines().count(),
        2,
        "header and the one finite epoch"
    );
    assert!(!metrics.to_lowercase().contains("nan") && !metrics.contains("inf"));
    let summary = RunSummary::load(&run)
        .unwrap()
        .expect("the first run's summary");
    assert_eq!(
        summary.epochs_completed, 1,
        "not rewritten by the diverged run"
    );
    assert!(
        run.read_events().unwrap().ends_with(&events),
        "the log says what happened"
    );

    // `--resume --lr 0.01`: the same checkpoint, the schedule scaled to the new LR.
    let rescue = TrainConfig {
        epochs: 3,
        lr: 0.01,
        ..config
    };
    let (result, events) = train(
        &run,
        rescue,
        tiny_dataset(96, 64),
        Some(last_checkpoint(&run)),
        &[],
    );
    let outcome = result.expect("the rescued run finishes");
    assert_eq!(outcome.summary.epochs_completed, 3);
    let lrs: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            Event::EpochFinished(m) => Some(m.lr),
            _ => None,
        })
        .collect();
    assert_eq!(lrs.len(), 2, "epochs 2 and 3: {lrs:?}");
    assert!(lrs.iter().all(|lr| *lr > 0.0 && *lr <= 0.01), "{lrs:?}");
    let state = last_checkpoint(&run).state;
    assert_eq!((state.config.lr, state.schedule.base_lr()), (0.01, 0.01));
    assert!(state.history.iter().all(|m| m.is_finite()));
}

#[test]
fn divergence_before_any_checkpoint_says_to_start_again() {
    let root = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        lr: 1e30,
        ..fast_config(2)
    };
    let run = new_run(root.path(), &config);
    let (result, _) = train(&run, config, tiny_dataset(96, 64), None, &[]);
    let Err(TrainError::Diverged(message)) = result else {
        panic!("a divergence, not {result:?}");
    };
    assert!(
        message.contains(" at epoch 1, step ")
            && message.ends_with(
                ". No checkpoint had been saved yet: start again with a lower --lr than 1e30"
            ),
        "{message}"
    );
    assert!(!run.checkpoint_path(CheckpointKind::Last).exists());
    assert!(!run.checkpoint_path(CheckpointKind::Best).exists());
}

#[test]
fn every_file_kind_survives_a_refused_write_and_is_written_later_in_full() {
    for (name, file) in [
        ("last.ckpt", "checkpoints/last.ckpt"),
        ("best.ckpt", "checkpoints/best.ckpt"),
        ("metrics.csv", "metrics.csv"),
        ("events.jsonl", "events.jsonl"),
        ("val.csv", "predictions/val.csv"),
        ("test.csv", "predictions/test.csv"),
        ("summary.json", "summary.json"),
    ] {
        let root = tempfile::tempdir().unwrap();
        let config = fast_config(2);
        let run = new_run(root.path(), &config);
        let disk = FlakyDisk::new();
        // The first write of the file fails (events.jsonl: its first three lines).
        disk.fail(name, 0, if name == "events.jsonl" { 3 } else { 1 });
        let (result, events) = train_on(&run, config, disk, None);
        let outcome = result.unwrap_or_else(|e| panic!("{name}: the run ends well: {e}"));
        assert_eq!(outcome.summary.epochs_completed, 2, "{name}");
        assert_eq!(
            write_failures(&events),
            vec![(file.to_string(), FULL.to_string())],
            "{name}: one report of the failure"
        );
        assert_eq!(recoveries(&events), vec![file.to_string()], "{name}");

        // Everything is there in the end, complete and in order.
        assert_eq!(run.read_events().unwrap(), events, "{name}: events.jsonl");
        let checkpoint = last_checkpoint(&run);
        assert_eq!(checkpoint.state.completed_epochs, 2, "{name}");
        assert!(
            run.checkpoint_path(CheckpointKind::Best).is_file(),
            "{name}"
        );
        let metrics = std::fs::read_to_string(run.metrics_path()).unwrap();
        assert_eq!(metrics.lines().count(), 3, "{name}: both epochs' rows");
        for split in [PredictedSplit::Val, PredictedSplit::Test] {
            assert!(run.read_predictions(split).unwrap().is_some(), "{name}");
        }
        let summary = RunSummary::load(&run).unwrap().expect("summary.json");
        assert_eq!(summary, outcome.summary, "{name}");
        no_temporary_files(&run);
    }
}

#[test]
fn a_checkpoint_the_disk_never_takes_ends_the_run_non_zero_saying_what_is_lost() {
    let root = tempfile::tempdir().unwrap();
    let config = fast_config(2);
    let run = new_run(root.path(), &config);
    let disk = FlakyDisk::new();
    disk.fail("last.ckpt", 1, usize::MAX);
    let (result, events) = train_on(&run, config.clone(), disk, None);
    let Err(TrainError::Unsaved(message)) = result else {
        panic!("a run that lost its checkpoint fails, not {result:?}");
    };
    assert_eq!(
        message,
        format!("not saved: checkpoints/last.ckpt (epoch 2): {FULL}")
    );
    assert_eq!(events.last(), Some(&Event::RunFailed { error: message }));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Warning { message } if message == &format!("waiting up to 0.3 s for the disk to take checkpoints/last.ckpt (epoch 2): {FULL}")
    )));
    // The previous checkpoint is kept, whole, and the run resumes from it.
    assert_eq!(last_checkpoint(&run).state.completed_epochs, 1);
    no_temporary_files(&run);
    assert!(run.summary_path().is_file(), "the other files were written");
    let (result, _) = train(
        &run,
        config,
        tiny_dataset(96, 64),
        Some(last_checkpoint(&run)),
        &[],
    );
    assert_eq!(result.expect("resumes").summary.epochs_completed, 2);
}

#[test]
fn a_checkpoint_from_before_nan_was_spelt_loads_or_says_why_not() {
    let root = tempfile::tempdir().unwrap();
    let config = fast_config(1);
    let run = new_run(root.path(), &config);
    train(&run, config, tiny_dataset(96, 64), None, &[])
        .0
        .expect("trains");
    let checkpoint = last_checkpoint(&run);
    let v1 = |json: &str| {
        let mut bytes = b"FERCKPT1".to_vec();
        for part in [json.as_bytes(), &checkpoint.model, &checkpoint.optimizer] {
            bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
            bytes.extend_from_slice(part);
        }
        bytes
    };
    let json = serde_json::to_string(&checkpoint.state).unwrap();
    let origin = Path::new("old.ckpt");
    let old = CheckpointFile::decode(&v1(&json), origin).expect("a JSON header still loads");
    assert_eq!(old.state.completed_epochs, 1);

    // What fer wrote for a diverged run before this: NaN as null.
    let field = "\"train_loss\":";
    let at = json.find(field).unwrap() + field.len();
    let end = at + json[at..].find(',').unwrap();
    let diverged = format!("{}null{}", &json[..at], &json[end..]);
    let error = CheckpointFile::decode(&v1(&diverged), origin)
        .err()
        .expect("refused")
        .to_string();
    assert_eq!(
        error,
        "checkpoint: old.ckpt: epoch 1's metrics is not finite: the run had diverged when this was saved (by a fer that did not check), so there is nothing finite to resume from in it"
    );
}

#[test]
fn the_command_line_says_a_divergence_once_exits_1_and_resumes_with_a_lower_lr() {
    use common::process::{fer, stderr, stdout, train_small_run};
    let dir = tempfile::tempdir().unwrap();
    let run = train_small_run(dir.path(), 96);
    let runs = dir.path().join("runs");
    let runs_dir = ["--runs-dir", runs.to_str().unwrap(), "--headless"];
    let run_text = run.to_str().unwrap();

    let wild = [
        "train", "--resume", run_text, "--epochs", "3", "--lr", "1e30",
    ];
    let output = fer(&[&wild[..], &runs_dir[..]].concat());
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let (out, err) = (stdout(&output), stderr(&output));
    assert_eq!(
        format!("{out}{err}").matches("the run diverged").count(),
        1,
        "said once:\n{out}\n{err}"
    );
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: the run diverged: the ")
            && last.ends_with(&format!("`fer train --resume {run_text} --lr 1e29`")),
        "{err}"
    );

    let rescue = [
        "train", "--resume", run_text, "--epochs", "2", "--lr", "0.01",
    ];
    let output = fer(&[&rescue[..], &runs_dir[..]].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("resuming at epoch 2"));
}

#[test]
fn a_torn_last_event_line_does_not_swallow_the_next_event() {
    let root = tempfile::tempdir().unwrap();
    let run = new_run(root.path(), &fast_config(1));
    std::fs::write(
        run.events_path(),
        "{\"event\":\"resumed\"}\n{\"event\":\"war",
    )
    .unwrap();
    let mut log = fer::run::EventLog::open(&run).unwrap();
    log.append(&Event::Resumed).unwrap();
    assert_eq!(
        run.read_events().unwrap(),
        vec![Event::Resumed, Event::Resumed]
    );
}

#[test]
fn a_checkpoint_command_retries_a_refused_checkpoint_at_once() {
    let root = tempfile::tempdir().unwrap();
    let config = fast_config(2);
    let run = new_run(root.path(), &config);
    let disk = FlakyDisk::new();
    disk.fail("last.ckpt", 0, 1);
    let storage_run = run.clone().with_storage(disk);
    let adjust = |setup: &mut fer::train::EngineSetup| {
        setup.final_write_retry = Duration::from_millis(300);
    };
    let mut asked = false;
    // Ten steps an epoch leave time for the command to arrive within epoch 2.
    let (result, events) = train_with(
        &storage_run,
        config,
        tiny_dataset(320, 64),
        adjust,
        &[],
        |event, commands| {
            if !asked && matches!(event, Event::WriteFailed { .. }) {
                asked = true;
                commands.send(fer::run::Command::CheckpointNow).unwrap();
            }
        },
    );
    result.expect("the run ends well");
    let position = |wanted: &dyn Fn(&Event) -> bool| events.iter().position(wanted);
    let recovered = position(&|e| matches!(e, Event::WriteRecovered { .. })).expect("recovered");
    let second_epoch =
        position(&|e| matches!(e, Event::EpochFinished(m) if m.epoch == 2)).expect("epoch 2");
    assert!(
        recovered < second_epoch,
        "written on the command, not at the epoch end"
    );
    let saved: Vec<(usize, usize)> = events
        .iter()
        .filter_map(|e| match e {
            Event::CheckpointSaved {
                kind: CheckpointKind::Last,
                epoch,
                step,
                ..
            } => Some((*epoch, *step)),
            _ => None,
        })
        .collect();
    assert_eq!(
        saved.len(),
        3,
        "the held epoch-1 checkpoint, the command's, epoch 2's: {saved:?}"
    );
    assert_eq!(saved[0], (1, 0));
    assert_eq!(saved[1].0, 1, "within epoch 2: {saved:?}");
    assert_eq!(saved[2], (2, 0));
}
