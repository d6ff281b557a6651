//! The engine on real faces from the bundled sample: run directory contents,
//! checkpoints, resume equivalence and commands.

mod common;

use common::{fast_config, new_run, tiny_dataset, train};
use fer::run::{CheckpointKind, Command, Event, PredictedSplit, RunDir, RunQueue};
use fer::train::checkpoint::CheckpointFile;
use fer::train::schedule::ScheduleName;
use fer::train::{TrainConfig, Tta};

/// How many of `predictions/val.csv`'s rows predict their label.
fn correct_predictions(run: &RunDir) -> usize {
    let val = run.read_predictions(PredictedSplit::Val).unwrap().unwrap();
    val.probabilities
        .iter()
        .zip(&val.labels)
        .filter(|(row, &label)| fer::train::evaluate::argmax(&row[..]) == usize::from(label))
        .count()
}

fn last_checkpoint(run: &RunDir) -> CheckpointFile {
    CheckpointFile::load(&run.checkpoint_path(CheckpointKind::Last)).expect("last checkpoint")
}

#[test]
fn a_run_writes_every_file_of_the_run_directory() {
    let root = tempfile::tempdir().unwrap();
    let config = fast_config(2);
    let run = new_run(root.path(), &config);
    let (result, events) = train(&run, config.clone(), tiny_dataset(96, 64), None, &[]);
    let outcome = result.expect("training succeeds");
    assert!(!outcome.stopped);
    assert_eq!(outcome.summary.epochs_completed, 2);

    let text = std::fs::read_to_string(run.config_path()).unwrap();
    let reread: TrainConfig = ron::from_str(&text).unwrap();
    assert_eq!(reread, config);

    let logged = run.read_events().unwrap();
    assert_eq!(
        logged, events,
        "events.jsonl holds exactly the events sent to the viewer"
    );
    assert!(matches!(logged.first(), Some(Event::RunStarted { .. })));
    assert!(matches!(
        logged.last(),
        Some(Event::RunFinished { stopped: false, .. })
    ));
    assert_eq!(
        logged
            .iter()
            .filter(|e| matches!(e, Event::EpochFinished(_)))
            .count(),
        2
    );

    let metrics = std::fs::read_to_string(run.metrics_path()).unwrap();
    let lines: Vec<&str> = metrics.lines().collect();
    assert_eq!(lines.len(), 3, "header and one row per epoch");
    assert!(lines[0].starts_with("epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy"));
    assert!(lines[0].contains("val_recall_disgust"));
    assert!(lines[2].starts_with("2,"));

    assert!(run.checkpoint_path(CheckpointKind::Last).is_file());
    assert!(run.checkpoint_path(CheckpointKind::Best).is_file());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.summary_path()).unwrap()).unwrap();
    assert_eq!(summary["epochs_completed"], 2);
    assert!(
        summary["test_accuracy"].is_number(),
        "the test split is evaluated at the end"
    );

    let val = run.read_predictions(PredictedSplit::Val).unwrap().unwrap();
    let test = run.read_predictions(PredictedSplit::Test).unwrap().unwrap();
    assert_eq!((val.len(), test.len()), (64, 16), "one row per image");
    let best: fer::train::summary::RunSummary =
        serde_json::from_slice(&std::fs::read(run.summary_path()).unwrap()).unwrap();
    let confusion = best.best_val_confusion.unwrap();
    assert_eq!(
        correct_predictions(&run),
        (0..7).map(|c| confusion.count(c, c)).sum::<u64>() as usize,
        "val.csv is the best epoch's predictions"
    );
}

/// Validation after each epoch with the centre crop picks the checkpoint; the run's
/// reported validation figures are that checkpoint's with the final TTA.
#[test]
fn the_best_checkpoint_is_validated_again_with_the_reported_tta() {
    let root = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        tta: Tta::Flip,
        val_tta: Tta::None,
        ..fast_config(2)
    };
    let run = new_run(root.path(), &config);
    let (result, events) = train(&run, config.clone(), tiny_dataset(96, 64), None, &[]);
    let summary = result.expect("training succeeds").summary;
    let revalidated: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            Event::BestValidated {
                epoch,
                tta,
                accuracy,
                confusion,
                ..
            } => Some((*epoch, *tta, *accuracy, confusion.clone())),
            _ => None,
        })
        .collect();
    let [(epoch, tta, accuracy, confusion)] = revalidated.as_slice() else {
        panic!("one final validation: {revalidated:?}");
    };
    assert_eq!((*epoch, *tta), (summary.best_epoch, Tta::Flip));
    assert_eq!(summary.best_val_accuracy, *accuracy);
    assert_eq!(summary.best_val_confusion.as_ref(), Some(confusion));
    assert_eq!(confusion.total(), 64, "every validation image, once");
    let finished = events.iter().find_map(|event| match event {
        Event::RunFinished {
            best_val_accuracy, ..
        } => Some(*best_val_accuracy),
        _ => None,
    });
    assert_eq!(finished, Some(*accuracy));
    assert_eq!(
        correct_predictions(&run) as f64 / 64.0,
        *accuracy,
        "val.csv holds the final evaluation's predictions"
    );

    let same = TrainConfig {
        val_tta: Tta::Flip,
        ..config
    };
    let run = new_run(root.path(), &same);
    let (result, events) = train(&run, same, tiny_dataset(96, 64), None, &[]);
    result.expect("training succeeds");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::BestValidated { .. })),
        "nothing to evaluate again when each epoch used the reported TTA"
    );
}

#[test]
fn checkpoints_round_trip_and_reject_damage() {
    let root = tempfile::tempdir().unwrap();
    let config = fast_config(1);
    let run = new_run(root.path(), &config);
    let (result, _) = train(&run, config, tiny_dataset(64, 32), None, &[]);
    result.unwrap();

    let path = run.checkpoint_path(CheckpointKind::Last);
    let checkpoint = last_checkpoint(&run);
    assert_eq!(checkpoint.state.completed_epochs, 1);
    assert_eq!(checkpoint.state.history.len(), 1);
    let bytes = checkpoint.encode().unwrap();
    assert_eq!(
        bytes,
        std::fs::read(&path).unwrap(),
        "decode then encode gives the same file"
    );

    let truncated = &bytes[..bytes.len() / 2];
    let error = CheckpointFile::decode(truncated, &path)
        .err()
        .expect("a truncated file fails");
    assert!(error.to_string().contains("truncated"), "{error}");
    let error = CheckpointFile::decode(b"not a checkpoint", &path)
        .err()
        .unwrap();
    assert!(
        error.to_string().contains("not a fer checkpoint"),
        "{error}"
    );
}

#[test]
fn resuming_gives_the_same_result_as_an_uninterrupted_run() {
    let root = tempfile::tempdir().unwrap();
    let data = tiny_dataset(96, 64);
    let config = fast_config(2);
    let straight = new_run(root.path(), &config);
    let (mut mid_epoch, mut epoch_end) = (None, None);
    let (result, _) = common::train_watching(
        &straight,
        config.clone(),
        data.clone(),
        None,
        &[],
        |event, commands| {
            match event {
                // Asked after step 1; it lands at whichever step boundary comes next.
                Event::Progress {
                    epoch: 1, step: 1, ..
                } => commands.send(Command::CheckpointNow).unwrap(),
                Event::CheckpointSaved {
                    kind: CheckpointKind::Last,
                    epoch,
                    step,
                    ..
                } => {
                    let copy = Some(last_checkpoint(&straight));
                    if *epoch == 0 && *step > 0 {
                        mid_epoch = copy;
                    } else if *epoch == 1 {
                        epoch_end = copy;
                    }
                }
                _ => {}
            }
        },
    );
    result.unwrap();
    let (mid_epoch, epoch_end) = (
        mid_epoch.expect("a mid-epoch checkpoint"),
        epoch_end.expect("epoch 1 checkpoint"),
    );
    assert!(mid_epoch.state.step_in_epoch > 0);
    let finished = last_checkpoint(&straight);
    let probe = common::head(&data.val, 32);
    let expected = common::probabilities(&finished, &probe);

    for snapshot in [mid_epoch, epoch_end] {
        let resumed = new_run(root.path(), &config);
        let start = snapshot.state.completed_epochs + 1;
        let (result, events) = train(&resumed, config.clone(), data.clone(), Some(snapshot), &[]);
        result.unwrap();
        assert!(events
            .iter()
            .any(|e| matches!(e, Event::RunStarted { start_epoch, .. } if *start_epoch == start)));
        let after = last_checkpoint(&resumed);
        assert_eq!(
            common::probabilities(&after, &probe),
            expected,
            "same weights as the uninterrupted run"
        );
        let (a, b) = (&finished.state.history[1], &after.state.history[1]);
        assert_eq!(a.val_confusion, b.val_confusion);
        assert_eq!(a.val_loss, b.val_loss);
        assert_eq!(a.lr, b.lr);
        assert!(
            (a.train_loss - b.train_loss).abs() < 1e-5,
            "{} vs {}",
            a.train_loss,
            b.train_loss
        );
    }
}

#[test]
fn stop_checkpoints_and_the_run_resumes_from_there() {
    let root = tempfile::tempdir().unwrap();
    let data = tiny_dataset(64, 32);
    let run = new_run(root.path(), &fast_config(1));
    let (result, events) = train(&run, fast_config(1), data.clone(), None, &[Command::Stop]);
    assert!(result.unwrap().stopped);
    let saved = events.iter().position(|e| {
        matches!(
            e,
            Event::CheckpointSaved {
                kind: CheckpointKind::Last,
                ..
            }
        )
    });
    let acknowledged = events.iter().position(|e| {
        matches!(
            e,
            Event::CommandApplied {
                command: Command::Stop
            }
        )
    });
    assert!(saved.is_some() && acknowledged.is_some());
    assert!(matches!(
        events.last(),
        Some(Event::RunFinished { stopped: true, .. })
    ));

    let (result, _) = train(&run, fast_config(1), data, Some(last_checkpoint(&run)), &[]);
    let outcome = result.unwrap();
    assert!(!outcome.stopped);
    assert_eq!(outcome.summary.epochs_completed, 1);
}

#[test]
fn commands_apply_between_steps_and_are_acknowledged() {
    let root = tempfile::tempdir().unwrap();
    let run = new_run(root.path(), &fast_config(1));
    let commands = [
        Command::Pause,
        Command::CheckpointNow,
        Command::SetSchedule {
            name: ScheduleName::Cosine,
            settings: None,
        },
        Command::Resume,
    ];
    let (result, events) = train(&run, fast_config(1), tiny_dataset(64, 32), None, &commands);
    result.unwrap();

    let position = |wanted: &dyn Fn(&Event) -> bool| events.iter().position(wanted);
    let paused = position(&|e| matches!(e, Event::Paused { .. })).expect("paused");
    let saved = position(&|e| matches!(e, Event::CheckpointSaved { step: 0, .. }))
        .expect("checkpoint at step 0");
    let checkpoint_ack = position(&|e| {
        matches!(
            e,
            Event::CommandApplied {
                command: Command::CheckpointNow
            }
        )
    })
    .unwrap();
    let plan = position(&|e| {
        matches!(
            e,
            Event::SchedulePlan {
                name: ScheduleName::Cosine,
                ..
            }
        )
    })
    .expect("a new plan for the cosine schedule");
    let resumed = position(&|e| matches!(e, Event::Resumed)).expect("resumed");
    assert!(paused < saved && saved < checkpoint_ack && checkpoint_ack < plan && plan < resumed);

    let checkpoint = last_checkpoint(&run);
    assert_eq!(checkpoint.state.schedule.name(), ScheduleName::Cosine);
    assert_eq!(checkpoint.state.config.schedule.name, ScheduleName::Cosine);
}

#[test]
fn queue_commands_edit_the_queue_file_and_are_announced() {
    let root = tempfile::tempdir().unwrap();
    let data = tiny_dataset(64, 32);
    let run = new_run(root.path(), &fast_config(1));
    let commands = [
        Command::QueueModel {
            model: "resnet8".into(),
        },
        Command::QueueModel {
            model: "resnet9000".into(),
        },
        Command::QueueModel {
            model: "VGG13".into(),
        },
        Command::RemoveQueued { index: 0 },
        Command::RemoveQueued { index: 5 },
    ];
    let (result, events) = train(&run, fast_config(1), data.clone(), None, &commands);
    result.unwrap();

    let queue = RunQueue::in_dir(root.path());
    let entries = queue.read().unwrap();
    assert_eq!(
        entries.waiting_models(),
        vec!["vgg13".to_string()],
        "names are checked and spelled as the registry does"
    );
    let entry = &entries.runs[0];
    assert_eq!(
        entry.base.as_deref(),
        Some(run.config_path().canonicalize().unwrap().as_path()),
        "a queued model trains with this run's settings"
    );

    let strings = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
    assert_eq!(
        queue_announcements(&events),
        vec![
            strings(&[]),
            strings(&["resnet8"]),
            strings(&["resnet8", "vgg13"]),
            strings(&["vgg13"])
        ]
    );
    let rejected: Vec<&Command> = events
        .iter()
        .filter_map(|e| match e {
            Event::CommandRejected { command, .. } => Some(command),
            _ => None,
        })
        .collect();
    assert_eq!(
        rejected,
        vec![&commands[1], &commands[4]],
        "an unknown model and a missing entry are refused"
    );
    let applied = events
        .iter()
        .filter(|e| matches!(e, Event::CommandApplied { .. }))
        .count();
    assert_eq!(applied, 3);
    assert_eq!(
        run.read_events().unwrap(),
        events,
        "events.jsonl has the queue too"
    );

    // Another process (`fer queue add`) changes the file: the run announces it at
    // its next progress tick.
    queue
        .update(|entries| {
            entries.push(None, Default::default(), None);
            Ok::<_, fer::run::RunError>(())
        })
        .unwrap();
    let checkpoint = last_checkpoint(&run);
    let (result, events) = train(&run, fast_config(2), data, Some(checkpoint), &[]);
    result.unwrap();
    assert_eq!(
        queue_announcements(&events).first(),
        Some(&strings(&["vgg13", "(default model)"]))
    );
}

fn queue_announcements(events: &[Event]) -> Vec<Vec<String>> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::QueueChanged { queue } => Some(queue.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn every_pause_and_resume_is_answered() {
    let root = tempfile::tempdir().unwrap();
    let run = new_run(root.path(), &fast_config(1));
    let commands = [
        Command::Pause,
        Command::Pause,
        Command::Resume,
        Command::Resume,
    ];
    let (result, events) = train(&run, fast_config(1), tiny_dataset(64, 32), None, &commands);
    result.unwrap();
    let answers: Vec<&Command> = events
        .iter()
        .filter_map(|e| match e {
            Event::CommandApplied { command } => Some(command),
            _ => None,
        })
        .collect();
    assert_eq!(
        answers,
        commands.iter().collect::<Vec<_>>(),
        "a pause while paused and a stray resume are acknowledged"
    );
}

#[test]
fn set_lr_is_used_from_the_next_step_and_recorded() {
    let root = tempfile::tempdir().unwrap();
    let mut config = fast_config(2);
    config.schedule.name = ScheduleName::Constant;
    let run = new_run(root.path(), &config);
    let commands = [Command::SetLr { lr: 0.0125 }, Command::SetLr { lr: -1.0 }];
    let (result, events) = train(&run, config, tiny_dataset(64, 32), None, &commands);
    result.unwrap();

    assert!(events.contains(&Event::CommandApplied {
        command: Command::SetLr { lr: 0.0125 }
    }));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::CommandRejected { command: Command::SetLr { .. }, reason } if reason.contains("> 0")
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::SchedulePlan { current_lr, .. } if *current_lr == 0.0125
    )));
    let epoch_lrs: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            Event::EpochFinished(metrics) => Some(metrics.lr),
            _ => None,
        })
        .collect();
    assert_eq!(epoch_lrs, vec![0.0125, 0.0125]);
    let metrics = std::fs::read_to_string(run.metrics_path()).unwrap();
    let first_row: Vec<&str> = metrics.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(first_row[1].parse::<f64>().unwrap(), 0.0125, "{metrics}");
}
