use std::io::Write;
use std::sync::mpsc;

use super::*;
use crate::run::schedule::ScheduleName;

/// A run directory with only what the control channel needs.
fn scratch_run() -> (tempfile::TempDir, RunDir) {
    let root = tempfile::tempdir().unwrap();
    let run = RunDir::create(root.path(), "resnet8").unwrap();
    std::fs::write(run.config_path(), "()").unwrap();
    (root, run)
}

fn append(run: &RunDir, event: &Event) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(run.events_path())
        .unwrap();
    writeln!(file, "{}", serde_json::to_string(event).unwrap()).unwrap();
}

fn claim_with_own_pid(run: &RunDir) {
    std::fs::write(run.pid_path(), format!("{}\n", std::process::id())).unwrap();
}

/// Plays the engine for one command: takes it from the mailbox, answers with `answer`.
fn answer_once(
    run: &RunDir,
    answer: impl Fn(Command) -> Event + Send + 'static,
) -> JoinHandle<Option<Command>> {
    let run = run.clone();
    thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Some(Posted::Command(command)) = take_commands(&run).unwrap().into_iter().next()
            {
                append(&run, &Event::Resumed);
                append(&run, &answer(command.clone()));
                return Some(command);
            }
            thread::sleep(Duration::from_millis(10));
        }
        None
    })
}

#[test]
fn posted_commands_come_out_in_order_and_once() {
    let (_root, run) = scratch_run();
    let sent = [
        Command::Pause,
        Command::SetSchedule {
            name: ScheduleName::Cosine,
            settings: None,
        },
        Command::SetLr { lr: 0.025 },
        Command::QueueModel {
            model: "vgg13".into(),
        },
        Command::RemoveQueued { index: 0 },
    ];
    for command in &sent {
        post_command(&run, command).unwrap();
    }
    std::fs::write(run.control_dir().join(".half-written.json"), "{").unwrap();
    std::fs::write(
        run.control_dir().join("zzz-by-hand.json"),
        "{\"command\":\"dance\"}",
    )
    .unwrap();
    let taken = take_commands(&run).unwrap();
    let expected: Vec<Posted> = sent.iter().cloned().map(Posted::Command).collect();
    assert_eq!(&taken[..5], &expected[..]);
    assert!(matches!(&taken[5], Posted::Invalid { file, .. } if file == "zzz-by-hand.json"));
    assert!(
        take_commands(&run).unwrap().is_empty(),
        "read files are deleted"
    );
    assert!(
        run.control_dir().join(".half-written.json").exists(),
        "files being written are left alone"
    );
}

#[test]
fn no_pid_file_a_bad_one_or_a_dead_process_is_no_live_run() {
    let (_root, run) = scratch_run();
    let error = live_engine(&run).unwrap_err();
    assert!(matches!(error, ControlError::NotLive { .. }), "{error}");
    assert!(error.to_string().contains("engine.pid"), "{error}");

    std::fs::write(run.pid_path(), "soon").unwrap();
    assert!(matches!(
        live_engine(&run),
        Err(ControlError::NotLive { .. })
    ));

    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(run.pid_path(), dead.to_string()).unwrap();
    let error = live_engine(&run).unwrap_err();
    assert!(error.to_string().contains("is gone"), "{error}");
    assert!(error.is_user_error());

    let error = send_and_wait(&run, &Command::Pause, Duration::from_secs(5)).unwrap_err();
    assert!(matches!(error, ControlError::NotLive { .. }));
    assert!(
        !run.control_dir().exists(),
        "nothing is posted to a run nobody trains"
    );

    claim_with_own_pid(&run);
    assert_eq!(live_engine(&run).unwrap(), std::process::id());
}

#[test]
fn the_matching_answer_after_the_mark_is_returned() {
    let (_root, run) = scratch_run();
    claim_with_own_pid(&run);
    // An old answer to the same command must not count.
    append(
        &run,
        &Event::CommandApplied {
            command: Command::CheckpointNow,
        },
    );
    let engine = answer_once(&run, |command| Event::CommandApplied { command });
    let answer = send_and_wait(&run, &Command::CheckpointNow, Duration::from_secs(5)).unwrap();
    assert_eq!(engine.join().unwrap(), Some(Command::CheckpointNow));
    assert_eq!(
        answer,
        Event::CommandApplied {
            command: Command::CheckpointNow
        }
    );
}

#[test]
fn a_rejection_is_an_error_with_the_reason() {
    let (_root, run) = scratch_run();
    claim_with_own_pid(&run);
    let engine = answer_once(&run, |command| Event::CommandRejected {
        command,
        reason: "no queue entry 3".into(),
    });
    let error = send_and_wait(
        &run,
        &Command::RemoveQueued { index: 2 },
        Duration::from_secs(5),
    )
    .unwrap_err();
    engine.join().unwrap();
    assert!(matches!(error, ControlError::Rejected { .. }));
    assert!(
        error.to_string().contains("unqueue 3") && error.to_string().contains("no queue entry 3"),
        "{error}"
    );
}

#[test]
fn silence_times_out_and_takes_the_command_back() {
    let (_root, run) = scratch_run();
    claim_with_own_pid(&run);
    let started = Instant::now();
    let error = send_and_wait(&run, &Command::Pause, Duration::from_millis(300)).unwrap_err();
    assert!(matches!(error, ControlError::NoAnswer { .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(
        take_commands(&run).unwrap().is_empty(),
        "the unanswered file was removed"
    );
}

#[test]
fn the_listener_claims_the_run_forwards_commands_and_lets_go() {
    let (_root, run) = scratch_run();
    post_command(&run, &Command::Stop).unwrap();
    let (commands, received) = mpsc::channel();
    let (notices, warnings) = mpsc::channel();
    let listener = ControlListener::start(&run, commands, notices).unwrap();
    assert_eq!(live_engine(&run).unwrap(), std::process::id());
    assert!(
        matches!(warnings.try_recv(), Ok(Event::Warning { message }) if message.contains("discarded 1")),
        "a command left from an earlier process is not applied"
    );
    post_command(&run, &Command::Pause).unwrap();
    std::fs::write(run.control_dir().join("junk.json"), "[]").unwrap();
    assert_eq!(
        received.recv_timeout(Duration::from_secs(5)),
        Ok(Command::Pause)
    );
    let warning = warnings.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(matches!(warning, Event::Warning { message } if message.contains("junk.json")));
    drop(listener);
    assert!(!run.pid_path().exists(), "a clean end removes engine.pid");
    assert!(
        received.try_recv().is_err(),
        "the stale stop never reached the engine"
    );
}
