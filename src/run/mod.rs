//! Run directories, the event/command vocabulary (and the words it is made of:
//! schedules, configuration overrides, number formats), the control channel of a live
//! run, and following `events.jsonl` as it grows.

pub mod control;
mod dir;
mod error;
mod events;
pub mod faces;
pub mod format;
pub mod listing;
mod lock;
pub mod nonfinite;
pub mod overrides;
mod predictions;
pub mod queue;
pub mod schedule;
mod storage;
mod study;
mod tail;

pub use control::{ControlError, ControlListener};
pub use dir::{
    metrics_csv, read_json_if_present, write_atomic, EventLog, RunDir, CHECKPOINT_DIR, CONFIG_FILE,
    EVENTS_FILE, METRICS_FILE, SUMMARY_FILE,
};
pub use error::RunError;
pub use events::{CheckpointKind, Command, EpochMetrics, Event};
pub use faces::{ValidationFaces, FACES_FILE};
pub use lock::{RunLock, RUN_LOCK_FILE};
pub use predictions::{PredictedSplit, Predictions, PREDICTIONS_DIR};
pub use queue::{QueueEntries, QueueState, QueuedRun, RunQueue, QUEUE_FILE};
pub use storage::{Disk, RunFile, Storage};
pub use study::Study;
pub use tail::EventTail;

/// The thread that trains. A session catches its panics and reports them as the
/// run's failure, so the dashboard's panic hook leaves the terminal to it.
pub const ENGINE_THREAD: &str = "fer-engine";
