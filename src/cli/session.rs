//! A training session: one engine run after another on a driver thread, watched
//! by the dashboard or by plain lines. The first run is `fer train`'s own (if
//! any); after it, the driver takes runs from `runs/queue.ron` until the queue is
//! empty or a run is stopped (see `super::queue` for how entries are claimed).

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};

use anyhow::{Context, Result};
use burn::tensor::backend::AutodiffBackend;

use super::args::ViewArgs;
use super::queue::{claim_next, Claimed, DataCache};
use super::{panics, signals, summary};
use fer::device::{self, Device, DevicesTask};
use fer::report::ReportError;
use fer::run::{Command, ControlListener, Event, EventLog, QueueState, RunDir, RunLock, RunQueue};
use fer::train::{Engine, EngineIo, EngineSetup, Outcome, TrainConfig, TrainError};
use fer::tui::faces::FaceImages;
use fer::tui::plain::PlainView;
use fer::tui::{run_dashboard, Action};

/// A run the driver saw to its end.
pub struct FinishedRun {
    pub run: RunDir,
    pub outcome: Outcome,
}

/// What a session trains.
pub struct SessionPlan {
    /// `fer train`'s run, on its devices (one replica each), with its lock; `None`
    /// starts with the queue.
    pub first: Option<(EngineSetup, Vec<Device>, RunLock)>,
    pub runs_dir: PathBuf,
    pub queue: RunQueue,
    /// Take only this study's entries from the queue (`fer study`).
    pub study: Option<String>,
    /// Train queued runs on this device instead of their own (`fer queue run --device`).
    pub device: Option<String>,
    /// Set by `Session::start` from the view.
    pub wait_on_divergence: bool,
}

pub struct Session {
    events: Receiver<Event>,
    commands: Sender<Command>,
    driver: JoinHandle<Result<Vec<FinishedRun>>>,
    view: ViewArgs,
    /// The validation images of the run being trained, for the faces pane.
    faces: FaceImages,
}

impl Session {
    /// Starts the driver. With the dashboard, a diverged run waits for the person
    /// watching to read why and stop it; with plain lines it stops at once.
    pub fn start(mut plan: SessionPlan, view: ViewArgs) -> Result<Self> {
        plan.wait_on_divergence = view.interactive();
        if let Some((setup, ..)) = &mut plan.first {
            setup.wait_on_divergence = plan.wait_on_divergence;
        }
        let (event_sender, events) = mpsc::channel();
        let (commands, command_receiver) = mpsc::channel();
        let io = EngineIo {
            events: event_sender,
            commands: command_receiver,
        };
        let control = commands.clone();
        signals::install_checkpoint_handler(commands.clone());
        let faces = FaceImages::default();
        let shown = faces.clone();
        let driver = thread::Builder::new()
            .name(fer::run::ENGINE_THREAD.into())
            .spawn(move || drive(plan, io, &control, &shown))
            .context("starting the engine thread")?;
        Ok(Self {
            events,
            commands,
            driver,
            view,
            faces,
        })
    }

    /// Follows the runs until they end: with the dashboard on a terminal, else
    /// plain lines; then one summary line per run on the normal screen. Returns
    /// the runs that ended.
    pub fn follow(self) -> Result<Vec<FinishedRun>> {
        let view = self.view;
        let interactive = view.interactive();
        signals::install_stop_handler(self.commands.clone(), !interactive);
        let mut dashboard = Ok(());
        if interactive {
            let commands = self.commands.clone();
            let mut stop_sent = false;
            let app = super::dashboard_app(view.ascii).with_faces(None, self.faces.clone());
            dashboard = run_dashboard(app, &self.events, |action| {
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
            // How a run failed is said once, by `main`, as the process's error.
            if matches!(event, Event::RunFailed { .. } | Event::Diverged { .. }) {
                continue;
            }
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
        dashboard.context("the terminal dashboard failed")?;
        Ok(finished)
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

/// The run being trained: its setup, its queue entry when it came from the queue,
/// and its lock, held until the queue says how it ended.
struct Current {
    setup: EngineSetup,
    devices: Vec<Device>,
    entry: Option<u64>,
    lock: RunLock,
}

/// Trains the first run, then queued runs, each listening on its own control
/// channel (`engine.pid`, `control/`), until the queue is empty or a run stops.
fn drive(
    mut plan: SessionPlan,
    io: EngineIo,
    control: &Sender<Command>,
    faces: &FaceImages,
) -> Result<Vec<FinishedRun>> {
    let mut data = DataCache::default();
    if let Some((setup, ..)) = &plan.first {
        data.remember(&setup.config, setup.dataset.clone());
    }
    let mut current = match plan.first.take() {
        Some((setup, devices, lock)) => Some(Current {
            setup,
            devices,
            entry: None,
            lock,
        }),
        None => claimed(&plan, &mut data)?,
    };
    let mut finished = Vec::new();
    let mut io = io;
    // A run's listener (and with it its engine.pid) starts before the run is
    // announced and stays until the next one is: a `fer watch` following the queue
    // always finds a live engine in the run it moves to.
    let mut listener = current
        .as_ref()
        .and_then(|first| listen(&first.setup.run, control, &io));
    while let Some(Current {
        setup,
        devices,
        entry,
        lock,
    }) = current.take()
    {
        let run = setup.run.clone();
        faces.set(Ok(std::sync::Arc::new(setup.dataset.val.clone())));
        let (result, returned) = device::dispatch_devices(&devices, EngineTask { setup, io })?;
        write_model_card(&run, returned.as_ref());
        let outcome = result?;
        let stopped = outcome.stopped;
        if let (Some(id), false) = (entry, stopped) {
            let done = QueueState::Done {
                run: run.path().to_path_buf(),
            };
            plan.queue
                .update(|entries| Ok::<_, fer::run::RunError>(entries.set_state(id, done)))?;
        }
        // Only now: freed earlier, a finished entry still marked started would look
        // interrupted to another worker.
        drop(lock);
        finished.push(FinishedRun { run, outcome });
        let (false, Some(returned)) = (stopped, returned) else {
            break;
        };
        io = returned;
        current = claimed(&plan, &mut data)?;
        let Some(next) = &current else { break };
        let next_listener = listen(&next.setup.run, control, &io);
        if let Some(previous) = finished.last() {
            announce_next_run(&previous.run, &next.setup, &io);
        }
        listener = next_listener;
    }
    drop(listener);
    Ok(finished)
}

/// The next entry of the queue, ready to train.
fn claimed(plan: &SessionPlan, data: &mut DataCache) -> Result<Option<Current>> {
    let Some(Claimed {
        id,
        config,
        run,
        resume,
        lock,
    }) = claim_next(
        &plan.queue,
        plan.study.as_deref(),
        &plan.runs_dir,
        plan.device.as_deref(),
    )?
    else {
        return Ok(None);
    };
    let device = device::resolve(config.device.parse()?)?;
    let dataset = data.load(&config)?;
    let mut setup = EngineSetup::new(config, dataset, run, device.to_string(), plan.queue.clone());
    setup.resume = resume;
    setup.wait_on_divergence = plan.wait_on_divergence;
    Ok(Some(Current {
        setup,
        devices: vec![device],
        entry: Some(id),
        lock,
    }))
}

/// `fer ctl` and `fer watch --control` reach the run through this; without it the
/// run still trains, so a failure is a warning.
fn listen(run: &RunDir, control: &Sender<Command>, io: &EngineIo) -> Option<ControlListener> {
    match ControlListener::start(run, control.clone(), io.events.clone()) {
        Ok(listener) => Some(listener),
        Err(error) => {
            let message =
                format!("fer ctl and fer watch --control will not reach this run: {error}");
            let _ = io.events.send(Event::Warning { message });
            None
        }
    }
}

/// Appends `NextRun` to the finished run's log, for a `fer watch` following it (a
/// failure costs only that, so it becomes a warning).
fn announce_next_run(previous: &RunDir, next: &EngineSetup, io: &EngineIo) {
    let event = Event::NextRun {
        model: next.config.model.clone(),
        run_dir: next.run.path().display().to_string(),
    };
    if let Err(error) = EventLog::open(previous).and_then(|mut log| log.append(&event)) {
        let message = format!(
            "fer watch will not follow the queue to {}: {error}",
            next.run.id()
        );
        let _ = io.events.send(Event::Warning { message });
    }
}

/// Every run leaves a model card, however it ended (a failed one says so in it). A
/// run without a finished epoch has nothing to describe; a card the disk refuses costs
/// only itself, so it is a warning, told where anyone is still listening.
fn write_model_card(run: &RunDir, io: Option<&EngineIo>) {
    let error = match fer::report::write_model_card(run) {
        Ok(_) | Err(ReportError::NoFinishedEpoch(_)) => return,
        Err(error) => error,
    };
    if let Some(io) = io {
        let message = format!("{} not written: {error}", fer::report::MODEL_CARD_FILE);
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

impl DevicesTask for EngineTask {
    type Output = (Result<Outcome, TrainError>, Option<EngineIo>);

    /// A panic inside (a GPU runtime's allocation failing, or a bug) ends the run
    /// with a message and a `RunFailed` in its log, not a torn-down process.
    fn run<B: AutodiffBackend>(self, devices: Vec<B::Device>, name: String) -> Self::Output {
        let events = self.io.events.clone();
        let run = self.setup.run.clone();
        let batch_size = self.setup.config.batch_size;
        let trained =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(
                || match Engine::<B>::with_devices(self.setup, self.io, devices) {
                    Ok(mut engine) => (engine.run(), Some(engine.into_io())),
                    Err(error) => (Err(error), None),
                },
            ));
        let panic = match trained {
            Ok(output) => return output,
            Err(panic) => panic,
        };
        let error = panic_error(&panics::take_text(panic.as_ref()), &name, &run, batch_size);
        let failed = Event::RunFailed {
            error: error.to_string(),
        };
        let _ = EventLog::open(&run).and_then(|mut log| log.append(&failed));
        let _ = events.send(failed);
        (Err(error), None)
    }
}

/// What a panicked engine tells the user.
fn panic_error(text: &str, device: &str, run: &RunDir, batch_size: usize) -> TrainError {
    let first_line = text.lines().next().unwrap_or_default();
    if fer::device::memory::out_of_memory(text) {
        return TrainError::Device(format!(
            "{device} ran out of memory ({first_line}): a batch of {batch_size} does not fit; start again with a smaller --batch-size, e.g. {}. The checkpoints already in {} are kept.",
            (batch_size / 2).max(1),
            run.path().display()
        ));
    }
    TrainError::Crashed(format!(
        "the training engine crashed: {first_line} (a bug: please report it with {})",
        run.events_path().display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_out_of_memory_panic_suggests_a_smaller_batch_and_keeps_the_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path(), "resnet18").unwrap();
        let text = "called `Result::unwrap()` on an `Err` value: can't allocate buffer of size: 8589934592\nbacktrace";
        let error = panic_error(text, "cuda:0 (NVIDIA H200)", &run, 512);
        assert!(matches!(error, TrainError::Device(_)));
        assert_eq!(
            error.to_string(),
            format!(
                "device: cuda:0 (NVIDIA H200) ran out of memory (called `Result::unwrap()` on an `Err` value: can't allocate buffer of size: 8589934592): a batch of 512 does not fit; start again with a smaller --batch-size, e.g. 256. The checkpoints already in {} are kept.",
                run.path().display()
            )
        );
        let bug = panic_error("index out of bounds at src/x.rs:1:2", "cpu", &run, 64);
        assert!(matches!(bug, TrainError::Crashed(_)));
        assert!(bug.to_string().starts_with(
            "the training engine crashed: index out of bounds at src/x.rs:1:2 (a bug"
        ));
    }
}
