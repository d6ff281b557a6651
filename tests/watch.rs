//! `fer watch` without a terminal: the plain lines of a run's events, live or finished.

mod common;

use std::io::Write;
use std::time::Duration;

use common::process::{
    ctl, fer, run_dirs, spawn_quick_training, text, wait_for_live_run, write_quick_config,
    write_small_csv, Fer,
};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fer::run::{Command, RunDir};
use fer::tui::{Action, App, Theme};

const START: Duration = Duration::from_secs(60);

#[test]
fn watch_prints_a_live_run_follows_it_to_the_end_and_replays_it_after() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_small_csv(dir.path(), 192, 32, 16);
    let config = write_quick_config(dir.path(), &csv);
    let runs = dir.path().join("runs");
    let mut train = spawn_quick_training(&config, &runs, 2);
    let run = wait_for_live_run(&runs, START);
    let run_arg = run.to_str().unwrap();

    // Paused, the run is live but still: a plain watch prints what is there and returns.
    assert!(ctl(&run, &["pause"]).status.success());
    let so_far = fer(&["watch", run_arg]);
    assert!(so_far.status.success(), "{}", text(&so_far));
    let lines = String::from_utf8_lossy(&so_far.stdout).into_owned();
    assert!(
        lines.contains("resnet8") && lines.contains("paused at epoch"),
        "the events so far: {lines}"
    );
    assert!(!lines.contains("finished after"), "{lines}");

    let mut follower = Fer::spawn(&["watch", run_arg, "--follow"]);
    follower.wait_for_line("paused at epoch", START);
    assert!(ctl(&run, &["resume"]).status.success());
    assert!(follower.wait_exit(START).success(), "{}", follower.output());
    let followed = follower.output();
    assert!(train.wait_exit(START).success(), "{}", train.output());
    for needle in [
        "epoch 2/2  train loss",
        "test (best epoch",
        "finished after",
    ] {
        assert!(
            followed.contains(needle),
            "--follow saw {needle:?}: {followed}"
        );
    }
    assert!(
        !followed.contains('\u{1b}'),
        "no escape codes without a terminal"
    );

    // A finished run replays in full, and a torn last line is left for later, not an error.
    let mut events = std::fs::OpenOptions::new()
        .append(true)
        .open(run.join("events.jsonl"))
        .unwrap();
    write!(events, "{{\"event\":\"warning\",\"mess").unwrap();
    let replay = fer(&["watch", run_arg]);
    assert!(replay.status.success(), "{}", text(&replay));
    let replayed = String::from_utf8_lossy(&replay.stdout).into_owned();
    assert!(
        replayed.contains("epoch 2/2  train loss") && replayed.contains("finished after"),
        "{replayed}"
    );
    assert_eq!(
        replayed.trim_end(),
        followed.trim_end(),
        "the replay shows what the follower saw"
    );
}

/// When the queue goes on in a new run directory, `fer watch --follow` goes with it.
#[test]
fn watch_follows_the_queue_into_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_small_csv(dir.path(), 192, 32, 16);
    let config = write_quick_config(dir.path(), &csv);
    let runs = dir.path().join("runs");
    let mut train = spawn_quick_training(&config, &runs, 3);
    let first = wait_for_live_run(&runs, START);
    assert!(ctl(&first, &["pause"]).status.success());
    assert!(ctl(&first, &["queue", "resnet8"]).status.success());

    let mut follower = Fer::spawn(&["watch", first.to_str().unwrap(), "--follow"]);
    follower.wait_for_line("paused at epoch", START);
    assert!(ctl(&first, &["resume"]).status.success());
    assert!(train.wait_exit(START).success(), "{}", train.output());
    assert!(follower.wait_exit(START).success(), "{}", follower.output());

    let dirs = run_dirs(&runs);
    assert_eq!(dirs.len(), 2, "the queued run has its own directory");
    let second = dirs.iter().find(|d| **d != first).expect("a second run");
    let followed = follower.output();
    let name = second.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        followed.contains("the queue goes on: resnet8 in") && followed.contains(&name),
        "{followed}"
    );
    assert_eq!(
        followed.matches("finished after").count(),
        2,
        "both runs to their end: {followed}"
    );
}

#[test]
fn watch_refuses_what_is_not_a_run() {
    let dir = tempfile::tempdir().unwrap();
    let output = fer(&["watch", dir.path().join("nope").to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("not a run directory"),
        "{}",
        text(&output)
    );

    let run = RunDir::create(dir.path(), "resnet8").unwrap();
    std::fs::write(run.config_path(), "()").unwrap();
    let output = fer(&["watch", run.path().to_str().unwrap(), "--follow"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("no events and no live engine"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_watcher_leaves_at_once_and_never_stops_the_run() {
    let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
    let mut owner = App::new(Theme::ascii());
    owner.state.apply(&fer::run::Event::Resumed);
    let mut watcher = App::new(Theme::ascii()).with_watching(true);
    watcher.state.apply(&fer::run::Event::Resumed);
    assert!(owner.handle_key(q).is_empty(), "the owner is asked first");
    assert_eq!(watcher.handle_key(q), vec![Action::Quit]);
    let p = KeyEvent::new(KeyCode::Char('p'), KeyModifiers::NONE);
    assert_eq!(
        watcher.handle_key(p),
        vec![Action::Send(Command::Pause)],
        "--control steers"
    );
}
