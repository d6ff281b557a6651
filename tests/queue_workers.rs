//! `fer queue run --workers`: several workers share one queue. Each entry is
//! trained once, by one worker; a worker killed mid-run leaves its entry to the
//! next free worker, which resumes it from its checkpoint; Ctrl-C stops them all.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::process::{
    ctl, events, fer, run_dirs, stderr, stdout, stopped_run_events, wait_until, write_quick_config,
    write_small_csv, Fer,
};
use fer::run::control::{live_engine, process_alive};
use fer::run::{CheckpointKind, Event, QueueState, RunDir, RunQueue};

const LONG: Duration = Duration::from_secs(240);

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Quick runs (resnet8, batches of 32) on `train` faces, and the runs directory.
fn setup(train: usize) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let data = write_small_csv(dir.path(), train, 32, 16);
    let config = write_quick_config(dir.path(), &data);
    let runs = dir.path().join("runs");
    (dir, config, runs)
}

/// `fer queue add resnet8 --config quick.ron --epochs N --lr LR`.
fn add(config: &Path, runs: &Path, epochs: usize, lr: &str) {
    let epochs = epochs.to_string();
    let args = [
        "queue",
        "add",
        "resnet8",
        "--config",
        path(config),
        "--runs-dir",
        path(runs),
        "--epochs",
        &epochs,
        "--lr",
        lr,
    ];
    let output = fer(&args);
    assert!(output.status.success(), "{}", stderr(&output));
}

fn spawn_workers(runs: &Path) -> Fer {
    Fer::spawn(&[
        "queue",
        "run",
        "--workers",
        "cpu,cpu",
        "--runs-dir",
        path(runs),
    ])
}

fn states(runs: &Path) -> Vec<QueueState> {
    let entries = RunQueue::in_dir(runs).read().expect("queue.ron reads");
    entries.runs.into_iter().map(|run| run.state).collect()
}

fn run_of(state: &QueueState) -> PathBuf {
    match state {
        QueueState::Started { run } | QueueState::Done { run } => run.clone(),
        QueueState::Waiting => panic!("not started"),
    }
}

/// The epoch each `RunStarted` of the run began at (1 unless resumed).
fn starts(run: &Path) -> Vec<usize> {
    events(run)
        .iter()
        .filter_map(|event| match event {
            Event::RunStarted { start_epoch, .. } => Some(*start_epoch),
            _ => None,
        })
        .collect()
}

/// The pid of the process training `run`, once it trains.
fn engine_pid(run: &Path) -> u32 {
    let dir = RunDir::open(run).expect("a run directory");
    let mut pid = 0;
    wait_until("the run's engine.pid", LONG, || {
        live_engine(&dir).map(|p| pid = p).is_ok()
    });
    pid
}

/// Both entries claimed (one per worker, since each trains one at a time) and
/// training; their run directories, in queue order.
/// Two queued runs of 3 epochs, each being trained by one of two workers: the
/// directory (kept while held), the runs directory, the workers, both runs, and
/// their engines' process ids.
fn two_workers_training() -> (tempfile::TempDir, PathBuf, Fer, [PathBuf; 2], [u32; 2]) {
    let (dir, config, runs) = setup(960);
    add(&config, &runs, 3, "0.01");
    add(&config, &runs, 3, "0.02");
    let workers = spawn_workers(&runs);
    let (first, second) = both_training(&runs);
    let pids = [engine_pid(&first), engine_pid(&second)];
    (dir, runs, workers, [first, second], pids)
}

fn both_training(runs: &Path) -> (PathBuf, PathBuf) {
    wait_until("two started entries", LONG, || {
        let states = states(runs);
        states
            .iter()
            .all(|state| matches!(state, QueueState::Started { .. }))
    });
    let states = states(runs);
    let (first, second) = (run_of(&states[0]), run_of(&states[1]));
    engine_pid(&first);
    engine_pid(&second);
    (first, second)
}

/// The worker label (`[1 cpu]`) that reported `run` finished, from the relayed lines.
fn finished_by(output: &str, run: &Path) -> Vec<String> {
    let needle = format!("] run {} finished", run.display());
    output
        .lines()
        .filter(|line| line.contains(&needle))
        .filter_map(|line| line.split_once(']').map(|(label, _)| format!("{label}]")))
        .collect()
}

#[test]
fn two_workers_empty_the_queue_each_entry_trained_once() {
    let (_dir, config, runs) = setup(96);
    for lr in ["0.01", "0.02", "0.03", "0.04"] {
        add(&config, &runs, 1, lr);
    }
    let output = fer(&[
        "queue",
        "run",
        "--workers",
        "cpu,cpu",
        "--runs-dir",
        path(&runs),
    ]);
    let printed = stdout(&output);
    assert!(output.status.success(), "{}{printed}", stderr(&output));

    let states = states(&runs);
    assert_eq!(states.len(), 4);
    assert!(
        states
            .iter()
            .all(|state| matches!(state, QueueState::Done { .. })),
        "{states:?}"
    );
    let mut dirs: Vec<PathBuf> = states.iter().map(run_of).collect();
    dirs.sort();
    assert_eq!(dirs, run_dirs(&runs), "one directory per entry, no other");
    let mut workers = Vec::new();
    for dir in &dirs {
        assert_eq!(starts(dir), vec![1], "{} started once", dir.display());
        let finished = events(dir)
            .iter()
            .filter(|e| matches!(e, Event::RunFinished { .. }))
            .count();
        assert_eq!(finished, 1, "{}", dir.display());
        let by = finished_by(&printed, dir);
        assert_eq!(
            by.len(),
            1,
            "one worker finished {}: {printed}",
            dir.display()
        );
        workers.extend(by);
    }
    workers.sort();
    workers.dedup();
    // Each worker claims an entry as soon as it starts, well before the other
    // could have trained all four.
    assert_eq!(workers, vec!["[1 cpu]", "[2 cpu]"], "{printed}");
}

/// Worker A is killed (SIGKILL, so nothing is saved at the end) after its run's
/// first epoch; the other worker, once its own run is done, resumes A's from its
/// last checkpoint, in the same directory. The other run is paused meanwhile, so
/// that its worker is still there when A dies, whatever the timing.
#[test]
fn a_killed_workers_entry_is_resumed_by_the_other_worker() {
    let (_dir, config, runs) = setup(960);
    add(&config, &runs, 3, "0.01");
    add(&config, &runs, 1, "0.02");
    let mut workers = spawn_workers(&runs);
    let (killed_run, other_run) = both_training(&runs);
    let paused = ctl(&other_run, &["pause"]);
    assert!(paused.status.success(), "{}", stderr(&paused));

    let killed_dir = RunDir::open(&killed_run).unwrap();
    wait_until("the first epoch's checkpoint", LONG, || {
        events(&killed_run).iter().any(|e| {
            matches!(e, Event::CheckpointSaved { kind: CheckpointKind::Last, epoch, .. } if *epoch >= 1)
        })
    });
    let pid = engine_pid(&killed_run);
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    wait_until("the killed worker gone", LONG, || !process_alive(pid));
    assert!(killed_dir.checkpoint_path(CheckpointKind::Last).is_file());
    assert!(matches!(states(&runs)[0], QueueState::Started { .. }));

    let resumed = ctl(&other_run, &["resume"]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let status = workers.wait_exit(LONG);
    let printed = workers.output();
    assert!(!status.success(), "a worker was killed: {printed}");
    assert!(printed.contains("was killed by signal 9"), "{printed}");

    let states = states(&runs);
    assert!(
        states
            .iter()
            .all(|state| matches!(state, QueueState::Done { .. })),
        "{states:?}"
    );
    assert_eq!(run_of(&states[0]), killed_run, "resumed in its directory");
    let resumed_from = starts(&killed_run);
    assert_eq!(
        resumed_from.len(),
        2,
        "started, then resumed: {resumed_from:?}"
    );
    assert!(
        resumed_from[1] >= 1,
        "from the checkpoint: {resumed_from:?}"
    );
    let metrics = std::fs::read_to_string(killed_dir.metrics_path()).unwrap();
    assert_eq!(metrics.lines().count(), 4, "three epochs, each once");
    assert_eq!(starts(&other_run), vec![1]);
    assert_eq!(finished_by(&printed, &killed_run).len(), 1, "{printed}");
    assert_eq!(
        finished_by(&printed, &killed_run),
        finished_by(&printed, &other_run),
        "the surviving worker finished both: {printed}"
    );
}

/// One Ctrl-C to `fer queue run --workers` reaches each worker once: each saves a
/// checkpoint and stops, and the entries stay started, to be resumed.
#[test]
fn ctrl_c_stops_every_worker_after_a_checkpoint() {
    let (_dir, runs, mut workers, [first, second], pids) = two_workers_training();

    workers.signal("INT");
    let status = workers.wait_exit(LONG);
    let printed = workers.output();
    assert!(status.success(), "{printed}");
    for pid in pids {
        assert!(!process_alive(pid), "worker {pid} still runs");
    }
    for run in [&first, &second] {
        let recorded = stopped_run_events(run);
        assert!(
            recorded
                .iter()
                .any(|e| matches!(e, Event::CheckpointSaved { .. })),
            "{}",
            run.display()
        );
    }
    assert!(states(&runs)
        .iter()
        .all(|state| matches!(state, QueueState::Started { .. })));
    let notices = printed
        .lines()
        .filter(|line| line.contains("stopping after the current step"))
        .count();
    assert_eq!(notices, 2, "one stop per worker, not a quit: {printed}");
}

/// `fer queue run --workers` killed outright (no signal to relay): on Linux each
/// worker is told by the system (SIGTERM) and stops after a checkpoint, rather than
/// training on with nobody reading its output.
#[cfg(target_os = "linux")]
#[test]
fn workers_stop_when_their_parent_is_killed() {
    let (_dir, _runs, mut workers, [first, second], pids) = two_workers_training();

    workers.signal("KILL");
    let _ = workers.wait_exit(LONG);
    for pid in pids {
        wait_until("the orphaned worker's end", LONG, || !process_alive(pid));
    }
    for run in [&first, &second] {
        stopped_run_events(run);
    }
}
