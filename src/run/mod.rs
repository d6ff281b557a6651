//! Run directories, the event/command vocabulary, and the checkpoint container.

mod dir;
mod error;
mod events;

pub use dir::{write_atomic, EventLog, RunDir, CHECKPOINT_DIR, CONFIG_FILE, EVENTS_FILE, METRICS_FILE, SUMMARY_FILE};
pub use error::RunError;
pub use events::{CheckpointKind, Command, EpochMetrics, Event};
