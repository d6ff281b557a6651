//! One checkpoint = one file: a RON header (epoch, schedule, history, config) plus the
//! model and optimizer records. Written to a temporary file, then renamed.
//!
//! The header is RON (`FERCKPT2`) because RON spells NaN and infinities and reads them
//! back; the first format (`FERCKPT1`) had a JSON header, still read, where serde_json
//! had written them as `null`. The engine never saves a non-finite state, and loading
//! refuses one with a message that says so.
//!
//! There is no RNG state to store: every random draw is seeded from
//! `(seed, epoch, step)`, so a resumed run replays exactly what it would have drawn.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::schedule::Schedule;
use super::TrainError;
use crate::run::EpochMetrics;

const MAGIC: &[u8; 8] = b"FERCKPT2";
/// The first format: the same layout with a JSON header.
const MAGIC_JSON: &[u8; 8] = b"FERCKPT1";

/// Everything about a run's progress except the tensors.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainingState {
    pub config: TrainConfig,
    /// Epochs fully completed.
    pub completed_epochs: usize,
    /// Steps done in the epoch after `completed_epochs` (non-zero for a mid-epoch checkpoint).
    pub step_in_epoch: usize,
    pub partial: PartialEpoch,
    pub schedule: Schedule,
    pub history: Vec<EpochMetrics>,
    /// (epoch, validation accuracy) of the best epoch so far.
    pub best: Option<(usize, f64)>,
    /// Training seconds so far, over all processes that worked on this run.
    pub elapsed_seconds: f64,
}

impl TrainingState {
    /// The first number that is NaN or infinite, named; `None` when all are finite.
    pub fn non_finite(&self) -> Option<String> {
        let partial = &self.partial;
        let named = [
            ("the running training loss", partial.loss_sum),
            ("the running training time", partial.seconds),
            ("the training time", self.elapsed_seconds),
            ("the learning rate", self.schedule.lr()),
            (
                "the best validation accuracy",
                self.best.map_or(0.0, |b| b.1),
            ),
        ];
        if let Some((name, _)) = named.iter().find(|(_, value)| !value.is_finite()) {
            return Some(name.to_string());
        }
        self.history
            .iter()
            .find(|metrics| !metrics.is_finite())
            .map(|metrics| format!("epoch {}'s metrics", metrics.epoch))
    }
}

/// Running sums of the epoch in progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PartialEpoch {
    pub loss_sum: f64,
    pub correct: f64,
    pub images: usize,
    pub seconds: f64,
}

/// The bytes of a checkpoint, before the records are decoded for a backend.
pub struct CheckpointFile {
    pub state: TrainingState,
    pub model: Vec<u8>,
    pub optimizer: Vec<u8>,
}

impl CheckpointFile {
    pub fn encode(&self) -> Result<Vec<u8>, TrainError> {
        let state = ron::to_string(&self.state)
            .map_err(|e| TrainError::Checkpoint(format!("encoding state: {e}")))?
            .into_bytes();
        let mut bytes = Vec::with_capacity(
            MAGIC.len() + 24 + state.len() + self.model.len() + self.optimizer.len(),
        );
        bytes.extend_from_slice(MAGIC);
        for part in [&state, &self.model, &self.optimizer] {
            bytes.extend_from_slice(&(part.len() as u64).to_le_bytes());
            bytes.extend_from_slice(part);
        }
        Ok(bytes)
    }

    pub fn decode(bytes: &[u8], origin: &Path) -> Result<Self, TrainError> {
        let corrupt = |what: &str| TrainError::Checkpoint(format!("{}: {what}", origin.display()));
        let (json, rest) = match (bytes.strip_prefix(MAGIC), bytes.strip_prefix(MAGIC_JSON)) {
            (Some(rest), _) => (false, rest),
            (None, Some(rest)) => (true, rest),
            (None, None) => return Err(corrupt("not a fer checkpoint")),
        };
        let mut parts = Vec::with_capacity(3);
        let mut rest = rest;
        for _ in 0..3 {
            let (len, tail) = rest
                .split_at_checked(8)
                .ok_or_else(|| corrupt("truncated"))?;
            let len =
                u64::from_le_bytes(len.try_into().map_err(|_| corrupt("truncated"))?) as usize;
            let (part, tail) = tail
                .split_at_checked(len)
                .ok_or_else(|| corrupt("truncated"))?;
            parts.push(part.to_vec());
            rest = tail;
        }
        let optimizer = parts.pop().unwrap_or_default();
        let model = parts.pop().unwrap_or_default();
        let header = parts.pop().unwrap_or_default();
        let state: TrainingState = match json {
            true => serde_json::from_slice(&header).map_err(|e| e.to_string()),
            false => std::str::from_utf8(&header)
                .map_err(|e| e.to_string())
                .and_then(|text| ron::from_str(text).map_err(|e| e.to_string())),
        }
        .map_err(|e| corrupt(&format!("bad state header: {e}")))?;
        if let Some(what) = state.non_finite() {
            return Err(corrupt(&format!(
                "{what} is not finite: the run had diverged when this was saved (by a fer that did not check), so there is nothing finite to resume from in it"
            )));
        }
        Ok(Self {
            state,
            model,
            optimizer,
        })
    }

    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let bytes = std::fs::read(path)
            .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", path.display())))?;
        Self::decode(&bytes, path)
    }
}
