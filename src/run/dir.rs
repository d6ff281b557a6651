//! The run directory is the contract between the engine and every viewer:
//! anything shown can be rebuilt from `runs/<id>/`.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::RunError;
use super::events::{EpochMetrics, Event};
use super::storage::{disk, Disk, RunFile, Storage};
use crate::data::EMOTIONS;

pub const CONFIG_FILE: &str = "config.ron";
pub const EVENTS_FILE: &str = "events.jsonl";
pub const METRICS_FILE: &str = "metrics.csv";
pub const SUMMARY_FILE: &str = "summary.json";
pub const CHECKPOINT_DIR: &str = "checkpoints";

#[derive(Clone, Debug)]
pub struct RunDir {
    path: PathBuf,
    storage: Arc<dyn Storage>,
}

impl RunDir {
    /// Creates `<runs_dir>/<YYYYmmdd-HHMMSS>-<model>/`, adding `-2`, `-3`… if taken.
    pub fn create(runs_dir: &Path, model: &str) -> Result<Self, RunError> {
        let stamp = chrono::Local::now().format("%Y%m%d-%H%M%S");
        let base = format!("{stamp}-{model}");
        fs::create_dir_all(runs_dir).map_err(|e| RunError::io(runs_dir, e))?;
        for attempt in 1.. {
            let name = match attempt {
                1 => base.clone(),
                n => format!("{base}-{n}"),
            };
            let path = runs_dir.join(name);
            match fs::create_dir(&path) {
                Ok(()) => {
                    let dir = Self {
                        path,
                        storage: disk(),
                    };
                    fs::create_dir_all(dir.checkpoint_dir())
                        .map_err(|e| RunError::io(&dir.checkpoint_dir(), e))?;
                    return Ok(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(RunError::io(&path, e)),
            }
        }
        unreachable!("the attempt counter is unbounded")
    }

    /// Opens an existing run directory (one with a `config.ron`).
    pub fn open(path: &Path) -> Result<Self, RunError> {
        let dir = Self {
            path: path.to_path_buf(),
            storage: disk(),
        };
        if !dir.config_path().is_file() {
            return Err(RunError::NotARun(path.to_path_buf()));
        }
        Ok(dir)
    }

    /// A directory that may be a run, not checked (listing reads what is there).
    pub(super) fn unchecked(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            storage: disk(),
        }
    }

    /// The same directory, written through `storage` (tests inject failures here).
    pub fn with_storage(self, storage: Arc<dyn Storage>) -> Self {
        Self { storage, ..self }
    }

    /// Replaces one of the run's files whole (see [`Storage::replace`]).
    pub fn replace_file(&self, file: RunFile, bytes: &[u8]) -> Result<(), RunError> {
        let path = file.path(self);
        if let Some(dir) = path.parent().filter(|dir| !dir.is_dir()) {
            fs::create_dir_all(dir).map_err(|e| RunError::io(dir, e))?;
        }
        self.storage
            .replace(&path, bytes)
            .map_err(|e| RunError::io(&path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory name, e.g. `20261128-142501-resnet18`.
    pub fn id(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }

    pub fn config_path(&self) -> PathBuf {
        self.path.join(CONFIG_FILE)
    }

    pub fn events_path(&self) -> PathBuf {
        self.path.join(EVENTS_FILE)
    }

    pub fn metrics_path(&self) -> PathBuf {
        self.path.join(METRICS_FILE)
    }

    pub fn summary_path(&self) -> PathBuf {
        self.path.join(SUMMARY_FILE)
    }

    pub fn checkpoint_dir(&self) -> PathBuf {
        self.path.join(CHECKPOINT_DIR)
    }

    pub fn checkpoint_path(&self, kind: super::events::CheckpointKind) -> PathBuf {
        let name = match kind {
            super::events::CheckpointKind::Last => "last.ckpt",
            super::events::CheckpointKind::Best => "best.ckpt",
        };
        self.checkpoint_dir().join(name)
    }

    /// Reads every event recorded so far. A torn last line (a crash mid-write) is ignored.
    pub fn read_events(&self) -> Result<Vec<Event>, RunError> {
        let path = self.events_path();
        let file = File::open(&path).map_err(|e| RunError::io(&path, e))?;
        let mut events = Vec::new();
        for line in BufReader::new(file).lines() {
            let line = line.map_err(|e| RunError::io(&path, e))?;
            if let Ok(event) = serde_json::from_str(&line) {
                events.push(event);
            }
        }
        Ok(events)
    }

    /// Rewrites `metrics.csv` from the epoch history (a resumed run keeps one row per epoch).
    pub fn write_metrics(&self, history: &[EpochMetrics]) -> Result<(), RunError> {
        let path = self.metrics_path();
        let text = metrics_csv(history).map_err(|e| RunError::bad_file(&path, e))?;
        self.replace_file(RunFile::Metrics, &text)
    }
}

/// `metrics.csv`: one row per epoch, the recall columns in label order.
pub fn metrics_csv(history: &[EpochMetrics]) -> Result<Vec<u8>, csv::Error> {
    let mut header: Vec<String> = [
        "epoch",
        "lr",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "val_macro_f1",
    ]
    .map(String::from)
    .to_vec();
    header.extend(
        EMOTIONS
            .iter()
            .map(|name| format!("val_recall_{}", name.to_lowercase())),
    );
    header.extend(["seconds", "images_per_second"].map(String::from));
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(&header)?;
    for m in history {
        let mut row = vec![
            m.epoch.to_string(),
            format!("{:.6e}", m.lr),
            format!("{:.5}", m.train_loss),
            format!("{:.5}", m.train_accuracy),
            format!("{:.5}", m.val_loss),
            format!("{:.5}", m.val_accuracy),
            format!("{:.5}", m.val_macro_f1),
        ];
        row.extend(m.val_recall.iter().map(|recall| format!("{recall:.5}")));
        row.push(format!("{:.2}", m.seconds));
        row.push(format!("{:.1}", m.images_per_second));
        writer.write_record(&row)?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}

/// Append-only `events.jsonl` writer. Each event is one whole line, written as it
/// happens, so a viewer tailing the file (or a crash) sees every complete line.
/// Lines the disk refused are held, in order, and go first at the next append.
pub struct EventLog {
    path: PathBuf,
    storage: Arc<dyn Storage>,
    held: Vec<u8>,
    held_lines: usize,
}

impl EventLog {
    /// Opens the log for appending. A torn last line (a crash mid-write) is closed
    /// with a newline, so that it does not swallow the next event.
    pub fn open(run: &RunDir) -> Result<Self, RunError> {
        let path = run.events_path();
        let torn = ends_without_newline(&path).map_err(|e| RunError::io(&path, e))?;
        let mut log = Self {
            path,
            storage: run.storage.clone(),
            held: Vec::new(),
            held_lines: 0,
        };
        if torn {
            log.held.push(b'\n');
        }
        Ok(log)
    }

    /// Writes the held lines and then `event`; on failure all of them stay held.
    pub fn append(&mut self, event: &Event) -> Result<(), RunError> {
        let line = serde_json::to_string(event).map_err(RunError::Json)?;
        self.held.extend_from_slice(line.as_bytes());
        self.held.push(b'\n');
        self.held_lines += 1;
        self.flush()
    }

    /// Writes the held lines, if any.
    pub fn flush(&mut self) -> Result<(), RunError> {
        if self.held.is_empty() {
            return Ok(());
        }
        self.storage
            .append(&self.path, &self.held)
            .map_err(|e| RunError::io(&self.path, e))?;
        self.held.clear();
        self.held_lines = 0;
        Ok(())
    }

    /// Events the disk has not taken yet.
    pub fn held_lines(&self) -> usize {
        self.held_lines
    }
}

fn ends_without_newline(path: &Path) -> std::io::Result<bool> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it into
/// place, so a reader never sees a half-written file (and a failure leaves the old one).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    Disk.replace(path, bytes).map_err(|e| RunError::io(path, e))
}

/// A JSON file of a run, `None` when it is not there (yet).
pub fn read_json_if_present<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Option<T>, RunError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RunError::bad_file(path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RunError::io(path, e)),
    }
}
