//! `fer queue add|list|remove|clear|run`, and how a session claims its next run
//! from `runs/queue.ron`: first an interrupted run (crashed or stopped) to resume
//! from its last checkpoint, then the first waiting one in a new run directory.
//! The claiming session locks the run (`RUN/train.lock`) before the queue says it
//! started, and holds the lock until the run ends: several sessions share the
//! queue, and none takes a run that another is still loading or training.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::args::{QueueAction, QueueAddArgs, QueueArgs, ViewArgs};
use super::session::{create_run, Session, SessionPlan};
use super::train::resolve_config;
use super::{load_dataset, say, UserError};
use fer::data::Dataset;
use fer::run::control::live_engine;
use fer::run::overrides::ConfigOverrides;
use fer::run::{CheckpointKind, QueueEntries, QueueState, QueuedRun, RunDir, RunLock, RunQueue};
use fer::train::checkpoint::CheckpointFile;
use fer::train::summary::RunSummary;
use fer::train::TrainConfig;

pub fn run(args: QueueArgs) -> Result<()> {
    let queue = RunQueue::in_dir(&args.runs_dir);
    match args.action {
        QueueAction::Add(add) => add_entry(&queue, *add),
        QueueAction::List => {
            say(listing(&queue.read()?));
            Ok(())
        }
        QueueAction::Remove { position } => remove(&queue, position),
        QueueAction::Clear { study } => clear(&queue, study.as_deref()),
        QueueAction::Run {
            view,
            study,
            device,
            workers,
        } => {
            if workers.is_empty() {
                run_queue(&queue, &args.runs_dir, view, study, device)
            } else {
                super::workers::run(&workers, &args.runs_dir, study.as_deref())
            }
        }
    }
}

/// One worker: trains entries until none is left that no other worker holds.
fn run_queue(
    queue: &RunQueue,
    runs_dir: &Path,
    view: ViewArgs,
    study: Option<String>,
    device: Option<String>,
) -> Result<()> {
    // A device that does not answer fails here, before an entry is claimed for it.
    if let Some(device) = &device {
        fer::device::resolve(device.parse()?)?;
    }
    let plan = SessionPlan {
        first: None,
        runs_dir: runs_dir.to_path_buf(),
        queue: queue.clone(),
        study,
        device,
        wait_on_divergence: false,
    };
    let finished = Session::start(plan, view)?.follow()?;
    if finished.is_empty() {
        say(format!(
            "nothing to run: {} has no waiting or interrupted runs",
            queue.path().display()
        ));
    }
    Ok(())
}

fn add_entry(queue: &RunQueue, args: QueueAddArgs) -> Result<()> {
    if let Some(flag) = &args.overrides.model {
        return Err(UserError(format!(
            "the model is given once, as MODEL: `fer queue add {flag} ...` (not --model)"
        ))
        .into());
    }
    let overrides = ConfigOverrides {
        model: Some(args.model),
        ..args.overrides
    };
    let (base, overrides) = checked(args.config.as_deref(), overrides)?;
    let id = queue.update(|entries| Ok::<_, anyhow::Error>(entries.push(base, overrides, None)))?;
    let entries = queue.read()?;
    let position = entries.waiting().position(|run| run.id == id).unwrap_or(0) + 1;
    let described = entries
        .runs
        .iter()
        .find(|run| run.id == id)
        .map(|run| run.overrides.describe())
        .unwrap_or_default();
    say(format!(
        "queued #{id} at position {position}: {described}\n\
         a running `fer train` or `fer queue run` takes it when its run ends; else start it with `fer queue run`"
    ));
    Ok(())
}

/// Checks that the settings make a valid configuration now, and makes the paths
/// in them absolute, so that the queue runs the same from any directory.
pub fn checked(
    base: Option<&Path>,
    mut overrides: ConfigOverrides,
) -> Result<(Option<PathBuf>, ConfigOverrides)> {
    let absolute = |path: &Path| {
        std::fs::canonicalize(path).map_err(|e| UserError(format!("{}: {e}", path.display())))
    };
    let base = base.map(absolute).transpose()?;
    if let Some(data) = &overrides.data {
        overrides.data = Some(absolute(data)?);
    }
    let config = resolve_config(base.as_deref(), &overrides)?;
    overrides.model = Some(config.model);
    Ok((base, overrides))
}

fn remove(queue: &RunQueue, position: usize) -> Result<()> {
    let index = position.checked_sub(1).ok_or_else(|| {
        UserError("queue positions start at 1 (as `fer queue list` numbers them)".into())
    })?;
    let removed = queue.update(|entries| {
        let waiting = entries.waiting().count();
        Ok::<_, anyhow::Error>(entries.remove_waiting(index).ok_or(waiting))
    })?;
    match removed {
        Ok(run) => {
            say(format!("removed #{}: {}", run.id, run.overrides.describe()));
            Ok(())
        }
        Err(waiting) => Err(UserError(format!(
            "no waiting run at position {position} (there are {waiting})"
        ))
        .into()),
    }
}

/// Forgets waiting and finished entries (of `study`); started ones stay, since
/// they are training or waiting to be resumed.
fn clear(queue: &RunQueue, study: Option<&str>) -> Result<()> {
    let removed = queue.update(|entries| {
        let before = entries.runs.len();
        entries.runs.retain(|run| {
            let selected = study.is_none_or(|name| run.study.as_deref() == Some(name));
            !selected || matches!(run.state, QueueState::Started { .. })
        });
        Ok::<_, anyhow::Error>(before - entries.runs.len())
    })?;
    say(format!("removed {removed} entries"));
    Ok(())
}

/// What `fer queue list` prints: waiting runs numbered as `remove` counts them.
pub fn listing(entries: &QueueEntries) -> String {
    if entries.runs.is_empty() {
        return "the queue is empty (add runs with `fer queue add MODEL` or `fer study FILE`)"
            .into();
    }
    let mut lines = Vec::new();
    for (position, run) in entries.waiting().enumerate() {
        lines.push(format!("{:>3}. {}", position + 1, entry_line(run)));
    }
    for run in entries.runs.iter().filter(|run| !run.is_waiting()) {
        lines.push(format!("     {}", entry_line(run)));
    }
    lines.join("\n")
}

fn entry_line(run: &QueuedRun) -> String {
    let study = run
        .study
        .as_deref()
        .map(|name| format!(" [study {name}]"))
        .unwrap_or_default();
    let state = match &run.state {
        QueueState::Waiting => "waiting".to_string(),
        QueueState::Started { run: dir } => match RunDir::open(dir).map(|r| live_engine(&r)) {
            Ok(Ok(pid)) => format!("training in {} (pid {pid})", dir.display()),
            _ => format!(
                "interrupted in {} (`fer queue run` resumes it)",
                dir.display()
            ),
        },
        QueueState::Done { run: dir } => format!("done in {}{}", dir.display(), best_of(dir)),
    };
    format!("#{} {}{study}: {state}", run.id, run.overrides.describe())
}

fn best_of(dir: &Path) -> String {
    RunDir::open(dir)
        .ok()
        .and_then(|run| RunSummary::load(&run).ok().flatten())
        .map(|s| format!(", best val acc {:.2}%", 100.0 * s.best_val_accuracy))
        .unwrap_or_default()
}

/// A queue entry claimed for training. `lock` is its run's lock: whoever holds
/// the claim holds it until the run ends, so no other worker takes the entry.
pub struct Claimed {
    pub id: u64,
    pub config: TrainConfig,
    pub run: RunDir,
    pub resume: Option<CheckpointFile>,
    pub lock: RunLock,
}

/// Claims the next run (of `study`): an interrupted one first, else the first
/// waiting one, marked started in a new run directory. All under the queue's lock,
/// so two sessions never take the same entry. `device`, when given, replaces the
/// entry's own (a worker per device).
pub fn claim_next(
    queue: &RunQueue,
    study: Option<&str>,
    runs_dir: &Path,
    device: Option<&str>,
) -> Result<Option<Claimed>> {
    queue.update(|entries| {
        if let Some(claimed) = claim_interrupted(entries, study, runs_dir, device)? {
            return Ok(Some(claimed));
        }
        let Some(entry) = entries.next_waiting(study).cloned() else {
            return Ok(None);
        };
        start_fresh(entries, &entry, runs_dir, device).map(Some)
    })
}

/// A started entry whose run lock is free: its worker ended without finishing it
/// (stopped, crashed or killed; the system released the lock). One whose lock is
/// held is being trained, or its worker is still loading the data.
fn claim_interrupted(
    entries: &mut QueueEntries,
    study: Option<&str>,
    runs_dir: &Path,
    device: Option<&str>,
) -> Result<Option<Claimed>> {
    let started: Vec<QueuedRun> = entries.started(study).cloned().collect();
    for entry in started {
        let Some(dir) = entry.run_dir() else { continue };
        let Ok(run) = RunDir::open(dir) else {
            // The directory is gone: train the entry again from the start.
            return start_fresh(entries, &entry, runs_dir, device).map(Some);
        };
        let context = || format!("resuming queue entry #{}", entry.id);
        let Some(lock) = RunLock::try_acquire(&run).with_context(context)? else {
            continue;
        };
        // A fer from before run locks trains without one: its engine.pid tells.
        if live_engine(&run).is_ok() {
            continue;
        }
        let checkpoint_path = run.checkpoint_path(CheckpointKind::Last);
        if !checkpoint_path.is_file() {
            return start_fresh(entries, &entry, runs_dir, device).map(Some);
        }
        let checkpoint = CheckpointFile::load(&checkpoint_path).with_context(context)?;
        let state = &checkpoint.state;
        if state.completed_epochs >= state.config.epochs {
            let done = QueueState::Done {
                run: run.path().to_path_buf(),
            };
            entries.set_state(entry.id, done);
            continue;
        }
        let mut config = state.config.clone();
        if let Some(device) = device {
            config.device = device.to_string();
        }
        return Ok(Some(Claimed {
            id: entry.id,
            config,
            run,
            resume: Some(checkpoint),
            lock,
        }));
    }
    Ok(None)
}

/// The entry in a new run directory, locked before the queue says it started.
fn start_fresh(
    entries: &mut QueueEntries,
    entry: &QueuedRun,
    runs_dir: &Path,
    device: Option<&str>,
) -> Result<Claimed> {
    let context = || format!("queue entry #{} ({})", entry.id, entry.model());
    let mut config =
        resolve_config(entry.base.as_deref(), &entry.overrides).with_context(context)?;
    if let Some(device) = device {
        config.device = device.to_string();
    }
    let run = create_run(runs_dir, &config).with_context(context)?;
    let lock = RunLock::try_acquire(&run)
        .with_context(context)?
        .with_context(|| format!("{} is locked by another process", run.path().display()))?;
    let started = QueueState::Started {
        run: run.path().to_path_buf(),
    };
    entries.set_state(entry.id, started);
    Ok(Claimed {
        id: entry.id,
        config,
        run,
        resume: None,
        lock,
    })
}

/// The data set of the last run, kept while the next runs use the same one.
#[derive(Default)]
pub struct DataCache {
    last: Option<(DataKey, Arc<Dataset>)>,
}

type DataKey = (Option<PathBuf>, bool, u64);

fn key(config: &TrainConfig) -> DataKey {
    (config.data.clone(), config.skip_bad_rows, config.seed)
}

impl DataCache {
    pub fn remember(&mut self, config: &TrainConfig, dataset: Arc<Dataset>) {
        self.last = Some((key(config), dataset));
    }

    pub fn load(&mut self, config: &TrainConfig) -> Result<Arc<Dataset>> {
        if let Some((cached, dataset)) = &self.last {
            if *cached == key(config) {
                return Ok(dataset.clone());
            }
        }
        let dataset = Arc::new(load_dataset(
            config.data.as_deref(),
            config.skip_bad_rows,
            config.seed,
        )?);
        self.remember(config, dataset.clone());
        Ok(dataset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fer::run::RunError;

    /// A queue of one waiting resnet8 entry in `runs`.
    fn one_entry(runs: &Path) -> RunQueue {
        let queue = RunQueue::in_dir(runs);
        let overrides = ConfigOverrides {
            model: Some("resnet8".into()),
            ..ConfigOverrides::default()
        };
        queue
            .update(|entries| Ok::<_, RunError>(entries.push(None, overrides, None)))
            .unwrap();
        queue
    }

    /// The race two workers had: A claims the entry and loads its data (no
    /// engine.pid yet) while B looks for an interrupted run.
    #[test]
    fn a_started_entry_whose_run_lock_is_held_is_not_claimed_again() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let queue = one_entry(&runs);
        let a = claim_next(&queue, None, &runs, Some("cpu"))
            .unwrap()
            .expect("the waiting entry");
        assert!(!a.run.pid_path().exists(), "no engine yet");
        assert_eq!(
            a.config.device, "cpu",
            "the worker's device, not the entry's"
        );
        assert!(
            claim_next(&queue, None, &runs, None).unwrap().is_none(),
            "held by A: nothing for B"
        );

        // A dies before its first checkpoint: the system frees its lock, and B
        // starts the entry again in a directory of its own.
        let first = a.run.path().to_path_buf();
        drop(a);
        let b = claim_next(&queue, None, &runs, None)
            .unwrap()
            .expect("free again");
        assert_eq!(b.id, 1);
        assert!(b.resume.is_none());
        assert_ne!(b.run.path(), first);
        let entries = queue.read().unwrap();
        assert_eq!(
            entries.runs[0].state,
            QueueState::Started {
                run: b.run.path().to_path_buf()
            }
        );
    }

    /// Any other holder of the lock counts (`fer train --resume RUN` takes it too).
    #[test]
    fn a_run_locked_by_another_handle_is_skipped_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let queue = one_entry(&runs);
        let claimed = claim_next(&queue, None, &runs, None).unwrap().unwrap();
        let run = claimed.run.clone();
        drop(claimed);
        let other = RunLock::try_acquire(&run).unwrap().expect("free");
        assert!(claim_next(&queue, None, &runs, None).unwrap().is_none());
        drop(other);
        assert!(claim_next(&queue, None, &runs, None).unwrap().is_some());
    }
}
