//! How a run's files reach the disk. The engine writes through a `RunDir`'s
//! `Storage`, so that a test can make any write fail on demand, as a full disk does.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::events::CheckpointKind;
use super::predictions::PredictedSplit;
use super::RunDir;

/// The two ways a run writes a file.
pub trait Storage: Send + Sync + fmt::Debug {
    /// Replaces the file whole: readers see the old content or the new, never a mix,
    /// and a failure leaves the old content and no temporary file behind.
    fn replace(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Appends all of `bytes` or nothing (a write that fails half-way is cut back).
    fn append(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
}

/// The file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct Disk;

impl Storage for Disk {
    fn replace(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let tmp = temporary_beside(path);
        let written = File::create(&tmp).and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
        let renamed = written.and_then(|()| fs::rename(&tmp, path));
        if renamed.is_err() {
            // Already gone when creating it failed; nothing more to do if this fails.
            let _ = fs::remove_file(&tmp);
        }
        renamed
    }

    fn append(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        let length = file.metadata()?.len();
        let written = file.write_all(bytes);
        if written.is_err() {
            let _ = file.set_len(length);
        }
        written
    }
}

pub(super) fn temporary_beside(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// The default storage every `RunDir` starts with.
pub(super) fn disk() -> Arc<dyn Storage> {
    Arc::new(Disk)
}

/// The files a run writes while it trains, by what they hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunFile {
    Checkpoint(CheckpointKind),
    Metrics,
    Events,
    Predictions(PredictedSplit),
    Summary,
    Faces,
}

impl RunFile {
    pub const ALL: [RunFile; 8] = [
        RunFile::Checkpoint(CheckpointKind::Last),
        RunFile::Checkpoint(CheckpointKind::Best),
        RunFile::Metrics,
        RunFile::Events,
        RunFile::Predictions(PredictedSplit::Val),
        RunFile::Predictions(PredictedSplit::Test),
        RunFile::Summary,
        RunFile::Faces,
    ];

    pub fn path(self, run: &RunDir) -> PathBuf {
        match self {
            RunFile::Checkpoint(kind) => run.checkpoint_path(kind),
            RunFile::Metrics => run.metrics_path(),
            RunFile::Events => run.events_path(),
            RunFile::Predictions(split) => run.predictions_path(split),
            RunFile::Summary => run.summary_path(),
            RunFile::Faces => run.faces_path(),
        }
    }
}

/// The path inside the run directory, as messages name the file.
impl fmt::Display for RunFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            RunFile::Checkpoint(CheckpointKind::Last) => "checkpoints/last.ckpt",
            RunFile::Checkpoint(CheckpointKind::Best) => "checkpoints/best.ckpt",
            RunFile::Metrics => super::METRICS_FILE,
            RunFile::Events => super::EVENTS_FILE,
            RunFile::Predictions(PredictedSplit::Val) => "predictions/val.csv",
            RunFile::Predictions(PredictedSplit::Test) => "predictions/test.csv",
            RunFile::Summary => super::SUMMARY_FILE,
            RunFile::Faces => super::FACES_FILE,
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_replace_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        // Renaming a file over a directory that holds something fails after the
        // temporary file was written.
        let path = dir.path().join("occupied");
        fs::create_dir_all(path.join("inside")).unwrap();
        assert!(Disk.replace(&path, b"new").is_err());
        assert!(!temporary_beside(&path).exists());
        assert!(path.join("inside").is_dir());
        let file = dir.path().join("a.txt");
        Disk.replace(&file, b"old").unwrap();
        Disk.replace(&file, b"new").unwrap();
        assert_eq!(fs::read(&file).unwrap(), b"new");
        assert!(!temporary_beside(&file).exists());
    }

    #[test]
    fn appends_add_to_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        Disk.append(&path, b"one\n").unwrap();
        Disk.append(&path, b"two\n").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one\ntwo\n");
    }

    #[test]
    fn every_file_is_named_inside_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::create(dir.path(), "resnet8").unwrap();
        for file in RunFile::ALL {
            let path = file.path(&run);
            assert!(path.starts_with(run.path()));
            assert!(path.ends_with(file.to_string()), "{file}");
        }
    }
}
