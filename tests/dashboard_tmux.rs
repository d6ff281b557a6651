//! The real binary in a real terminal: `fer train` drawn in a tmux pane, driven
//! with `send-keys` and read back with `capture-pane`. Also `fer watch` on the
//! same run from a second window.
//!
//! Needs tmux (CI installs it). Without tmux the test fails and says so, unless
//! `FER_SKIP_TMUX` is set.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::process::{run_dirs, stopped_run_events, Fer, FER};
use fer::run::{Command as EngineCommand, Event};
use fer::train::schedule::ScheduleName;

const WAIT: Duration = Duration::from_secs(40);
const MAIN: &str = "fer:0";
const WATCHER: &str = "fer:1";

/// A private tmux server (its own socket, so parallel tests never meet), killed on
/// drop whatever happened.
struct Tmux {
    socket: String,
    /// The socket file, which `kill-server` leaves behind.
    socket_path: Option<String>,
}

impl Tmux {
    fn start(width: u16, height: u16) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut tmux = Self {
            socket: format!("fer-test-{}-{nanos}", std::process::id()),
            socket_path: None,
        };
        let (width, height) = (width.to_string(), height.to_string());
        tmux.ok(&[
            "new-session",
            "-d",
            "-x",
            &width,
            "-y",
            &height,
            "-s",
            "fer",
            "sh",
        ]);
        let path = tmux.ok(&["display-message", "-p", "#{socket_path}"]);
        tmux.socket_path = Some(path.trim().to_string()).filter(|path| !path.is_empty());
        tmux
    }

    fn command(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.command(args);
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Types `line` literally, then Enter.
    fn type_line(&self, target: &str, line: &str) {
        self.ok(&["send-keys", "-t", target, "-l", line]);
        self.keys(target, &["Enter"]);
    }

    fn keys(&self, target: &str, keys: &[&str]) {
        for key in keys {
            self.ok(&["send-keys", "-t", target, key]);
        }
    }

    /// The visible screen, wrapped lines joined.
    fn screen(&self, target: &str) -> String {
        self.ok(&["capture-pane", "-p", "-J", "-t", target])
    }

    /// Polls the screen until `done` holds; panics with the last screen after `timeout`.
    fn wait_for(
        &self,
        target: &str,
        what: &str,
        timeout: Duration,
        done: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen(target);
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {timeout:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    fn wait_for_text(&self, target: &str, needle: &str) -> String {
        self.wait_for(target, &format!("{needle:?}"), WAIT, |screen| {
            screen.contains(needle)
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command(&["kill-server"]);
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn tmux_available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// `step 8/11` from the progress pane.
fn step_counter(screen: &str) -> Option<String> {
    let start = screen.find("step ")?;
    screen[start..]
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
        .into()
}

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display())
}

/// False (skip the test) when `FER_SKIP_TMUX` is set; fails loudly without tmux.
fn tmux_wanted() -> bool {
    if std::env::var_os("FER_SKIP_TMUX").is_some() {
        eprintln!("FER_SKIP_TMUX is set: skipping the tmux dashboard test");
        return false;
    }
    assert!(
        tmux_available(),
        "tmux is not installed: install it (apt-get install -y tmux; CI does) or set FER_SKIP_TMUX=1 to skip this test"
    );
    true
}

/// Types `cd DIR && <launch> fer train --runs-dir runs <args>` into the main window.
fn start_training(tmux: &Tmux, dir: &Path, launch: &str, args: &str) {
    tmux.type_line(
        MAIN,
        &format!(
            "cd {} && {launch}{} train --runs-dir runs {args}",
            quoted(dir),
            quoted(Path::new(FER))
        ),
    );
}

/// Waits until the progress pane counts a step.
fn wait_for_steps(tmux: &Tmux) {
    tmux.wait_for(MAIN, "training steps", WAIT, |screen| {
        step_counter(screen).is_some_and(|step| !step.starts_with("step 0/"))
    });
}

#[test]
fn the_dashboard_pauses_checkpoints_reschedules_queues_and_quits_cleanly() {
    if !tmux_wanted() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let tmux = Tmux::start(120, 40);
    start_training(
        &tmux,
        dir.path(),
        "",
        "--epochs 2 --tta none; echo FER-EXIT=$?",
    );
    tmux.wait_for(MAIN, "the dashboard's panes", WAIT, |screen| {
        ["Progress", "Confusion", "Log", "Queue (0)", "RUNNING"]
            .iter()
            .all(|pane| screen.contains(pane))
    });
    let run = run_dirs(&runs).remove(0);
    wait_for_steps(&tmux);

    tmux.keys(MAIN, &["p"]);
    let paused = tmux.wait_for_text(MAIN, "PAUSED");
    let step = step_counter(&paused).expect("a step counter");
    std::thread::sleep(Duration::from_secs(3));
    let later = tmux.screen(MAIN);
    assert!(later.contains("PAUSED"), "{later}");
    assert_eq!(
        step_counter(&later),
        Some(step),
        "the step counter stands still while paused"
    );

    tmux.keys(MAIN, &["c"]);
    tmux.wait_for_text(MAIN, "checkpoint (last) saved");
    assert!(run.join("checkpoints/last.ckpt").is_file());

    tmux.keys(MAIN, &["s"]);
    tmux.wait_for_text(MAIN, "Schedule (");
    // To the top (constant), then down to cosine, the third entry.
    tmux.keys(
        MAIN,
        &["Up", "Up", "Up", "Up", "Up", "Down", "Down", "Enter"],
    );
    tmux.wait_for_text(MAIN, "cosine settings");
    // min_lr typed over, then applied.
    tmux.keys(MAIN, &["BSpace", "1", "e", "-", "4", "Enter"]);
    tmux.wait_for_text(MAIN, "schedule: cosine");

    tmux.keys(MAIN, &["l"]);
    tmux.wait_for_text(MAIN, "new LR:");
    tmux.keys(MAIN, &["0", ".", "0", "2", "Enter"]);
    tmux.wait_for_text(MAIN, "applied: lr 0.02");

    let names = fer::model::model_names();
    let position = names
        .iter()
        .position(|name| *name == "resnet20")
        .expect("resnet20 is in the zoo");
    tmux.keys(MAIN, &["n"]);
    tmux.wait_for_text(MAIN, "Queue a model");
    for _ in 0..position {
        tmux.keys(MAIN, &["Down"]);
    }
    tmux.keys(MAIN, &["Enter"]);
    tmux.wait_for_text(MAIN, "1. resnet20");

    // A second terminal watching the same run sees the same picture, and leaves it running.
    tmux.ok(&["new-window", "-d", "-t", "fer:1", "sh"]);
    tmux.type_line(
        WATCHER,
        &format!(
            "cd {} && {} watch {}; echo WATCH-EXIT=$?",
            quoted(dir.path()),
            quoted(Path::new(FER)),
            quoted(&run)
        ),
    );
    tmux.wait_for(WATCHER, "the watcher's dashboard", WAIT, |screen| {
        ["PAUSED", "1. resnet20", "read-only", "schedule: cosine"]
            .iter()
            .all(|text| screen.contains(text))
    });
    tmux.keys(WATCHER, &["q"]);
    let left = tmux.wait_for_text(WATCHER, "WATCH-EXIT=0");
    assert!(
        left.contains("still paused"),
        "a summary line after the watcher closes: {left}"
    );
    assert!(
        tmux.screen(MAIN).contains("PAUSED"),
        "the run did not notice the watcher leave"
    );

    tmux.keys(MAIN, &["q"]);
    tmux.wait_for_text(MAIN, "quit?");
    tmux.keys(MAIN, &["y"]);
    let end = tmux.wait_for_text(MAIN, "FER-EXIT=0");
    assert_eq!(
        tmux.ok(&["display-message", "-p", "-t", MAIN, "#{alternate_on}"])
            .trim(),
        "0",
        "the alternate screen is left"
    );
    let summary = format!(
        "run runs/{} stopped",
        run.file_name().unwrap().to_string_lossy()
    );
    assert!(
        end.contains(&summary),
        "the summary line on the normal screen: {end}"
    );
    assert!(end.contains("checkpoints/last.ckpt"), "{end}");

    let recorded = stopped_run_events(&run);
    assert!(recorded.contains(&Event::QueueChanged {
        queue: vec!["resnet20".into()]
    }));
    assert!(recorded.iter().any(|e| matches!(
        e,
        Event::SchedulePlan {
            name: ScheduleName::Cosine,
            ..
        }
    )));
    let stops = recorded
        .iter()
        .filter(|e| {
            **e == Event::CommandApplied {
                command: EngineCommand::Stop,
            }
        })
        .count();
    assert_eq!(stops, 1, "one stop for one quit");
    assert_eq!(
        run_dirs(&runs).len(),
        1,
        "a stopped run does not start its queue"
    );
}

/// An SSH link or tmux server that goes away hangs up the terminal: the run must
/// checkpoint, stop and exit, not wait forever for a `q` (or spin on a dead tty).
#[test]
fn a_hung_up_terminal_checkpoints_stops_and_exits() {
    if !tmux_wanted() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let tmux = Tmux::start(120, 40);
    start_training(&tmux, dir.path(), "exec ", "--epochs 50 --tta none");
    wait_for_steps(&tmux);
    let run = run_dirs(&runs).remove(0);
    let pid = std::fs::read_to_string(run.join("engine.pid")).expect("engine.pid");
    let stat = Path::new("/proc").join(pid.trim()).join("stat");
    // Gone, or a zombie nobody reaped yet (state Z after the command name).
    let alive = || {
        std::fs::read_to_string(&stat).is_ok_and(|line| {
            line.rsplit(") ")
                .next()
                .is_some_and(|rest| !rest.starts_with('Z'))
        })
    };
    assert!(alive(), "fer runs as {}", pid.trim());

    tmux.ok(&["kill-server"]);
    let deadline = Instant::now() + WAIT;
    while alive() {
        assert!(
            Instant::now() < deadline,
            "fer is still alive {WAIT:?} after its terminal hung up"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(run.join("checkpoints/last.ckpt").is_file());
    stopped_run_events(&run);
}

/// A diverged run waits on the dashboard, marked DIVERGED with the account in its
/// log, until `q`; then the normal screen says it once, and the exit code is 1.
#[test]
fn a_diverged_run_waits_on_the_dashboard_and_exits_1_saying_why_once() {
    if !tmux_wanted() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tmux = Tmux::start(160, 40);
    start_training(
        &tmux,
        dir.path(),
        "",
        "--epochs 3 --tta none --schedule constant --lr 1e30; echo FER-EXIT=$?",
    );
    let screen = tmux.wait_for_text(MAIN, "DIVERGED");
    assert!(screen.contains("the run diverged"), "{screen}");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        tmux.screen(MAIN).contains("DIVERGED"),
        "it waits for someone to read it"
    );
    tmux.keys(MAIN, &["p"]);
    tmux.wait_for_text(MAIN, "rejected: pause");
    tmux.keys(MAIN, &["q"]);
    tmux.wait_for_text(MAIN, "quit?");
    tmux.keys(MAIN, &["y"]);
    let end = tmux.wait_for_text(MAIN, "FER-EXIT=1");
    assert_eq!(
        end.matches("the run diverged").count(),
        1,
        "said once on the normal screen: {end}"
    );
    assert!(end.contains("error: the run diverged: "), "{end}");
}

/// The whole path in one tmux window: the board lists a run training
/// beside it, Enter opens its dashboard, `f` shows the faces of a confusion
/// cell, `L` sets the LR, Esc goes back to the board, which stops the run.
#[test]
fn the_board_opens_a_run_shows_its_faces_sets_its_lr_and_comes_back() {
    if !tmux_wanted() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let tmux = Tmux::start(120, 40);
    // The run trains headless beside the board (killed with the test if it fails).
    let runs_arg = runs.to_str().expect("utf-8 path");
    let _trainer = Fer::spawn(&[
        "train",
        "--runs-dir",
        runs_arg,
        "--epochs",
        "40",
        "--headless",
    ]);
    tmux.type_line(MAIN, &format!("cd {}", quoted(dir.path())));
    wait_for_faces(&runs);
    let run = run_dirs(&runs).remove(0);
    tmux.type_line(
        MAIN,
        &format!(
            "{} runs --runs-dir runs; echo RUNS-EXIT=$?",
            quoted(Path::new(FER))
        ),
    );
    tmux.wait_for(MAIN, "the board", WAIT, |screen| {
        screen.contains("fer runs") && screen.contains("running")
    });

    tmux.keys(MAIN, &["Enter"]);
    tmux.wait_for(MAIN, "the run's dashboard", WAIT, |screen| {
        ["Progress", "Confusion", "RUNNING"]
            .iter()
            .all(|pane| screen.contains(pane))
    });
    // Paused, so that no validation changes the cells while the cursor moves to
    // one that holds faces: down the rows, right the columns.
    tmux.keys(MAIN, &["p"]);
    tmux.wait_for_text(MAIN, "PAUSED");
    std::thread::sleep(Duration::from_secs(1));
    let (truth, predicted) = wait_for_faces(&runs);
    tmux.keys(MAIN, &["f"]);
    tmux.wait_for_text(MAIN, "Faces: Angry");
    for _ in 0..truth {
        tmux.keys(MAIN, &["j"]);
    }
    for _ in 0..predicted {
        tmux.keys(MAIN, &["l"]);
    }
    let (truth, predicted) = (fer::data::EMOTIONS[truth], fer::data::EMOTIONS[predicted]);
    // An arrow in colour, `->` in the ASCII theme.
    let titles = [
        format!("Faces: {truth} → {predicted} ("),
        format!("Faces: {truth} -> {predicted} ("),
    ];
    let shown = tmux.wait_for(MAIN, "the cell's faces", WAIT, |screen| {
        titles.iter().any(|title| screen.contains(title)) && screen.contains("shown, val epoch")
    });
    assert!(shown.contains('%'), "faces are captioned: {shown}");

    // L while the faces are open (l moves the cursor); the answer shows in the log,
    // which is back once the faces close.
    tmux.keys(MAIN, &["L"]);
    tmux.wait_for_text(MAIN, "new LR:");
    tmux.keys(MAIN, &["0", ".", "0", "1", "Enter", "f"]);
    tmux.wait_for_text(MAIN, "applied: lr 0.01");

    tmux.keys(MAIN, &["Escape"]);
    tmux.wait_for(MAIN, "the board again", WAIT, |screen| {
        screen.contains("fer runs") && screen.contains("enter open")
    });
    tmux.keys(MAIN, &["x"]);
    tmux.wait_for_text(MAIN, "y/n");
    tmux.keys(MAIN, &["y"]);
    tmux.wait_for(MAIN, "the stopped run", WAIT, |screen| {
        screen.contains("stopped")
    });
    tmux.keys(MAIN, &["q"]);
    tmux.wait_for_text(MAIN, "RUNS-EXIT=0");

    let recorded = stopped_run_events(&run);
    assert!(recorded.contains(&Event::CommandApplied {
        command: EngineCommand::SetLr { lr: 0.01 }
    }));
    assert!(recorded
        .iter()
        .any(|e| matches!(e, Event::RunFinished { stopped: true, .. })));
}

/// Waits for the first run's first faces.json and picks a cell with faces in it
/// (an off-diagonal one when there is one: a mistake).
fn wait_for_faces(runs: &Path) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let record = run_dirs(runs)
            .first()
            .and_then(|run| fer::run::faces::read_faces(run).ok().flatten());
        if let Some(record) = record {
            let cell = record
                .cells
                .iter()
                .find(|cell| cell.truth != cell.predicted)
                .or(record.cells.first())
                .expect("a validation puts every image in a cell");
            return (cell.truth, cell.predicted);
        }
        assert!(Instant::now() < deadline, "no faces.json within 120 s");
        std::thread::sleep(Duration::from_millis(200));
    }
}
