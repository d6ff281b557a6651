//! The fold of engine events into dashboard state (keys: tui_keys.rs).

mod tui_support;

use std::time::{Duration, Instant};

use fer::run::Event;
use fer::train::schedule::ScheduleName;
use fer::tui::state::{LogLevel, LOG_CAPACITY};
use fer::tui::{DashboardState, RunStatus};
use tui_support::*;

fn folded(events: &[Event]) -> DashboardState {
    let mut state = DashboardState::new();
    for event in events {
        state.apply(event);
    }
    state
}

fn assert_close(actual: f64, expected: f64) {
    assert!((actual - expected).abs() < 1e-6, "{actual} != {expected}");
}

#[test]
fn run_started_fills_the_header_facts() {
    let state = folded(&[run_started()]);
    assert_eq!(state.info.model, "resnet18");
    assert_eq!(state.info.parameters, 11_171_271);
    assert_eq!(state.info.device, "cpu (flex)");
    assert_eq!(state.val_class_counts, VAL_CLASS_COUNTS.to_vec());
    assert_eq!(state.progress.epochs, EPOCHS);
    assert_eq!(state.status(), RunStatus::Running);
    assert_eq!(state.schedule, Some(ScheduleName::Cosine));
    assert!(state
        .log
        .lines()
        .any(|line| line.text == "note: augmentation: flip, crop 44, rotate 10"));
}

#[test]
fn progress_sets_epoch_step_speed_and_elapsed() {
    let state = folded(&run_events());
    assert_eq!((state.progress.epoch, state.progress.step), (4, 100));
    assert_eq!(state.progress.steps_per_epoch, STEPS_PER_EPOCH);
    assert_close(state.progress.images_per_second, 320.0);
    assert_close(
        state.elapsed_seconds(),
        3.0 * EPOCH_SECONDS + 100.0 * STEP_SECONDS,
    );
    assert_close(state.progress.epoch_fraction(), 100.0 / 224.0);
    assert_close(
        state.progress.run_fraction(),
        (3.0 * 224.0 + 100.0) / 2240.0,
    );
}

#[test]
fn epoch_curves_hold_one_point_per_finished_epoch() {
    let state = folded(&run_events());
    let epochs: Vec<usize> = state.epochs.iter().map(|e| e.epoch).collect();
    assert_eq!(epochs, vec![1, 2, 3]);
    assert_close(state.epochs[2].train_loss, 1.0);
    assert_close(state.epochs[2].val_loss, 1.08);
    assert_close(state.epochs[0].train_accuracy, 0.39);
    assert_eq!(state.best.map(|(epoch, _)| epoch), Some(3));
}

#[test]
fn per_class_recall_and_change_since_the_previous_epoch() {
    let state = folded(&run_events());
    let third = confusion(&RECALLS[2]);
    let second = confusion(&RECALLS[1]);
    for class in 0..7 {
        assert_close(state.val_recall[class], third.recall(class));
        let change = state.recall_change(class).expect("two epochs seen");
        assert_close(change, third.recall(class) - second.recall(class));
    }
    assert!(state.recall_change(3).is_some_and(|change| change > 0.03));
    let first_epoch_only = folded(&run_events()[..8]);
    assert!(matches!(first_epoch_only.epochs.len(), 1));
    assert_eq!(first_epoch_only.recall_change(0), None);
}

#[test]
fn eta_is_mean_epoch_time_with_validation_times_what_is_left() {
    let state = folded(&run_events());
    // Six whole epochs after the current one, plus 124/224 of the current one.
    let expected = EPOCH_SECONDS * (6.0 + 124.0 / 224.0);
    assert_close(state.eta_seconds().expect("epochs finished"), expected);
    assert!(state.eta.includes_validation());
}

#[test]
fn eta_before_the_first_epoch_uses_the_step_rate() {
    let state = folded(&[
        run_started(),
        progress(1, 50, 1.9, 0.1),
        progress(1, 100, 1.8, 0.1),
    ]);
    let remaining_steps = (EPOCHS * STEPS_PER_EPOCH - 100) as f64;
    assert_close(
        state.eta_seconds().expect("two reports"),
        remaining_steps * STEP_SECONDS,
    );
    assert!(!state.eta.includes_validation());
    let single = folded(&[run_started(), progress(1, 50, 1.9, 0.1)]);
    assert_eq!(single.eta_seconds(), None);
}

#[test]
fn elapsed_and_eta_run_between_events_and_stop_while_paused() {
    let t0 = Instant::now();
    let at = |seconds: u64| t0 + Duration::from_secs(seconds);
    let mut state = DashboardState::new();
    for event in run_events() {
        state.apply_at(&event, t0);
    }
    let (elapsed, eta) = (
        state.elapsed_seconds(),
        state.eta_seconds().unwrap_or_default(),
    );
    state.tick(at(5));
    assert_close(state.elapsed_seconds(), elapsed + 5.0);
    assert_close(state.eta_seconds().unwrap_or_default(), eta - 5.0);
    state.apply_at(
        &Event::Paused {
            epoch: 4,
            step: 100,
        },
        at(5),
    );
    assert_eq!(state.status(), RunStatus::Paused);
    state.tick(at(65));
    assert_close(state.elapsed_seconds(), elapsed + 5.0);
    assert_close(state.eta_seconds().unwrap_or_default(), eta - 5.0);
    state.apply_at(&Event::Resumed, at(70));
    state.tick(at(72));
    assert_eq!(state.status(), RunStatus::Running);
    assert_close(state.elapsed_seconds(), elapsed + 7.0);
    assert_close(state.eta_seconds().unwrap_or_default(), eta - 7.0);
}

#[test]
fn smoothed_batch_loss_recovers_interval_means_from_running_means() {
    let state = folded(&[
        run_started(),
        progress(1, 10, 2.0, 0.1),
        progress(1, 20, 1.5, 0.1),
    ]);
    // Steps 11..20 averaged (1.5*20 - 2.0*10) / 10 = 1.0; EMA 0.3*1.0 + 0.7*2.0.
    assert_close(state.batch_loss.latest().unwrap_or_default(), 1.7);
    let points = state.batch_loss.points();
    assert_close(points[1].0, 20.0 / STEPS_PER_EPOCH as f64);
    // A new epoch starts its running mean afresh.
    let next = folded(&[
        run_started(),
        progress(1, 224, 2.0, 0.1),
        progress(2, 112, 1.0, 0.1),
    ]);
    assert_close(
        next.batch_loss.latest().unwrap_or_default(),
        0.3 * 1.0 + 0.7 * 2.0,
    );
}

#[test]
fn learning_rate_history_and_plan() {
    let state = folded(&run_events());
    assert_eq!(state.lr_plan.len(), 41);
    assert_close(state.lr_plan[0].1, 0.1);
    let (last_step, last_lr) = *state.lr_history.last().expect("progress seen");
    assert_close(last_step, (3 * STEPS_PER_EPOCH + 100) as f64);
    assert_close(last_lr, cosine_lr(3 * STEPS_PER_EPOCH + 100));
    let changed = {
        let mut state = state.clone();
        state.apply(&Event::SchedulePlan {
            name: ScheduleName::OneCycle,
            current_lr: 0.05,
            plan: vec![(772, 0.05)],
            epochs: 5,
            settings: None,
        });
        state
    };
    assert_eq!(changed.schedule, Some(ScheduleName::OneCycle));
    assert_eq!(changed.lr_plan, vec![(772.0, 0.05)]);
    assert!(last_log_text(&changed).contains("schedule: one-cycle"));
    assert_eq!(
        changed.progress.epochs, 5,
        "a time budget re-plans the run's length"
    );
    let mut old_log = changed.clone();
    old_log.apply(&Event::SchedulePlan {
        name: ScheduleName::OneCycle,
        current_lr: 0.05,
        plan: vec![(772, 0.05)],
        epochs: 0,
        settings: None,
    });
    assert_eq!(
        old_log.progress.epochs, 5,
        "0 (an older log) keeps the length"
    );
}

fn last_log_text(state: &DashboardState) -> String {
    state
        .log
        .last(1)
        .next()
        .map(|line| line.text.clone())
        .unwrap_or_default()
}

#[test]
fn log_keeps_checkpoints_bests_and_warnings_and_stays_bounded() {
    let mut state = folded(&run_events());
    let texts: Vec<&str> = state.log.lines().map(|line| line.text.as_str()).collect();
    assert!(texts.contains(&"checkpoint (last) saved: checkpoints/last.ckpt (128.0 MiB)"));
    assert!(texts.iter().any(|t| t.starts_with("new best: epoch 3")));
    assert!(state
        .log
        .lines()
        .any(|l| l.level == LogLevel::Warning && l.text.contains("disk nearly full")));
    for index in 0..(LOG_CAPACITY + 50) {
        state.apply(&Event::Warning {
            message: format!("w{index}"),
        });
    }
    assert_eq!(state.log.len(), LOG_CAPACITY);
    assert_eq!(
        last_log_text(&state),
        format!("warning: w{}", LOG_CAPACITY + 49)
    );
}

#[test]
fn validation_then_epoch_end_moves_the_status() {
    let mut state = folded(&[run_started(), progress(1, 224, 1.5, 0.1)]);
    state.apply(&Event::ValidationStarted { epoch: 1 });
    assert_eq!(state.status(), RunStatus::Validating);
    state.apply(&epoch_finished(1));
    assert_eq!(state.status(), RunStatus::Running);
}

#[test]
fn finished_and_failed_runs() {
    let mut done = folded(&run_events());
    done.apply(&Event::RunFinished {
        best_epoch: 3,
        best_val_accuracy: 0.55,
        test_accuracy: Some(0.56),
        stopped: false,
        seconds: 400.0,
    });
    assert_eq!(done.status(), RunStatus::Done);
    assert_eq!(done.eta_seconds(), None);
    assert_close(done.elapsed_seconds(), 400.0);
    assert!(last_log_text(&done).contains("finished after 6m40s"));
    let mut failed = folded(&run_events());
    failed.apply(&Event::RunFailed {
        error: "out of memory".into(),
    });
    assert_eq!(failed.status(), RunStatus::Failed("out of memory".into()));
    let mut cut_off = folded(&run_events());
    cut_off.stream_closed();
    assert!(matches!(cut_off.status(), RunStatus::Failed(_)));
}

#[test]
fn a_new_run_resets_the_numbers_but_keeps_queue_and_log() {
    let mut state = folded(&run_events());
    state.queue = vec!["vgg13".into(), "resnet34".into()];
    let log_lines = state.log.len();
    let mut next_run = run_started();
    if let Event::RunStarted { run_id, model, .. } = &mut next_run {
        *run_id = "20261128-160000-vgg13".into();
        *model = "vgg13".into();
    }
    state.apply(&next_run);
    assert_eq!(state.info.model, "vgg13");
    assert!(state.epochs.is_empty() && state.confusion.is_none() && state.best.is_none());
    assert_eq!(
        state.queue,
        vec!["resnet34".to_string()],
        "the started model left the queue"
    );
    assert!(state.log.len() > log_lines);
    assert_eq!(state.pop_queued(), Some("resnet34".to_string()));
    assert!(state.queue.is_empty());
}

#[test]
fn a_resumed_run_keeps_the_history_before_its_start_epoch() {
    let mut state = folded(&run_events());
    let mut resumed = run_started();
    if let Event::RunStarted { start_epoch, .. } = &mut resumed {
        *start_epoch = 3;
    }
    state.apply(&resumed);
    let epochs: Vec<usize> = state.epochs.iter().map(|e| e.epoch).collect();
    assert_eq!(
        epochs,
        vec![1, 2],
        "epoch 3 is redone by the resumed process"
    );
    assert_eq!(state.progress.epoch, 3);
    assert!(state.best.is_some());
    assert!(state
        .log
        .lines()
        .any(|line| line.text == "resuming at epoch 3"));
}

#[test]
fn a_refused_write_is_marked_until_the_file_is_written() {
    let mut state = folded(&run_events());
    let failed = Event::WriteFailed {
        file: "checkpoints/last.ckpt".into(),
        error: "No space left on device (os error 28)".into(),
    };
    state.apply(&failed);
    assert_eq!(state.unsaved, vec!["checkpoints/last.ckpt".to_string()]);
    assert_eq!(
        state.log.lines().last().map(|line| line.text.clone()),
        Some("checkpoints/last.ckpt not saved: No space left on device (os error 28); training goes on, it is kept in memory and retried".to_string())
    );
    state.apply(&failed);
    assert_eq!(state.unsaved.len(), 1, "one mark per file");
    state.apply(&Event::WriteRecovered {
        file: "checkpoints/last.ckpt".into(),
    });
    assert!(state.unsaved.is_empty());
    assert_eq!(state.status(), RunStatus::Running, "training went on");
}

#[test]
fn a_divergence_is_said_once_and_shown_in_the_header() {
    let mut state = folded(&run_events());
    let message = "the run diverged: the training loss was NaN at epoch 4, step 101 of 200 (lr 1.000e4). No checkpoint had been saved yet: start again with a lower --lr than 10000".to_string();
    state.apply(&Event::Diverged {
        epoch: 4,
        step: 101,
        message: message.clone(),
    });
    assert_eq!(state.status(), RunStatus::Diverged);
    assert!(!state.status().is_over(), "it waits to be stopped");
    state.apply(&Event::RunFailed {
        error: message.clone(),
    });
    assert_eq!(state.status(), RunStatus::Failed(message.clone()));
    let said = state
        .log
        .lines()
        .filter(|l| l.text.contains(&message))
        .count();
    assert_eq!(said, 1);

    let mut plain = fer::tui::plain::PlainView::default();
    let diverged = Event::Diverged {
        epoch: 4,
        step: 101,
        message: message.clone(),
    };
    assert_eq!(plain.line(&diverged), Some(message.clone()));
    assert_eq!(plain.line(&Event::RunFailed { error: message }), None);
    assert_eq!(
        plain.line(&Event::RunFailed {
            error: "other".into()
        }),
        Some("run failed: other".into())
    );
}
