//! Following `events.jsonl` while the engine appends to it.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::error::RunError;
use super::events::Event;

/// Reads the complete lines appended since the last call. A last line without
/// its newline (the writer is mid-line) is kept and completed on a later call,
/// never dropped; a missing file reads as empty (the run has not started yet).
#[derive(Debug)]
pub struct EventTail {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
    skipped: usize,
}

impl EventTail {
    /// Follows `path` from its beginning.
    pub fn new(path: &Path) -> Self {
        Self::from_offset(path, 0)
    }

    /// Follows `path` from byte `offset` (e.g. the length it had before a command was sent).
    pub fn from_offset(path: &Path, offset: u64) -> Self {
        Self {
            path: path.to_path_buf(),
            offset,
            partial: Vec::new(),
            skipped: 0,
        }
    }

    /// The current length of the file, 0 if there is none yet.
    pub fn file_len(path: &Path) -> u64 {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }

    /// Complete lines that were not events (a newer writer, a damaged file).
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The events appended since the last call, oldest first.
    pub fn read_new(&mut self) -> Result<Vec<Event>, RunError> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RunError::io(&self.path, e)),
        };
        file.seek(SeekFrom::Start(self.offset))
            .map_err(|e| RunError::io(&self.path, e))?;
        let mut bytes = Vec::new();
        let read = file
            .read_to_end(&mut bytes)
            .map_err(|e| RunError::io(&self.path, e))?;
        self.offset += read as u64;
        self.partial.extend_from_slice(&bytes);
        let Some(last_newline) = self.partial.iter().rposition(|&b| b == b'\n') else {
            return Ok(Vec::new());
        };
        let rest = self.partial.split_off(last_newline + 1);
        let complete = std::mem::replace(&mut self.partial, rest);
        let mut events = Vec::new();
        for line in complete
            .split(|&b| b == b'\n')
            .filter(|line| !line.is_empty())
        {
            match serde_json::from_slice(line) {
                Ok(event) => events.push(event),
                Err(_) => self.skipped += 1,
            }
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn line(event: &Event) -> String {
        format!("{}\n", serde_json::to_string(event).unwrap_or_default())
    }

    #[test]
    fn a_torn_last_line_is_completed_on_the_next_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut tail = EventTail::new(&path);
        assert!(
            tail.read_new().unwrap().is_empty(),
            "no file yet reads as empty"
        );

        let first = Event::Resumed;
        let second = Event::Warning {
            message: "disk nearly full".into(),
        };
        let second_line = line(&second);
        let (head, rest) = second_line.split_at(10);
        let mut file = std::fs::File::create(&path).unwrap();
        write!(file, "{}{head}", line(&first)).unwrap();
        assert_eq!(tail.read_new().unwrap(), vec![first]);
        assert!(
            tail.read_new().unwrap().is_empty(),
            "half a line is not an event yet"
        );
        write!(file, "{rest}").unwrap();
        assert_eq!(tail.read_new().unwrap(), vec![second]);
        writeln!(file, "not json").unwrap();
        assert!(tail.read_new().unwrap().is_empty());
        assert_eq!(tail.skipped(), 1);
    }

    #[test]
    fn from_offset_skips_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(&path, line(&Event::Resumed)).unwrap();
        let mut tail = EventTail::from_offset(&path, EventTail::file_len(&path));
        assert!(tail.read_new().unwrap().is_empty());
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        write!(file, "{}", line(&Event::Paused { epoch: 1, step: 2 })).unwrap();
        assert_eq!(
            tail.read_new().unwrap(),
            vec![Event::Paused { epoch: 1, step: 2 }]
        );
    }
}
