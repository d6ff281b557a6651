//! A training session: one engine run after another (the first, then each queued
//! architecture) on a driver thread, watched by the dashboard or by plain lines.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use anyhow::{Context, Result};
use burn::tensor::backend::AutodiffBackend;

use fer::device::{self, BackendTask, Device};
use fer::run::{Command, Event, RunDir};
use fer::train::{Engine, EngineIo, EngineSetup, TrainConfig, TrainError};
use fer::tui::plain::PlainView;
use fer::tui::{run_dashboard, Action, App, Theme};

type Queue = Arc<Mutex<VecDeque<String>>>;

pub struct Session {
    events: Receiver<Event>,
    commands: Sender<Command>,
    queue: Queue,
    driver: JoinHandle<Result<(), TrainError>>,
}

impl Session {
    pub fn start(first: EngineSetup, device: Device, runs_dir: PathBuf) -> Result<Self> {
        let (event_sender, events) = mpsc::channel();
        let (commands, command_receiver) = mpsc::channel();
        let io = EngineIo { events: event_sender, commands: command_receiver };
        let queue = Queue::default();
        let driver_queue = queue.clone();
        let driver = thread::Builder::new()
            .name("fer-engine".into())
            .spawn(move || drive(first, io, device, &driver_queue, &runs_dir))
            .context("starting the engine thread")?;
        Ok(Self { events, commands, queue, driver })
    }

    /// Follows the runs until they end: with the dashboard on a terminal, else plain lines.
    pub fn follow(self, headless: bool, ascii: bool) -> Result<()> {
        let interactive = !headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
        install_interrupt_handler(self.commands.clone(), !interactive);
        if interactive {
            let commands = self.commands.clone();
            let queue = self.queue.clone();
            let names = fer::model::model_names().iter().map(|n| n.to_string()).collect();
            let app = App::new(Theme::detect(ascii)).with_model_names(names);
            run_dashboard(app, &self.events, |action| apply(action, &commands, &queue))
                .context("the terminal dashboard failed")?;
            // Whatever happens after the dashboard closes (the final checkpoint, the
            // test split) is reported as plain lines.
            let _ = self.commands.send(Command::Stop);
        }
        let mut view = PlainView::default();
        for event in &self.events {
            if let Some(line) = view.line(&event) {
                println!("{line}");
            }
        }
        drop(self.commands);
        match self.driver.join() {
            Ok(result) => result.map_err(anyhow::Error::from),
            Err(_) => anyhow::bail!("the training engine crashed (a bug: please report it with events.jsonl)"),
        }
    }
}

fn apply(action: Action, commands: &Sender<Command>, queue: &Queue) {
    match action {
        Action::Send(command) => {
            let _ = commands.send(command);
        }
        Action::QueueModel(name) => lock(queue).push_back(name),
        Action::RemoveQueued(index) => {
            lock(queue).remove(index);
        }
        Action::Quit => {}
    }
}

fn lock(queue: &Queue) -> std::sync::MutexGuard<'_, VecDeque<String>> {
    queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `first`, then each queued architecture with the same configuration, each in
/// a new run directory, until the queue is empty or a run is stopped.
fn drive(first: EngineSetup, io: EngineIo, device: Device, queue: &Queue, runs_dir: &PathBuf) -> Result<(), TrainError> {
    let mut setup = first;
    let mut io = io;
    loop {
        let config = setup.config.clone();
        let dataset = setup.dataset.clone();
        let (result, returned) = device::dispatch(device, EngineTask { setup, io });
        let outcome = result?;
        let next = lock(queue).pop_front();
        let (Some(model), false, Some(returned)) = (next, outcome.stopped, returned) else {
            return Ok(());
        };
        io = returned;
        let config = TrainConfig { model, ..config };
        let run = create_run(runs_dir, &config)?;
        setup = EngineSetup { config, dataset, run, resume: None, device_name: device.to_string() };
    }
}

/// A fresh run directory with its `config.ron`.
pub fn create_run(runs_dir: &std::path::Path, config: &TrainConfig) -> Result<RunDir, TrainError> {
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
    type Output = (Result<fer::train::Outcome, TrainError>, Option<EngineIo>);

    fn run<B: AutodiffBackend>(self, device: B::Device, _name: String) -> Self::Output {
        match Engine::<B>::new(self.setup, self.io, device) {
            Ok(mut engine) => (engine.run(), Some(engine.into_io())),
            Err(error) => (Err(error), None),
        }
    }
}

/// Ctrl-C (or SIGTERM) asks the engine to checkpoint and stop; a second one quits at
/// once. With the dashboard up the notice goes to its log, not to the screen.
fn install_interrupt_handler(commands: Sender<Command>, print_notice: bool) {
    let mut asked = false;
    let result = ctrlc::set_handler(move || {
        if asked {
            std::process::exit(130);
        }
        asked = true;
        if print_notice {
            eprintln!("stopping after the current step (checkpoint first); press Ctrl-C again to quit now");
        }
        let _ = commands.send(Command::Stop);
    });
    if let Err(error) = result {
        eprintln!("warning: Ctrl-C will not checkpoint: {error}");
    }
}
