//! `fer ctl` and signals against a live `fer train --headless` started with the binary.

mod common;

use std::path::Path;
use std::time::Duration;

use common::process::{
    ctl, events, run_dirs, spawn_quick_training, stopped_run_events, text, wait_for_live_run,
    wait_until, write_quick_config, write_small_csv,
};
use fer::run::{CheckpointKind, Command, Event, RunDir};
use fer::train::schedule::ScheduleName;

const START: Duration = Duration::from_secs(60);

fn count(events: &[Event], wanted: impl Fn(&Event) -> bool) -> usize {
    events.iter().filter(|e| wanted(e)).count()
}

fn progress_after_pause(run: &Path) -> usize {
    let events = events(run);
    let paused = events
        .iter()
        .rposition(|e| matches!(e, Event::Paused { .. }))
        .expect("a Paused event");
    count(&events[paused..], |e| matches!(e, Event::Progress { .. }))
}

fn assert_applied(output: &std::process::Output, label: &str) {
    assert!(output.status.success(), "fer ctl {label}: {}", text(output));
    assert!(
        text(output).contains(&format!("applied `{label}`")),
        "{}",
        text(output)
    );
}

#[test]
fn ctl_pauses_checkpoints_reschedules_queues_and_stops_a_headless_run() {
    let dir = tempfile::tempdir().unwrap();
    // Enough images that the queued run is still training when `stop` reaches it.
    let csv = write_small_csv(dir.path(), 512, 32, 0);
    let config = write_quick_config(dir.path(), &csv);
    let runs = dir.path().join("runs");
    let mut train = spawn_quick_training(&config, &runs, 2);
    let first = wait_for_live_run(&runs, START);

    assert_applied(&ctl(&first, &["pause"]), "pause");
    assert_eq!(progress_after_pause(&first), 0);
    std::thread::sleep(Duration::from_millis(1500)); // five progress intervals
    assert_eq!(progress_after_pause(&first), 0, "no step while paused");

    assert_applied(&ctl(&first, &["checkpoint"]), "checkpoint now");
    let recorded = events(&first);
    let paused = recorded
        .iter()
        .rposition(|e| matches!(e, Event::Paused { .. }))
        .unwrap();
    let saved = count(&recorded[paused..], |e| {
        matches!(
            e,
            Event::CheckpointSaved {
                kind: CheckpointKind::Last,
                ..
            }
        )
    });
    assert_eq!(saved, 1, "a checkpoint while paused");
    assert!(
        first.join("checkpoints/last.ckpt").is_file(),
        "the answer comes after the checkpoint is written"
    );

    assert_applied(&ctl(&first, &["schedule", "cosine"]), "schedule cosine");
    let plans = count(&events(&first), |e| {
        matches!(
            e,
            Event::SchedulePlan {
                name: ScheduleName::Cosine,
                ..
            }
        )
    });
    assert_eq!(plans, 1);

    assert_applied(
        &ctl(
            &first,
            &[
                "schedule",
                "step",
                "--set",
                "step_epochs=1",
                "--set",
                "gamma=0.5",
            ],
        ),
        "schedule step (step_epochs 1, gamma 0.5)",
    );
    let refused = ctl(&first, &["schedule", "cosine", "--set", "gamma=2"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("min_lr"), "{}", text(&refused));
    assert_applied(&ctl(&first, &["lr", "0.02"]), "lr 0.02");
    let planned = events(&first).into_iter().rev().find_map(|e| match e {
        Event::SchedulePlan {
            name,
            current_lr,
            settings,
            ..
        } => Some((name, current_lr, settings)),
        _ => None,
    });
    let (name, current_lr, settings) = planned.expect("a plan after the new LR");
    assert_eq!((name, current_lr), (ScheduleName::Step, 0.02));
    assert_eq!(settings.map(|s| (s.step_epochs, s.gamma)), Some((1, 0.5)));
    let bad = ctl(&first, &["lr", "-1"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));

    assert_applied(&ctl(&first, &["queue", "resnet8"]), "queue resnet8");
    let queued = vec!["resnet8".to_string()];
    assert!(events(&first).contains(&Event::QueueChanged { queue: queued }));
    let unknown = ctl(&first, &["queue", "resnet9000"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        text(&unknown).contains("resnet18"),
        "lists the known names: {}",
        text(&unknown)
    );
    let missing = ctl(&first, &["unqueue", "3"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing).contains("rejected") && text(&missing).contains("no queue entry 3"),
        "{}",
        text(&missing)
    );

    let second_trainer = common::process::fer(&[
        "train",
        "--resume",
        first.to_str().unwrap(),
        "--epochs",
        "3",
    ]);
    assert_eq!(
        second_trainer.status.code(),
        Some(2),
        "{}",
        text(&second_trainer)
    );
    assert!(
        text(&second_trainer).contains("being trained right now"),
        "{}",
        text(&second_trainer)
    );

    assert_applied(&ctl(&first, &["resume"]), "resume");
    // The next run's engine.pid comes first, then the announcement, then the
    // finished run's engine.pid goes.
    wait_until("the queued run to start", START, || {
        run_dirs(&runs)
            .get(1)
            .is_some_and(|second| second.join("engine.pid").is_file())
            && !first.join("engine.pid").exists()
    });
    let second = run_dirs(&runs).remove(1);
    assert!(second
        .file_name()
        .unwrap()
        .to_string_lossy()
        .ends_with("resnet8"));
    // The finished run ends with its result, then names the run its queue went on in.
    let first_events = events(&first);
    assert!(matches!(
        first_events.iter().rev().nth(1),
        Some(Event::RunFinished { stopped: false, .. })
    ));
    let next = second.to_string_lossy().into_owned();
    assert!(
        matches!(first_events.last(), Some(Event::NextRun { model, run_dir }) if model == "resnet8" && next.ends_with(run_dir.as_str())),
        "{first_events:?}"
    );
    assert!(
        !first.join("engine.pid").exists(),
        "a clean end removes engine.pid"
    );

    assert_applied(&ctl(&second, &["stop"]), "stop");
    assert!(train.wait_exit(START).success(), "{}", train.output());
    let second_events = events(&second);
    assert!(
        second_events.contains(&Event::QueueChanged { queue: Vec::new() }),
        "the queue was handed on, minus its head"
    );
    assert!(matches!(
        second_events.last(),
        Some(Event::RunFinished { stopped: true, .. })
    ));
    assert_eq!(
        count(&second_events, |e| *e
            == Event::CommandApplied {
                command: Command::Stop
            }),
        1
    );
    let output = train.output();
    assert!(
        output.contains(&format!("run {} finished", first.display())),
        "a summary line per run: {output}"
    );
    assert!(
        output.contains(&format!("run {} stopped", second.display())),
        "{output}"
    );

    let finished = ctl(&first, &["pause"]);
    assert_eq!(finished.status.code(), Some(2));
    let message = String::from_utf8_lossy(&finished.stderr);
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(message.contains("no live run"), "{message}");
}

#[test]
fn usr1_checkpoints_and_term_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_small_csv(dir.path(), 192, 32, 0);
    let config = write_quick_config(dir.path(), &csv);
    let runs = dir.path().join("runs");
    // Far more epochs than the test takes: only SIGTERM ends this run.
    let mut train = spawn_quick_training(&config, &runs, 1000);
    train.wait_for_line("step ", START);
    let run = run_dirs(&runs).remove(0);

    train.signal("USR1");
    let acknowledged = Event::CommandApplied {
        command: Command::CheckpointNow,
    };
    wait_until("the SIGUSR1 checkpoint", Duration::from_secs(20), || {
        events(&run).contains(&acknowledged)
    });
    assert!(run.join("checkpoints/last.ckpt").is_file());

    train.signal("TERM");
    let status = train.wait_exit(START);
    assert_eq!(status.code(), Some(0), "{}", train.output());
    let recorded = stopped_run_events(&run);
    let completed = count(&recorded, |e| matches!(e, Event::EpochFinished(_)));
    assert!(completed < 1000, "stopped early, after {completed} epochs");
    let run_dir = RunDir::open(&run).unwrap();
    assert!(run_dir.checkpoint_path(CheckpointKind::Last).is_file());
    assert!(!run.join("engine.pid").exists());
    assert!(
        train.output().contains("stopped after"),
        "{}",
        train.output()
    );
}

#[test]
fn ctl_without_a_live_run_exits_2_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = RunDir::create(dir.path(), "resnet8").unwrap();
    std::fs::write(run.config_path(), "()").unwrap();
    let finished = Event::RunFinished {
        best_epoch: 1,
        best_val_accuracy: 0.5,
        test_accuracy: None,
        stopped: false,
        seconds: 3.0,
    };
    std::fs::write(
        run.events_path(),
        format!("{}\n", serde_json::to_string(&finished).unwrap()),
    )
    .unwrap();
    let one_line_error = |output: &std::process::Output, needle: &str| {
        assert_eq!(output.status.code(), Some(2), "{}", text(output));
        let message = String::from_utf8_lossy(&output.stderr);
        assert_eq!(message.trim().lines().count(), 1, "{message}");
        assert!(message.contains(needle), "{message}");
    };

    one_line_error(&ctl(run.path(), &["checkpoint"]), "no engine.pid");

    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    std::fs::write(run.pid_path(), dead.to_string()).unwrap();
    one_line_error(&ctl(run.path(), &["stop"]), "is gone");

    // A live process that is not a fer engine never answers: the timeout ends the wait.
    std::fs::write(run.pid_path(), std::process::id().to_string()).unwrap();
    let started = std::time::Instant::now();
    one_line_error(
        &ctl(run.path(), &["pause", "--timeout", "0.5"]),
        "no answer",
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let left: Vec<_> = std::fs::read_dir(run.control_dir()).unwrap().collect();
    assert!(left.is_empty(), "an unanswered command is taken back");

    one_line_error(&ctl(dir.path(), &["pause"]), "not a run directory");
    assert_eq!(
        ctl(run.path(), &[]).status.code(),
        Some(2),
        "a command is required"
    );
    assert_eq!(ctl(run.path(), &["unqueue", "0"]).status.code(), Some(2));
    assert_eq!(
        ctl(run.path(), &["schedule", "sideways"]).status.code(),
        Some(2)
    );
}
