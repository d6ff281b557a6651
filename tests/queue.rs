//! `fer queue` through the binary: order, listing and removal, and a queue that
//! is stopped or killed mid-run continuing with `fer queue run`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::process::{ctl, events, fer, stderr, stdout, write_quick_config, write_small_csv, Fer};
use fer::run::{Event, QueueState, RunDir, RunQueue};
use fer::train::TrainConfig;

const LONG: Duration = Duration::from_secs(240);

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `fer queue add MODEL --config quick.ron --runs-dir runs` plus `extra`.
fn add(config: &Path, runs: &Path, model: &str, extra: &[&str]) {
    let mut args = vec![
        "queue",
        "add",
        model,
        "--config",
        path(config),
        "--runs-dir",
        path(runs),
    ];
    args.extend_from_slice(extra);
    let output = fer(&args);
    assert!(output.status.success(), "{}", stderr(&output));
}

fn states(runs: &Path) -> Vec<QueueState> {
    let entries = RunQueue::in_dir(runs).read().expect("queue.ron reads");
    entries.runs.into_iter().map(|run| run.state).collect()
}

fn run_of(state: &QueueState) -> &Path {
    match state {
        QueueState::Started { run } | QueueState::Done { run } => run,
        QueueState::Waiting => panic!("not started"),
    }
}

fn config_of(run: &Path) -> TrainConfig {
    let text = std::fs::read_to_string(RunDir::open(run).unwrap().config_path()).unwrap();
    ron::from_str(&text).unwrap()
}

/// Quick runs on `train` faces.
fn setup_with(train: usize) -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = write_small_csv(dir.path(), train, 32, 16);
    let config = write_quick_config(dir.path(), &data);
    let runs = dir.path().join("runs");
    (dir, config, runs)
}

fn setup() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    setup_with(96)
}

#[test]
fn queued_runs_train_in_order_each_in_its_own_directory() {
    let (_dir, config, runs) = setup();
    add(
        &config,
        &runs,
        "resnet8",
        &["--epochs", "1", "--lr", "0.01"],
    );
    add(
        &config,
        &runs,
        "resnet8",
        &["--epochs", "1", "--lr", "0.02"],
    );
    add(
        &config,
        &runs,
        "RESNET8",
        &["--epochs", "1", "--lr", "0.03"],
    );
    let removed = fer(&["queue", "remove", "2", "--runs-dir", path(&runs)]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    let listed = stdout(&fer(&["queue", "list", "--runs-dir", path(&runs)]));
    assert!(
        listed.contains("1. #1 model resnet8") && listed.contains("2. #3 model resnet8"),
        "{listed}"
    );

    let output = fer(&["queue", "run", "--headless", "--runs-dir", path(&runs)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let states = states(&runs);
    assert_eq!(states.len(), 2);
    assert!(states
        .iter()
        .all(|state| matches!(state, QueueState::Done { .. })));
    let lrs: Vec<f64> = states.iter().map(|s| config_of(run_of(s)).lr).collect();
    assert_eq!(
        lrs,
        vec![0.01, 0.03],
        "queue order, without the removed run"
    );
    let first = events(run_of(&states[0]));
    assert!(
        first.iter().any(|e| matches!(e, Event::NextRun { .. })),
        "the first run's log names the next, for fer watch"
    );

    let again = fer(&["queue", "run", "--headless", "--runs-dir", path(&runs)]);
    assert!(
        stdout(&again).contains("nothing to run"),
        "{}",
        stdout(&again)
    );
    let listed = stdout(&fer(&["queue", "list", "--runs-dir", path(&runs)]));
    assert!(listed.contains("done in"), "{listed}");
}

#[test]
fn mistakes_are_refused_before_anything_is_queued() {
    let (dir, config, runs) = setup();
    let unknown = fer(&["queue", "add", "resnet9000", "--runs-dir", path(&runs)]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("resnet18"),
        "{}",
        stderr(&unknown)
    );
    let missing = dir.path().join("missing.csv");
    let no_data = fer(&[
        "queue",
        "add",
        "resnet8",
        "--data",
        path(&missing),
        "--runs-dir",
        path(&runs),
    ]);
    assert_eq!(no_data.status.code(), Some(2));
    assert!(stderr(&no_data).contains("missing.csv"));
    assert!(!RunQueue::in_dir(&runs).path().exists(), "nothing written");

    let twice = fer(&[
        "queue",
        "add",
        "resnet8",
        "--model",
        "vgg19",
        "--runs-dir",
        path(&runs),
    ]);
    assert_eq!(twice.status.code(), Some(2), "{}", stderr(&twice));

    add(&config, &runs, "resnet8", &[]);
    let out_of_range = fer(&["queue", "remove", "3", "--runs-dir", path(&runs)]);
    assert_eq!(out_of_range.status.code(), Some(2));
    assert!(stderr(&out_of_range).contains("there are 1"));
}

/// Stopped with `fer ctl stop`, then killed outright: each time the next
/// `fer queue run` resumes the interrupted run from its checkpoint before it
/// starts the next entry.
#[test]
fn an_interrupted_queue_continues_where_it_stopped() {
    // Epochs of a few seconds, so that the kill lands before the run ends.
    let (_dir, config, runs) = setup_with(960);
    add(&config, &runs, "resnet8", &["--epochs", "3"]);
    add(
        &config,
        &runs,
        "resnet8",
        &["--epochs", "1", "--lr", "0.02"],
    );

    let mut queue = Fer::spawn(&["queue", "run", "--headless", "--runs-dir", path(&runs)]);
    queue.wait_for_line("epoch 1/3 ", LONG);
    let first = run_of(&states(&runs)[0]).to_path_buf();
    let stopped = ctl(&first, &["stop"]);
    assert!(stopped.status.success(), "{}", stderr(&stopped));
    assert!(queue.wait_exit(LONG).success(), "{}", queue.output());
    let after_stop = states(&runs);
    assert!(matches!(after_stop[0], QueueState::Started { .. }));
    assert_eq!(after_stop[1], QueueState::Waiting, "a stop ends the queue");
    let listed = stdout(&fer(&["queue", "list", "--runs-dir", path(&runs)]));
    assert!(listed.contains("interrupted"), "{listed}");

    let mut queue = Fer::spawn(&["queue", "run", "--headless", "--runs-dir", path(&runs)]);
    queue.wait_for_line("epoch 2/3 ", LONG);
    queue.signal("KILL");
    let _ = queue.wait_exit(LONG);
    assert!(matches!(states(&runs)[0], QueueState::Started { .. }));

    let output = fer(&["queue", "run", "--headless", "--runs-dir", path(&runs)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let done = states(&runs);
    assert!(matches!(done[0], QueueState::Done { .. }), "{done:?}");
    assert!(matches!(done[1], QueueState::Done { .. }), "{done:?}");
    assert_eq!(run_of(&done[0]), first, "resumed in the same directory");
    let starts: Vec<usize> = events(&first)
        .iter()
        .filter_map(|e| match e {
            Event::RunStarted { start_epoch, .. } => Some(*start_epoch),
            _ => None,
        })
        .collect();
    assert_eq!(
        starts.len(),
        3,
        "started, resumed after the stop, after the kill"
    );
    assert!(starts[1] >= 1 && starts[2] >= starts[1], "{starts:?}");
    let metrics = std::fs::read_to_string(RunDir::open(&first).unwrap().metrics_path()).unwrap();
    assert_eq!(metrics.lines().count(), 4, "three epochs, each once");
}
