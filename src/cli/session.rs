//! A training session: one engine run after another (the first, then each queued
//! architecture) on a driver thread, watched by the dashboard or by plain lines.
//!
//! The queue belongs to the engine (`Command::QueueModel`, recorded in
//! `events.jsonl` and in checkpoints); the driver only reads it from each run's
//! `Outcome` and starts the next model with the rest of the queue handed on.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};

use anyhow::{Context, Result};
use burn::tensor::backend::AutodiffBackend;

use super::{signals, summary};
use fer::device::{self, BackendTask, Device};
use fer::run::{Command, ControlListener, Event, EventLog, RunDir};
use fer::train::{Engine, EngineIo, EngineSetup, Outcome, TrainConfig, TrainError};
use fer::tui::plain::PlainView;
use fer::tui::{run_dashboard, Action, App, Theme};

/// A run the driver saw to its end.
struct FinishedRun {
    run: RunDir,
    outcome: Outcome,
}

pub struct Session {
    events: Receiver<Event>,
    commands: Sender<Command>,
    driver: JoinHandle<Result<Vec<FinishedRun>, TrainError>>,
}

impl Session {
    pub fn start(first: EngineSetup, device: Device, runs_dir: PathBuf) -> Result<Self> {
        let (event_sender, events) = mpsc::channel();
        let (commands, command_receiver) = mpsc::channel();
        let io = EngineIo {
            events: event_sender,
            commands: command_receiver,
        };
        let control = commands.clone();
        signals::install_checkpoint_handler(commands.clone());
        let driver = thread::Builder::new()
            .name("fer-engine".into())
            .spawn(move || drive(first, io, device, &runs_dir, &control))
            .context("starting the engine thread")?;
        Ok(Self {
            events,
            commands,
            driver,
        })
    }

    /// Follows the runs until they end: with the dashboard on a terminal, else
    /// plain lines; then one summary line per run on the normal screen.
    pub fn follow(self, headless: bool, ascii: bool) -> Result<()> {
        let interactive =
            !headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
        signals::install_stop_handler(self.commands.clone(), !interactive);
        let mut dashboard = Ok(());
        if interactive {
            let commands = self.commands.clone();
            let mut stop_sent = false;
            dashboard = run_dashboard(App::new(Theme::detect(ascii)), &self.events, |action| {
                stop_sent |= action == Action::Send(Command::Stop);
                forward(action, &commands)
            })
            .map(drop);
            // Closing the dashboard (or losing it) ends the session: a queued run
            // would train unseen. What happens after (the final checkpoint, the test
            // split) is reported as plain lines, and only then a dashboard failure.
            if !stop_sent {
                let _ = self.commands.send(Command::Stop);
            }
        }
        let mut view = PlainView::default();
        for event in &self.events {
            if let Some(line) = view.line(&event) {
                super::say(line);
            }
        }
        drop(self.commands);
        let finished = match self.driver.join() {
            Ok(result) => result?,
            Err(_) => anyhow::bail!(
                "the training engine crashed (a bug: please report it with events.jsonl)"
            ),
        };
        for FinishedRun { run, outcome } in &finished {
            super::say(summary::outcome_line(run, outcome));
        }
        dashboard.context("the terminal dashboard failed")
    }
}

fn forward(action: Action, commands: &Sender<Command>) -> Result<(), String> {
    match action {
        Action::Send(command) => commands
            .send(command)
            .map_err(|_| "the engine has ended: nothing to steer".to_string()),
        Action::Quit => Ok(()),
    }
}

/// Runs `first`, then each queued architecture with the same configuration, each in
/// a new run directory, until the queue is empty or a run is stopped. Each run
/// listens on its own control channel (`engine.pid`, `control/`) while it trains.
fn drive(
    first: EngineSetup,
    io: EngineIo,
    device: Device,
    runs_dir: &Path,
    control: &Sender<Command>,
) -> Result<Vec<FinishedRun>, TrainError> {
    let mut finished = Vec::new();
    let mut setup = first;
    let mut io = io;
    loop {
        let (run, config, dataset) = (
            setup.run.clone(),
            setup.config.clone(),
            setup.dataset.clone(),
        );
        let _listener = match ControlListener::start(&run, control.clone(), io.events.clone()) {
            Ok(listener) => Some(listener),
            Err(error) => {
                let message =
                    format!("fer ctl and fer watch --control will not reach this run: {error}");
                let _ = io.events.send(Event::Warning { message });
                None
            }
        };
        // The listener (and with it engine.pid) stays until the next run is announced,
        // so that a `fer watch` never sees the run end before it learns of the next.
        let (result, returned) = device::dispatch(device, EngineTask { setup, io });
        let outcome = result?;
        let (stopped, mut queue) = (outcome.stopped, outcome.queue.clone());
        finished.push(FinishedRun { run, outcome });
        let (false, false, Some(returned)) = (stopped, queue.is_empty(), returned) else {
            return Ok(finished);
        };
        io = returned;
        let config = TrainConfig {
            model: queue.remove(0),
            ..config
        };
        let previous = finished.last().map(|done| done.run.clone());
        let run = create_run(runs_dir, &config)?;
        if let Some(previous) = previous {
            announce_next_run(&previous, &run, &config.model, &io);
        }
        setup = EngineSetup {
            config,
            dataset,
            run,
            resume: None,
            device_name: device.to_string(),
            queue,
        };
    }
}

/// Appends `NextRun` to the finished run's log, for a `fer watch` following it (a
/// failure costs only that, so it becomes a warning).
fn announce_next_run(previous: &RunDir, next: &RunDir, model: &str, io: &EngineIo) {
    let event = Event::NextRun {
        model: model.to_string(),
        run_dir: next.path().display().to_string(),
    };
    if let Err(error) = EventLog::open(previous).and_then(|mut log| log.append(&event)) {
        let message = format!(
            "fer watch will not follow the queue to {}: {error}",
            next.id()
        );
        let _ = io.events.send(Event::Warning { message });
    }
}

/// A fresh run directory with its `config.ron`.
pub fn create_run(runs_dir: &Path, config: &TrainConfig) -> Result<RunDir, TrainError> {
    let run = RunDir::create(runs_dir, &config.model)?;
    let text = ron::ser::to_string_pretty(config, ron::ser::PrettyConfig::default())
        .map_err(|e| TrainError::Config(format!("encoding config.ron: {e}")))?;
    fer::run::write_atomic(&run.config_path(), text.as_bytes())?;
    Ok(run)
}

struct EngineTask {
    setup: EngineSetup,
    io: EngineIo,
}

impl BackendTask for EngineTask {
    type Output = (Result<Outcome, TrainError>, Option<EngineIo>);

    fn run<B: AutodiffBackend>(self, device: B::Device, _name: String) -> Self::Output {
        match Engine::<B>::new(self.setup, self.io, device) {
            Ok(mut engine) => (engine.run(), Some(engine.into_io())),
            Err(error) => (Err(error), None),
        }
    }
}
