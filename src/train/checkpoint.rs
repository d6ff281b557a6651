//! One checkpoint = one file: a JSON header (epoch, schedule, history, config) plus the
//! model and optimizer records. Written to a temporary file, then renamed.
//!
//! There is no RNG state to store: every random draw is seeded from
//! `(seed, epoch, step)`, so a resumed run replays exactly what it would have drawn.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::config::TrainConfig;
use super::schedule::Schedule;
use super::TrainError;
use crate::run::{write_atomic, EpochMetrics};

const MAGIC: &[u8; 8] = b"FERCKPT1";

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
        let state = serde_json::to_vec(&self.state)
            .map_err(|e| TrainError::Checkpoint(format!("encoding state: {e}")))?;
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
        let rest = bytes
            .strip_prefix(MAGIC)
            .ok_or_else(|| corrupt("not a fer checkpoint"))?;
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
        let state = serde_json::from_slice(&parts.pop().unwrap_or_default())
            .map_err(|e| corrupt(&format!("bad state header: {e}")))?;
        Ok(Self {
            state,
            model,
            optimizer,
        })
    }

    /// Writes atomically and returns the size in bytes.
    pub fn save(&self, path: &Path) -> Result<u64, TrainError> {
        let bytes = self.encode()?;
        write_atomic(path, &bytes)?;
        Ok(bytes.len() as u64)
    }

    pub fn load(path: &Path) -> Result<Self, TrainError> {
        let bytes = std::fs::read(path)
            .map_err(|e| TrainError::Checkpoint(format!("{}: {e}", path.display())))?;
        Self::decode(&bytes, path)
    }
}
