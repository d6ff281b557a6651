//! `runs/queue.ron`: the runs waiting to be trained, the ones started and the ones
//! done. `fer queue`, `fer study`, the dashboard's `n` key (through the engine) and
//! every process that runs the queue share this one file; each change happens
//! under an exclusive lock on `queue.ron.lock` and is written atomically, so two
//! processes never claim the same entry or lose each other's additions.

use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::dir::write_atomic;
use super::lock::open_lock_file;
use super::overrides::{ron_options, ron_pretty, ConfigOverrides};
use super::RunError;

pub const QUEUE_FILE: &str = "queue.ron";

/// One queued run: a model and its settings over a base configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueuedRun {
    /// Unique within the file and never reused.
    pub id: u64,
    /// A `config.ron` the settings apply over (the dashboard's `n` names the current
    /// run's, to train the next model "with the same settings"); else the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<PathBuf>,
    pub overrides: ConfigOverrides,
    /// The study that queued it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<String>,
    #[serde(default)]
    pub state: QueueState,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum QueueState {
    #[default]
    Waiting,
    /// Claimed by a process that trains it in `run`. Still `Started` after a crash
    /// or a stop: the next `fer queue run` resumes it from its last checkpoint.
    Started {
        run: PathBuf,
    },
    Done {
        run: PathBuf,
    },
}

impl QueuedRun {
    /// The model name (the defaults' when the entry names none).
    pub fn model(&self) -> &str {
        self.overrides.model.as_deref().unwrap_or("(default model)")
    }

    /// The run directory, once started.
    pub fn run_dir(&self) -> Option<&Path> {
        match &self.state {
            QueueState::Waiting => None,
            QueueState::Started { run } | QueueState::Done { run } => Some(run),
        }
    }

    pub fn is_waiting(&self) -> bool {
        self.state == QueueState::Waiting
    }

    fn belongs_to(&self, study: Option<&str>) -> bool {
        study.is_none_or(|name| self.study.as_deref() == Some(name))
    }
}

/// The contents of `queue.ron`, in the order the runs are trained.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueEntries {
    pub next_id: u64,
    pub runs: Vec<QueuedRun>,
}

impl QueueEntries {
    /// Appends a waiting run and returns its id.
    pub fn push(
        &mut self,
        base: Option<PathBuf>,
        overrides: ConfigOverrides,
        study: Option<String>,
    ) -> u64 {
        self.next_id = self.next_id.max(1);
        let id = self.next_id;
        self.next_id += 1;
        self.runs.push(QueuedRun {
            id,
            base,
            overrides,
            study,
            state: QueueState::Waiting,
        });
        id
    }

    pub fn waiting(&self) -> impl Iterator<Item = &QueuedRun> {
        self.runs.iter().filter(|run| run.is_waiting())
    }

    /// The model names of the waiting runs, as the dashboard's queue pane lists them.
    pub fn waiting_models(&self) -> Vec<String> {
        self.waiting().map(|run| run.model().to_string()).collect()
    }

    /// Removes the waiting run at `position` (0-based, counting waiting runs only).
    pub fn remove_waiting(&mut self, position: usize) -> Option<QueuedRun> {
        let index = self
            .runs
            .iter()
            .enumerate()
            .filter(|(_, run)| run.is_waiting())
            .nth(position)
            .map(|(index, _)| index)?;
        Some(self.runs.remove(index))
    }

    /// The first waiting run (of `study`, if given).
    pub fn next_waiting(&self, study: Option<&str>) -> Option<&QueuedRun> {
        self.waiting().find(|run| run.belongs_to(study))
    }

    /// Started runs (of `study`, if given), oldest first: candidates for resuming.
    pub fn started<'a>(&'a self, study: Option<&'a str>) -> impl Iterator<Item = &'a QueuedRun> {
        self.runs
            .iter()
            .filter(move |run| matches!(run.state, QueueState::Started { .. }))
            .filter(move |run| run.belongs_to(study))
    }

    pub fn of_study<'a>(&'a self, study: &'a str) -> impl Iterator<Item = &'a QueuedRun> {
        self.runs
            .iter()
            .filter(move |run| run.belongs_to(Some(study)))
    }

    pub fn set_state(&mut self, id: u64, state: QueueState) -> bool {
        match self.runs.iter_mut().find(|run| run.id == id) {
            Some(run) => {
                run.state = state;
                true
            }
            None => false,
        }
    }
}

/// The queue file of a runs directory.
#[derive(Clone, Debug, PartialEq)]
pub struct RunQueue {
    path: PathBuf,
}

impl RunQueue {
    pub fn in_dir(runs_dir: &Path) -> Self {
        Self {
            path: runs_dir.join(QUEUE_FILE),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entries now (none when there is no file yet).
    pub fn read(&self) -> Result<QueueEntries, RunError> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => ron_options()
                .from_str(&text)
                .map_err(|e| RunError::bad_file(&self.path, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(QueueEntries::default()),
            Err(e) => Err(RunError::io(&self.path, e)),
        }
    }

    /// Reads, changes and writes the entries while holding the lock. The change
    /// may fail; then nothing is written.
    pub fn update<T, E: From<RunError>>(
        &self,
        change: impl FnOnce(&mut QueueEntries) -> Result<T, E>,
    ) -> Result<T, E> {
        let _lock = self.lock()?;
        let mut entries = self.read()?;
        let before = entries.clone();
        let result = change(&mut entries)?;
        if entries != before {
            let text = ron::ser::to_string_pretty(&entries, ron_pretty())
                .map_err(|e| RunError::bad_file(&self.path, e))?;
            write_atomic(&self.path, text.as_bytes())?;
        }
        Ok(result)
    }

    /// An exclusive lock, released when the file closes (also when the process dies).
    fn lock(&self) -> Result<File, RunError> {
        let mut name = self.path.as_os_str().to_os_string();
        name.push(".lock");
        let path = PathBuf::from(name);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| RunError::io(dir, e))?;
        }
        let file = open_lock_file(&path)?;
        file.lock().map_err(|e| RunError::io(&path, e))?;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str) -> ConfigOverrides {
        ConfigOverrides {
            model: Some(name.into()),
            ..ConfigOverrides::default()
        }
    }

    #[test]
    fn entries_keep_their_order_ids_and_states_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let queue = RunQueue::in_dir(dir.path());
        assert_eq!(queue.read().unwrap(), QueueEntries::default());
        queue
            .update(|q| {
                q.push(None, model("resnet20"), None);
                q.push(None, model("resnet32"), Some("mini".into()));
                q.push(None, model("vgg19"), None);
                Ok::<_, RunError>(())
            })
            .unwrap();
        let removed = queue
            .update(|q| Ok::<_, RunError>(q.remove_waiting(0)))
            .unwrap();
        assert_eq!(removed.map(|r| r.id), Some(1));
        queue
            .update(|q| {
                q.push(None, model("resnet56"), None);
                q.set_state(
                    2,
                    QueueState::Started {
                        run: "runs/a".into(),
                    },
                );
                Ok::<_, RunError>(())
            })
            .unwrap();
        let entries = queue.read().unwrap();
        assert_eq!(entries.waiting_models(), vec!["vgg19", "resnet56"]);
        let ids: Vec<u64> = entries.runs.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![2, 3, 4], "ids are never reused");
        assert_eq!(entries.started(Some("mini")).count(), 1);
        assert_eq!(entries.next_waiting(Some("mini")), None);
        assert_eq!(entries.next_waiting(None).map(|r| r.id), Some(3));
    }

    #[test]
    fn a_failed_change_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let queue = RunQueue::in_dir(dir.path());
        let result: Result<(), RunError> = queue.update(|q| {
            q.push(None, model("resnet20"), None);
            Err(RunError::bad_file(Path::new("x"), "refused"))
        });
        assert!(result.is_err());
        assert!(!queue.path().exists());
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let queue = RunQueue::in_dir(dir.path());
        std::fs::write(queue.path(), "(runs: [oops").unwrap();
        let error = queue.read().unwrap_err().to_string();
        assert!(error.contains("queue.ron"), "{error}");
    }
}
