//! Every run of a runs directory at a glance (`fer runs`): one [`RunOverview`] per
//! run directory, read from what the run left (`events.jsonl`, `metrics.csv`,
//! `summary.json`, `engine.pid`), plus the waiting entries of `queue.ron`. Pure
//! reading: nothing here writes, and one broken run never hides the others.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::control::live_engine;
use super::dir::{RunDir, CONFIG_FILE, EVENTS_FILE};
use super::error::RunError;
use super::events::Event;
use super::queue::RunQueue;

/// What a run is doing, or how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RunState {
    Running,
    Paused,
    /// Waiting in `queue.ron`: no directory yet.
    Queued,
    Finished,
    /// Stopped by a command (or a signal) before its last epoch.
    Stopped,
    /// The training loss or the weights stopped being finite.
    Diverged,
    /// Ended with an error (`RunFailed`).
    Failed,
    /// No process trains it and its events end without a finish (killed, crashed).
    Crashed,
    /// Its files could not be read.
    Unreadable,
}

impl RunState {
    pub fn label(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Queued => "queued",
            RunState::Finished => "finished",
            RunState::Stopped => "stopped",
            RunState::Diverged => "diverged",
            RunState::Failed => "failed",
            RunState::Crashed => "crashed",
            RunState::Unreadable => "unreadable",
        }
    }

    /// A process trains it now.
    pub fn is_live(self) -> bool {
        matches!(self, RunState::Running | RunState::Paused)
    }

    /// It ended badly (or cannot be read).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            RunState::Diverged | RunState::Failed | RunState::Crashed | RunState::Unreadable
        )
    }
}

/// One finished epoch, as the board's sparkline and curves need it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochPoint {
    pub epoch: usize,
    pub val_accuracy: f64,
    pub train_loss: f64,
}

/// One row of the board.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOverview {
    /// The directory name (`20261128-142501-resnet18`), or `queued #N`.
    pub id: String,
    /// The run directory; none for a queued entry.
    pub path: Option<PathBuf>,
    pub model: String,
    pub state: RunState,
    /// The epoch in progress (live) or the last finished one.
    pub epoch: usize,
    /// The run's planned length (0: unknown).
    pub epochs: usize,
    pub best_val_accuracy: Option<f64>,
    pub test_accuracy: Option<f64>,
    pub images_per_second: Option<f64>,
    pub elapsed_seconds: Option<f64>,
    /// Finished epochs in order (a resumed run's repeated epochs counted once).
    pub history: Vec<EpochPoint>,
    /// Why it failed, diverged or could not be read; lines of events.jsonl skipped.
    pub note: Option<String>,
}

impl RunOverview {
    fn empty(id: String, path: Option<PathBuf>, model: String, state: RunState) -> Self {
        Self {
            id,
            path,
            model,
            state,
            epoch: 0,
            epochs: 0,
            best_val_accuracy: None,
            test_accuracy: None,
            images_per_second: None,
            elapsed_seconds: None,
            history: Vec::new(),
            note: None,
        }
    }

    /// Validation accuracy per finished epoch.
    pub fn val_accuracies(&self) -> Vec<f64> {
        self.history
            .iter()
            .map(|point| point.val_accuracy)
            .collect()
    }
}

/// Everything found in a runs directory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listing {
    /// Run directories by name, then the waiting queue entries in queue order.
    pub runs: Vec<RunOverview>,
    /// What could not be read beyond single runs (a broken `queue.ron`).
    pub notes: Vec<String>,
}

/// Reads every run directory under `runs_dir` (one holding `config.ron` or
/// `events.jsonl`; other folders, such as reports, are not runs) and the waiting
/// entries of its `queue.ron`. Fails only when `runs_dir` itself cannot be read.
pub fn scan(runs_dir: &Path) -> Result<Listing, RunError> {
    let entries = std::fs::read_dir(runs_dir).map_err(|e| RunError::io(runs_dir, e))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .filter(|path| path.join(CONFIG_FILE).is_file() || path.join(EVENTS_FILE).exists())
        .collect();
    dirs.sort();
    let mut listing = Listing {
        runs: dirs.iter().map(|dir| overview(dir)).collect(),
        notes: Vec::new(),
    };
    let queue = RunQueue::in_dir(runs_dir);
    if queue.path().exists() {
        match queue.read() {
            Ok(entries) => listing.runs.extend(entries.waiting().map(|entry| {
                RunOverview::empty(
                    format!("queued #{}", entry.id),
                    None,
                    entry.model().to_string(),
                    RunState::Queued,
                )
            })),
            Err(error) => listing
                .notes
                .push(format!("queued runs not shown: {error}")),
        }
    }
    Ok(listing)
}

/// The overview of one run directory; never fails (an unreadable run says so).
pub fn overview(path: &Path) -> RunOverview {
    let run = RunDir::unchecked(path);
    let id = run.id();
    let live = live_engine(&run).is_ok();
    let (events, skipped) = match read_events_leniently(&run.events_path()) {
        Ok(read) => read,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => (Vec::new(), 0),
        Err(error) => {
            let mut row = RunOverview::empty(
                id.clone(),
                Some(path.to_path_buf()),
                model_from_id(&id),
                RunState::Unreadable,
            );
            row.note = Some(format!("{EVENTS_FILE}: {error}"));
            return row;
        }
    };
    let mut row = fold(&id, path, &events, live);
    if row.history.is_empty() {
        row.history = metrics_history(&run.metrics_path());
        if let Some(last) = row.history.last() {
            row.epoch = row.epoch.max(last.epoch);
        }
    }
    if row.best_val_accuracy.is_none() {
        row.best_val_accuracy = row
            .history
            .iter()
            .map(|point| point.val_accuracy)
            .filter(|value| value.is_finite())
            .reduce(f64::max);
    }
    if row.test_accuracy.is_none() || row.best_val_accuracy.is_none() {
        if let Some((best, test)) = summary_scores(&run.summary_path()) {
            row.best_val_accuracy = row.best_val_accuracy.or(best);
            row.test_accuracy = row.test_accuracy.or(test);
        }
    }
    if skipped > 0 {
        let what = format!("{skipped} unreadable line(s) in {EVENTS_FILE} skipped");
        row.note = Some(match row.note.take() {
            Some(note) => format!("{note}; {what}"),
            None => what,
        });
    }
    row
}

/// Every line that is an event; also how many non-empty lines were not.
fn read_events_leniently(path: &Path) -> std::io::Result<(Vec<Event>, usize)> {
    let bytes = std::fs::read(path)?;
    let mut events = Vec::new();
    let mut skipped = 0;
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let last = lines.len().saturating_sub(1);
    for (index, line) in lines.into_iter().enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice(line) {
            Ok(event) => events.push(event),
            // A torn last line is a write in progress (or a crash mid-write), not damage.
            Err(_) if index == last => {}
            Err(_) => skipped += 1,
        }
    }
    Ok((events, skipped))
}

/// The run's row from its events. A resumed run starts over at its latest
/// `RunStarted`: what ended an earlier process no longer counts.
fn fold(id: &str, path: &Path, events: &[Event], live: bool) -> RunOverview {
    let mut row = RunOverview::empty(
        id.to_string(),
        Some(path.to_path_buf()),
        model_from_id(id),
        RunState::Crashed,
    );
    let mut history: BTreeMap<usize, EpochPoint> = BTreeMap::new();
    let mut seconds: BTreeMap<usize, f64> = BTreeMap::new();
    let mut paused = false;
    let mut ended: Option<RunState> = None;
    let mut diverged = false;
    let mut progress_epoch = 0;
    let mut progress_elapsed = None;
    let mut finished_seconds = None;
    let mut best: Option<f64> = None;
    for event in events {
        match event {
            Event::RunStarted { model, epochs, .. } => {
                row.model = model.clone();
                row.epochs = *epochs;
                ended = None;
                diverged = false;
                paused = false;
                finished_seconds = None;
                progress_elapsed = None;
                row.note = None;
            }
            Event::SchedulePlan { epochs, .. } if *epochs > 0 => row.epochs = *epochs,
            Event::Progress {
                epoch,
                images_per_second,
                elapsed_seconds,
                ..
            } => {
                progress_epoch = *epoch;
                progress_elapsed = Some(*elapsed_seconds);
                if live {
                    row.images_per_second = Some(*images_per_second);
                }
            }
            Event::EpochFinished(metrics) => {
                history.insert(
                    metrics.epoch,
                    EpochPoint {
                        epoch: metrics.epoch,
                        val_accuracy: metrics.val_accuracy,
                        train_loss: metrics.train_loss,
                    },
                );
                seconds.insert(metrics.epoch, metrics.seconds);
                row.images_per_second = Some(metrics.images_per_second);
                if metrics.val_accuracy.is_finite() {
                    best = Some(best.map_or(metrics.val_accuracy, |b| b.max(metrics.val_accuracy)));
                }
            }
            Event::NewBest { val_accuracy, .. } if val_accuracy.is_finite() => {
                best = Some(best.map_or(*val_accuracy, |b| b.max(*val_accuracy)));
            }
            Event::TestEvaluated { accuracy, .. } => row.test_accuracy = Some(*accuracy),
            Event::Paused { .. } => paused = true,
            Event::Resumed => paused = false,
            Event::RunFinished {
                best_val_accuracy,
                test_accuracy,
                stopped,
                seconds,
                ..
            } => {
                ended = Some(if *stopped {
                    RunState::Stopped
                } else {
                    RunState::Finished
                });
                // The run's own figure: with `--val-tta` other than `--tta`, the best
                // checkpoint evaluated again, which may be below an epoch's.
                if best_val_accuracy.is_finite() {
                    best = Some(*best_val_accuracy);
                }
                row.test_accuracy = test_accuracy.or(row.test_accuracy);
                finished_seconds = Some(*seconds);
            }
            Event::RunFailed { error } => {
                ended = Some(RunState::Failed);
                // A divergence's own message says more (where, what to resume from).
                if !diverged {
                    row.note = Some(error.clone());
                }
            }
            Event::Diverged { message, .. } => {
                diverged = true;
                row.note = Some(message.clone());
            }
            _ => {}
        }
    }
    row.history = history.into_values().collect();
    row.best_val_accuracy = best;
    let last_finished = row.history.last().map_or(0, |point| point.epoch);
    row.state = match (diverged, live, ended) {
        (true, _, _) => RunState::Diverged,
        (false, true, _) if paused => RunState::Paused,
        (false, true, _) => RunState::Running,
        (false, false, Some(state)) => state,
        (false, false, None) => RunState::Crashed,
    };
    row.epoch = if row.state.is_live() {
        last_finished.max(progress_epoch)
    } else {
        last_finished
    };
    let epochs_total: f64 = seconds.values().sum();
    row.elapsed_seconds = finished_seconds
        .or(progress_elapsed)
        .or((!seconds.is_empty()).then_some(epochs_total));
    row
}

/// The model from a directory name `<date>-<time>-<model>[-N]`.
fn model_from_id(id: &str) -> String {
    let mut parts = id.splitn(3, '-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(_), Some(_), Some(rest)) => rest
            .rsplit_once('-')
            .filter(|(_, n)| n.parse::<u32>().is_ok())
            .map_or(rest, |(model, _)| model)
            .to_string(),
        _ => "?".to_string(),
    }
}

/// The epochs of `metrics.csv` (empty when missing or unreadable).
fn metrics_history(path: &Path) -> Vec<EpochPoint> {
    let Ok(mut reader) = csv::Reader::from_path(path) else {
        return Vec::new();
    };
    let Ok(header) = reader.headers().cloned() else {
        return Vec::new();
    };
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(epoch), Some(val), Some(loss)) = (
        column("epoch"),
        column("val_accuracy"),
        column("train_loss"),
    ) else {
        return Vec::new();
    };
    let number = |record: &csv::StringRecord, index: usize| -> Option<f64> {
        record.get(index)?.trim().parse().ok()
    };
    reader
        .records()
        .filter_map(|record| record.ok())
        .filter_map(|record| {
            Some(EpochPoint {
                epoch: record.get(epoch)?.trim().parse().ok()?,
                val_accuracy: number(&record, val)?,
                train_loss: number(&record, loss)?,
            })
        })
        .collect()
}

/// (best val accuracy, test accuracy) from `summary.json`, if it reads.
fn summary_scores(path: &Path) -> Option<(Option<f64>, Option<f64>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).ok()?;
    let field = |name: &str| value.get(name).and_then(serde_json::Value::as_f64);
    Some((field("best_val_accuracy"), field("test_accuracy")))
}

#[cfg(test)]
#[path = "listing_tests.rs"]
mod tests;
