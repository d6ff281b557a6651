//! `RUN/train.lock`: an exclusive lock held by the process that trains the run,
//! from the moment it claims the run until the run ends. Queue workers claim
//! entries under the queue's lock, but a claimed run writes its `engine.pid` only
//! once its data is loaded; the run lock closes that gap, so another worker never
//! mistakes a run that is starting for an interrupted one. The operating system
//! releases the lock when its holder dies, which is what marks a crashed run as
//! free to resume.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::dir::RunDir;
use super::error::RunError;

pub const RUN_LOCK_FILE: &str = "train.lock";

/// Opens (creating, never truncating) a file that is only ever locked, not read.
pub(super) fn open_lock_file(path: &Path) -> Result<File, RunError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| RunError::io(path, e))
}

/// The run lock, held until dropped (or the process ends).
#[derive(Debug)]
pub struct RunLock {
    // Never read: holding the open file is holding the lock.
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Takes the lock of `run` unless another process, or another handle in this
    /// one, holds it: then `Ok(None)`. Never waits.
    pub fn try_acquire(run: &RunDir) -> Result<Option<Self>, RunError> {
        let path = lock_path(run);
        let file = open_lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file, path })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(RunError::io(&path, e)),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn lock_path(run: &RunDir) -> PathBuf {
    run.path().join(RUN_LOCK_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_free_again_once_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path(), "resnet8").unwrap();
        let first = RunLock::try_acquire(&run).unwrap().expect("free");
        assert!(first.path().ends_with(RUN_LOCK_FILE));
        assert!(RunLock::try_acquire(&run).unwrap().is_none(), "held");
        drop(first);
        assert!(RunLock::try_acquire(&run).unwrap().is_some(), "free again");
    }
}
