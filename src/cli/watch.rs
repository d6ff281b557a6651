//! `fer watch RUN`: the dashboard of a run from another terminal, fed by following
//! its `events.jsonl`; without a terminal, the plain lines of its events.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};

use super::args::WatchArgs;
use super::{summary, UserError};
use fer::data::Split;
use fer::run::control::{live_engine, post_command};
use fer::run::{Command, Event, EventTail, RunDir};
use fer::train::TrainConfig;
use fer::tui::faces::FaceImages;
use fer::tui::plain::PlainView;
use fer::tui::{run_dashboard, Action, App};

/// How often the file is read again for appended lines.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(200);

pub fn run(args: WatchArgs) -> Result<()> {
    let run = RunDir::open(&args.run)?;
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        let app = dashboard(&run, args.control, args.ascii, false)?;
        if let Some(line) = summary::state_line(&app.state) {
            super::say(line);
        }
        Ok(())
    } else {
        plain(&run, args.follow)
    }
}

fn is_live(run: &RunDir) -> bool {
    live_engine(run).is_ok()
}

/// Prints the lines of the events so far; with `follow`, also of those to come,
/// until no process trains the run any more.
fn plain(run: &RunDir, follow: bool) -> Result<()> {
    let mut follower = Follower::new(run.clone());
    let mut view = PlainView::default();
    let mut last = None;
    loop {
        // Asked before reading: whatever a process wrote before it ended is read.
        let live = is_live(&follower.run);
        let new = follower.tail.read_new()?;
        let next = next_run(&follower.run, &new);
        for event in new {
            if let Some(line) = view.line(&event) {
                super::say(line);
            }
            last = Some(event);
        }
        match next {
            Some(next) if follow => follower = Follower::new(next),
            _ if !follow || !live => break,
            _ => thread::sleep(FOLLOW_INTERVAL),
        }
    }
    let run = &follower.run;
    match last {
        None if !is_live(run) => Err(UserError(format!(
            "{} has no events and no live engine: was it ever started?",
            run.path().display()
        ))
        .into()),
        Some(Event::RunFinished { .. } | Event::RunFailed { .. }) => Ok(()),
        _ if follow => {
            eprintln!("note: no process trains {} any more, and its events end without a finish (killed?)", run.path().display());
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The dashboard of `run`, read-only unless `control`; quitting never stops the
/// run. `escape_leaves`: Esc leaves too (opened from `fer runs`). Returns the
/// dashboard as it was left.
pub fn dashboard(run: &RunDir, control: bool, ascii: bool, escape_leaves: bool) -> Result<App> {
    let (sender, events) = mpsc::channel();
    // The run the keys steer: the follower moves it along the queue.
    let current = Arc::new(Mutex::new(run.clone()));
    let followed = Arc::clone(&current);
    thread::Builder::new()
        .name("fer-watch".into())
        .spawn(move || follow_events(&followed, &sender))
        .context("starting the thread that follows events.jsonl")?;
    let app = super::dashboard_app(ascii)
        .with_read_only(!control)
        .with_watching(true)
        .with_escape_leaves(escape_leaves)
        .with_faces(
            Some(run.path().to_path_buf()),
            load_faces_in_background(run),
        );
    let app = run_dashboard(app, &events, |action| match action {
        Action::Send(command) => steer(&lock(&current), &command),
        Action::Quit => Ok(()),
    })
    .context("the terminal dashboard failed")?;
    Ok(app)
}

/// The run's validation images for the faces pane, read from its data set (as its
/// config.ron names it) on a thread, so the dashboard shows at once.
fn load_faces_in_background(run: &RunDir) -> FaceImages {
    let images = FaceImages::default();
    let filled = images.clone();
    let config_path = run.config_path();
    let load = move || -> Result<Arc<Split>> {
        let text = std::fs::read_to_string(&config_path)
            .with_context(|| format!("reading {}", config_path.display()))?;
        let config: TrainConfig =
            ron::from_str(&text).with_context(|| format!("reading {}", config_path.display()))?;
        let dataset =
            super::load_dataset(config.data.as_deref(), config.skip_bad_rows, config.seed)?;
        Ok(Arc::new(dataset.val))
    };
    let spawned = thread::Builder::new()
        .name("fer-faces".into())
        .spawn(move || filled.set(load().map_err(|e| super::error_message(&e))));
    if let Err(error) = spawned {
        images.set(Err(format!(
            "could not start loading the data set: {error}"
        )));
    }
    images
}

/// Sends every event, old and new, following the queue from run to run, until the
/// run has no process any more (then the channel closes: a run whose events end
/// without a finish shows as failed).
fn follow_events(current: &Mutex<RunDir>, events: &Sender<Event>) {
    let mut follower = Follower::new(lock(current).clone());
    loop {
        let live = is_live(&follower.run);
        match follower.tail.read_new() {
            Ok(new) => {
                let next = next_run(&follower.run, &new);
                for event in new {
                    if events.send(event).is_err() {
                        return;
                    }
                }
                if let Some(next) = next {
                    *lock(current) = next.clone();
                    follower = Follower::new(next);
                    continue;
                }
            }
            Err(error) => {
                let _ = events.send(Event::Warning {
                    message: error.to_string(),
                });
                return;
            }
        }
        if !live {
            return;
        }
        thread::sleep(FOLLOW_INTERVAL);
    }
}

/// A run and the reader of its `events.jsonl`.
struct Follower {
    run: RunDir,
    tail: EventTail,
}

impl Follower {
    fn new(run: RunDir) -> Self {
        let tail = EventTail::new(&run.events_path());
        Self { run, tail }
    }
}

/// The next run of the queue when `events` (read from `run`) announce one: a
/// sibling directory of `run`, found by name so that it does not matter from which
/// directory the training process was started.
fn next_run(run: &RunDir, events: &[Event]) -> Option<RunDir> {
    let announced = events.iter().rev().find_map(|event| match event {
        Event::NextRun { run_dir, .. } => Some(run_dir),
        _ => None,
    })?;
    let name = Path::new(announced).file_name()?;
    RunDir::open(&run.path().parent()?.join(name)).ok()
}

/// The mutex's value even if a thread panicked while holding it (a `RunDir` is
/// never left half-written).
fn lock(current: &Mutex<RunDir>) -> std::sync::MutexGuard<'_, RunDir> {
    current
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Drops the command into the run's control channel; the answer arrives with the events.
fn steer(run: &RunDir, command: &Command) -> Result<(), String> {
    live_engine(run).map_err(|e| e.to_string())?;
    post_command(run, command)
        .map(|_| ())
        .map_err(|e| format!("could not send `{command}`: {e}"))
}
