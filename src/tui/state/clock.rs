//! Elapsed run time and ETA that tick between events and stop while paused.
//!
//! The engine reports its own elapsed seconds (pauses excluded) every few
//! seconds; between reports the clock adds wall time since the last report,
//! but only while it runs. All instants come from the caller, so the fold and
//! the view stay deterministic.

use std::time::Instant;

#[derive(Clone, Debug, Default)]
pub struct LiveClock {
    /// Run seconds as of `anchor` (or for good, when not running).
    engine_seconds: f64,
    /// When the clock last started counting; `None` while stopped.
    anchor: Option<Instant>,
    /// The latest time the caller told us about.
    now: Option<Instant>,
}

impl LiveClock {
    /// Moves "now" forward (never back).
    pub fn tick(&mut self, now: Instant) {
        if self.now.is_none_or(|seen| now > seen) {
            self.now = Some(now);
        }
    }

    /// An engine report of its run time; the clock runs on from `at` if given.
    pub fn set(&mut self, engine_seconds: f64, at: Option<Instant>) {
        self.engine_seconds = engine_seconds.max(0.0);
        self.anchor = at;
    }

    /// Starts counting from `at` (a resume), keeping the seconds so far.
    pub fn start(&mut self, at: Option<Instant>) {
        self.engine_seconds = self.seconds();
        self.anchor = at;
    }

    /// Stops counting, folding in the time run up to `at`.
    pub fn stop(&mut self, at: Option<Instant>) {
        if let Some(at) = at {
            self.tick(at);
        }
        self.engine_seconds = self.seconds();
        self.anchor = None;
    }

    pub fn is_running(&self) -> bool {
        self.anchor.is_some()
    }

    /// Run seconds now: the last report plus wall time since, while running.
    pub fn seconds(&self) -> f64 {
        let live = match (self.anchor, self.now) {
            (Some(anchor), Some(now)) => now.saturating_duration_since(anchor).as_secs_f64(),
            _ => 0.0,
        };
        self.engine_seconds + live
    }
}

/// What the ETA is computed from: the mean epoch time (validation included)
/// once an epoch has finished, else the training speed seen so far.
#[derive(Clone, Debug, Default)]
pub struct EtaModel {
    epoch_seconds_sum: f64,
    epochs_timed: usize,
    /// (run seconds, global step) of the first progress report of this process.
    first_report: Option<(f64, usize)>,
    /// (remaining seconds, run seconds when computed).
    estimate: Option<(f64, f64)>,
}

/// Where the run stands, for the ETA.
#[derive(Clone, Copy, Debug)]
pub struct Position {
    pub epoch: usize,
    pub step: usize,
    pub steps_per_epoch: usize,
    pub epochs: usize,
}

impl Position {
    /// Steps done since the start of the run (epoch 1, step 0 is 0).
    pub fn global_step(&self) -> usize {
        self.epoch.saturating_sub(1) * self.steps_per_epoch + self.step
    }

    fn remaining_epochs(&self) -> f64 {
        let current_left = 1.0 - self.step as f64 / self.steps_per_epoch.max(1) as f64;
        self.epochs.saturating_sub(self.epoch) as f64 + current_left.clamp(0.0, 1.0)
    }

    fn remaining_steps(&self) -> usize {
        (self.epochs * self.steps_per_epoch).saturating_sub(self.global_step())
    }
}

impl EtaModel {
    pub fn record_epoch(&mut self, seconds: f64) {
        if seconds.is_finite() && seconds > 0.0 {
            self.epoch_seconds_sum += seconds;
            self.epochs_timed += 1;
        }
    }

    pub fn mean_epoch_seconds(&self) -> Option<f64> {
        (self.epochs_timed > 0).then(|| self.epoch_seconds_sum / self.epochs_timed as f64)
    }

    /// Whether the estimate counts validation (false until an epoch has finished).
    pub fn includes_validation(&self) -> bool {
        self.epochs_timed > 0
    }

    pub fn record_progress(&mut self, run_seconds: f64, position: Position) {
        if self.first_report.is_none() {
            self.first_report = Some((run_seconds, position.global_step()));
        }
        self.update(run_seconds, position);
    }

    /// Recomputes the remaining time as of `run_seconds`.
    pub fn update(&mut self, run_seconds: f64, position: Position) {
        let remaining = match self.mean_epoch_seconds() {
            Some(mean) => Some(mean * position.remaining_epochs()),
            None => self
                .seconds_per_step(run_seconds, position.global_step())
                .map(|per_step| per_step * position.remaining_steps() as f64),
        };
        self.estimate = remaining.map(|seconds| (seconds, run_seconds));
    }

    pub fn clear(&mut self) {
        self.estimate = None;
    }

    /// Seconds left at run time `run_seconds` (counts down between reports).
    pub fn remaining(&self, run_seconds: f64) -> Option<f64> {
        self.estimate
            .map(|(seconds, computed_at)| (seconds - (run_seconds - computed_at).max(0.0)).max(0.0))
    }

    fn seconds_per_step(&self, run_seconds: f64, global_step: usize) -> Option<f64> {
        let (first_seconds, first_step) = self.first_report?;
        let steps = global_step
            .checked_sub(first_step)
            .filter(|&steps| steps > 0)?;
        Some((run_seconds - first_seconds).max(0.0) / steps as f64)
    }
}
