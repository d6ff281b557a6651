//! Files the disk refuses never end a run. A whole file (checkpoint, metrics.csv,
//! predictions, summary.json) that fails is held in memory, newest content only,
//! and retried at the next epoch end, every `RETRY_EVERY` while training, on a
//! checkpoint command, and at the end of the run for `final_write_retry`. The event
//! log holds its refused lines itself and writes them first, in order. Each file's
//! failure is reported once, and again when it is written.

use std::time::{Duration, Instant};

use burn::tensor::backend::AutodiffBackend;

use super::Engine;
use crate::run::{CheckpointKind, Command, Event, RunError, RunFile};
use crate::train::TrainError;

/// How often training retries held files between epoch ends.
const RETRY_EVERY: Duration = Duration::from_secs(10);
/// How often the end of a run retries while it waits for the disk.
const FINAL_RETRY_EVERY: Duration = Duration::from_secs(2);

/// A whole file the disk refused.
struct HeldFile {
    file: RunFile,
    bytes: Vec<u8>,
    /// What it holds, for the account of what was lost ("epoch 3").
    content: String,
    /// Sent once it is written (`CheckpointSaved`).
    announce: Option<Event>,
}

#[derive(Default)]
pub(super) struct Writes {
    held: Vec<HeldFile>,
    /// Files whose last write failed, with the reason (reported once).
    failing: Vec<(RunFile, String)>,
    last_retry: Option<Instant>,
}

impl<B: AutodiffBackend> Engine<B> {
    /// Writes a whole file of the run, or holds it (replacing older content of the
    /// same file) when the disk refuses.
    pub(super) fn write_file(
        &mut self,
        file: RunFile,
        bytes: Vec<u8>,
        content: String,
        announce: Option<Event>,
    ) {
        self.writes.held.retain(|held| held.file != file);
        match self.setup.run.replace_file(file, &bytes) {
            Ok(()) => {
                self.note_write(file, None);
                if let Some(Event::CheckpointSaved {
                    kind: CheckpointKind::Last,
                    epoch,
                    step,
                    ..
                }) = &announce
                {
                    self.saved_last = Some((*epoch, *step));
                }
                if let Some(event) = announce {
                    self.emit(event);
                }
            }
            Err(error) => {
                self.writes.held.push(HeldFile {
                    file,
                    bytes,
                    content,
                    announce,
                });
                self.note_write(file, Some(error));
            }
        }
    }

    /// Tries every held file (and held event lines) once.
    pub(super) fn retry_writes(&mut self) {
        self.writes.last_retry = Some(Instant::now());
        let flushed = self.log.flush();
        self.note_write(RunFile::Events, flushed.err());
        for held in std::mem::take(&mut self.writes.held) {
            self.write_file(held.file, held.bytes, held.content, held.announce);
        }
    }

    pub(super) fn retry_writes_now_and_then(&mut self) {
        let due = self
            .writes
            .last_retry
            .is_none_or(|last| last.elapsed() >= RETRY_EVERY);
        if due && !self.writes.failing.is_empty() {
            self.retry_writes();
        }
    }

    /// Reports a file's first failure and its recovery; quiet in between.
    pub(super) fn note_write(&mut self, file: RunFile, error: Option<RunError>) {
        let known = self.writes.failing.iter().position(|(f, _)| *f == file);
        match (error, known) {
            (Some(error), None) => {
                let reason = error.reason();
                self.writes.failing.push((file, reason.clone()));
                self.emit(Event::WriteFailed {
                    file: file.to_string(),
                    error: reason,
                });
            }
            (None, Some(index)) => {
                self.writes.failing.remove(index);
                self.emit(Event::WriteRecovered {
                    file: file.to_string(),
                });
            }
            _ => {}
        }
    }

    /// At the end of a run: retries what is held for up to `final_write_retry`
    /// (a stop command ends the wait), then fails with the account of what is lost.
    pub(super) fn settle_writes(&mut self) -> Result<(), TrainError> {
        self.retry_writes();
        if self.writes.failing.is_empty() {
            return Ok(());
        }
        let window = self.setup.final_write_retry;
        let message = format!(
            "waiting up to {} s for the disk to take {}",
            window.as_secs_f64(),
            self.unsaved()
        );
        self.emit(Event::Warning { message });
        let started = Instant::now();
        while !self.writes.failing.is_empty() && started.elapsed() < window {
            let pause = FINAL_RETRY_EVERY.min(window.saturating_sub(started.elapsed()));
            if let Ok(Command::Stop) = self.io.commands.recv_timeout(pause) {
                break;
            }
            self.retry_writes();
        }
        match self.writes.failing.is_empty() {
            true => Ok(()),
            false => Err(TrainError::Unsaved(format!(
                "not saved: {}",
                self.unsaved()
            ))),
        }
    }

    /// What is held, file by file, with why: "checkpoints/last.ckpt (epoch 10):
    /// No space left on device (os error 28); 12 lines of events.jsonl: …".
    fn unsaved(&self) -> String {
        let reason = |file: RunFile| {
            self.writes
                .failing
                .iter()
                .find(|(f, _)| *f == file)
                .map_or(String::new(), |(_, reason)| format!(": {reason}"))
        };
        let mut parts: Vec<String> = self
            .writes
            .held
            .iter()
            .map(|held| match held.content.is_empty() {
                true => format!("{}{}", held.file, reason(held.file)),
                false => format!("{} ({}){}", held.file, held.content, reason(held.file)),
            })
            .collect();
        let lines = self.log.held_lines();
        if lines > 0 {
            parts.push(format!(
                "the last {lines} lines of {}{}",
                RunFile::Events,
                reason(RunFile::Events)
            ));
        }
        parts.join("; ")
    }
}
