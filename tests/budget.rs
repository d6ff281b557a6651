//! `--minutes`: a run fitted to a time budget on real faces from the bundled sample.

mod common;

use common::{fast_config, new_run, tiny_dataset, train};
use fer::run::{CheckpointKind, Event};
use fer::train::checkpoint::CheckpointFile;
use fer::train::schedule::ScheduleName;
use fer::train::TrainConfig;

const CONFIGURED_EPOCHS: usize = 500;
const BUDGET_MINUTES: f64 = 0.2;

#[test]
fn a_time_budget_ends_the_run_early_with_its_schedule_finished() {
    let root = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        minutes: Some(BUDGET_MINUTES),
        ..fast_config(CONFIGURED_EPOCHS)
    };
    assert_eq!(config.schedule.name, ScheduleName::OneCycle);
    let run = new_run(root.path(), &config);
    let (result, events) = train(&run, config.clone(), tiny_dataset(96, 64), None, &[]);
    let outcome = result.expect("training succeeds");

    assert!(!outcome.stopped);
    assert!(matches!(
        events.last(),
        Some(Event::RunFinished { stopped: false, .. })
    ));
    let epochs = outcome.summary.epochs_completed;
    assert!((1..CONFIGURED_EPOCHS).contains(&epochs), "{epochs} epochs");

    let announced = events
        .iter()
        .position(|e| matches!(e, Event::Warning { message } if message.contains("time budget")));
    let announced = announced.expect("the plan is announced");
    assert!(
        matches!(events.get(announced + 1), Some(Event::SchedulePlan { .. })),
        "a new schedule plan follows the announcement"
    );
    let first_epoch_end = events
        .iter()
        .position(|e| matches!(e, Event::EpochFinished(_)))
        .unwrap();
    assert!(
        first_epoch_end < announced,
        "planned from the first epoch's speed"
    );

    let checkpoint = CheckpointFile::load(&run.checkpoint_path(CheckpointKind::Last)).unwrap();
    let state = &checkpoint.state;
    assert_eq!(
        state.config.epochs, epochs,
        "the run's length is the planned one"
    );
    assert_eq!(
        state.schedule.total_epochs(),
        epochs,
        "the schedule was scaled to it"
    );
    assert_eq!(
        state.schedule.step(),
        state.schedule.total_steps(),
        "every planned step ran"
    );
    let end_lr = config.lr / config.schedule.div_factor / config.schedule.final_div_factor;
    let last_lr = state.history.last().unwrap().lr;
    assert!(
        (last_lr - end_lr).abs() <= end_lr * 1e-9,
        "one-cycle ended at {last_lr}, not {end_lr}"
    );

    let budget = BUDGET_MINUTES * 60.0;
    let longest_epoch = state.history.iter().map(|m| m.seconds).fold(0.0, f64::max);
    assert!(
        state.elapsed_seconds <= budget + longest_epoch,
        "{} s for a {budget} s budget",
        state.elapsed_seconds
    );
    assert!(
        state.elapsed_seconds >= budget / 2.0,
        "the budget was used: {} s",
        state.elapsed_seconds
    );

    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.summary_path()).unwrap()).unwrap();
    assert_eq!(summary["epochs_completed"], epochs);
    assert!(
        summary["test_accuracy"].is_number(),
        "the test split is still evaluated"
    );
    assert!(run.checkpoint_path(CheckpointKind::Best).is_file());
}

#[test]
fn an_old_config_without_minutes_still_loads() {
    let mut text = ron::ser::to_string(&fast_config(3)).unwrap();
    text = text.replace(",minutes:None", "");
    assert!(!text.contains("minutes"), "{text}");
    let config: TrainConfig = ron::from_str(&text).unwrap();
    assert_eq!(config.minutes, None);
    assert_eq!(config.epochs, 3);
}

#[test]
fn a_budget_that_is_not_positive_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        minutes: Some(0.0),
        ..fast_config(1)
    };
    let run = new_run(root.path(), &config);
    let (result, _) = train(&run, config, tiny_dataset(64, 32), None, &[]);
    let error = result.expect_err("refused");
    assert!(error.to_string().contains("--minutes"), "{error}");
}

/// With epochs of 40 steps or more, the plan is made a tenth into the first epoch, so
/// that a one-cycle schedule warms up for the run it will be, not the configured one.
#[test]
fn a_long_first_epoch_is_planned_from_its_first_steps() {
    let root = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        minutes: Some(0.02),
        batch_size: 8,
        ..fast_config(30)
    };
    let run = new_run(root.path(), &config);
    let (result, events) = train(&run, config.clone(), tiny_dataset(320, 32), None, &[]);
    result.expect("training succeeds");

    let first_epoch_end = events
        .iter()
        .position(|e| matches!(e, Event::EpochFinished(_)))
        .unwrap();
    let early = events[..first_epoch_end]
        .iter()
        .position(
            |e| matches!(e, Event::Warning { message } if message.contains("first 4 steps' pace")),
        )
        .unwrap_or_else(|| panic!("no early plan before the first epoch ended: {events:?}"));
    let Some(Event::SchedulePlan { epochs, plan, .. }) = events.get(early + 1) else {
        panic!("a new plan follows the announcement");
    };
    assert!(*epochs < 30, "{epochs} epochs planned");
    let peak = plan.iter().map(|&(_, lr)| lr).fold(0.0, f64::max);
    assert!(
        peak > 0.95 * config.lr,
        "the re-planned one-cycle still reaches its peak: {peak}"
    );
}
