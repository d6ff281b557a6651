//! The run directory is the contract between the engine and every viewer:
//! anything shown can be rebuilt from `runs/<id>/`.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use super::error::RunError;
use super::events::{EpochMetrics, Event};
use crate::data::EMOTIONS;

pub const CONFIG_FILE: &str = "config.ron";
pub const EVENTS_FILE: &str = "events.jsonl";
pub const METRICS_FILE: &str = "metrics.csv";
pub const SUMMARY_FILE: &str = "summary.json";
pub const CHECKPOINT_DIR: &str = "checkpoints";

#[derive(Clone, Debug)]
pub struct RunDir {
    path: PathBuf,
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
                    let dir = Self { path };
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
        };
        if !dir.config_path().is_file() {
            return Err(RunError::NotARun(path.to_path_buf()));
        }
        Ok(dir)
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
        let mut text =
            String::from("epoch,lr,train_loss,train_accuracy,val_loss,val_accuracy,val_macro_f1");
        for name in EMOTIONS {
            text.push_str(&format!(",val_recall_{}", name.to_lowercase()));
        }
        text.push_str(",seconds,images_per_second\n");
        for m in history {
            text.push_str(&format!(
                "{},{:.6e},{:.5},{:.5},{:.5},{:.5},{:.5}",
                m.epoch,
                m.lr,
                m.train_loss,
                m.train_accuracy,
                m.val_loss,
                m.val_accuracy,
                m.val_macro_f1
            ));
            for recall in &m.val_recall {
                text.push_str(&format!(",{recall:.5}"));
            }
            text.push_str(&format!(",{:.2},{:.1}\n", m.seconds, m.images_per_second));
        }
        write_atomic(&self.metrics_path(), text.as_bytes())
    }
}

/// Append-only `events.jsonl` writer; each event is flushed so a viewer tailing
/// the file (or a crash) sees every complete line.
pub struct EventLog {
    file: File,
    path: PathBuf,
}

impl EventLog {
    pub fn open(run: &RunDir) -> Result<Self, RunError> {
        let path = run.events_path();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| RunError::io(&path, e))?;
        Ok(Self { file, path })
    }

    pub fn append(&mut self, event: &Event) -> Result<(), RunError> {
        let mut line = serde_json::to_string(event).map_err(RunError::Json)?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| RunError::io(&self.path, e))
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it into
/// place, so a reader never sees a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut file = File::create(&tmp).map_err(|e| RunError::io(&tmp, e))?;
    file.write_all(bytes).map_err(|e| RunError::io(&tmp, e))?;
    file.sync_all().map_err(|e| RunError::io(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| RunError::io(path, e))
}
