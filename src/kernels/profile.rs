//! Opt-in time accounting per kernel, behind `fer bench --profile`'s per-layer
//! figures. Off by default: then a kernel pays one relaxed atomic load.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// What a kernel call computes, as the profile reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelKind {
    ConvForward,
    ConvInputGradient,
    ConvWeightGradient,
    NormForward,
    NormBackward,
}

impl KernelKind {
    pub const ALL: [Self; 5] = [
        Self::ConvForward,
        Self::ConvInputGradient,
        Self::ConvWeightGradient,
        Self::NormForward,
        Self::NormBackward,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::ConvForward => "conv_forward",
            Self::ConvInputGradient => "conv_input_gradient",
            Self::ConvWeightGradient => "conv_weight_gradient",
            Self::NormForward => "norm_forward",
            Self::NormBackward => "norm_backward",
        }
    }

    /// Whether the kernel runs in the backward pass.
    pub fn is_backward(self) -> bool {
        matches!(
            self,
            Self::ConvInputGradient | Self::ConvWeightGradient | Self::NormBackward
        )
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static NANOS: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

/// Starts accounting from zero (`true`) or stops it (`false`).
pub fn set_enabled(enabled: bool) {
    for total in &NANOS {
        total.store(0, Ordering::Relaxed);
    }
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Seconds spent in each kind of kernel since accounting started.
pub fn seconds_by_kind() -> Vec<(KernelKind, f64)> {
    KernelKind::ALL
        .iter()
        .zip(&NANOS)
        .map(|(&kind, total)| (kind, total.load(Ordering::Relaxed) as f64 * 1e-9))
        .collect()
}

/// Runs `work`, adding its wall time to `kind` while accounting is on.
pub fn timed<R>(kind: KernelKind, work: impl FnOnce() -> R) -> R {
    if !ENABLED.load(Ordering::Relaxed) {
        return work();
    }
    let start = Instant::now();
    let result = work();
    let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    NANOS[kind as usize].fetch_add(nanos, Ordering::Relaxed);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_counted_only_while_enabled_and_per_kind() {
        set_enabled(false);
        timed(KernelKind::NormForward, || {
            std::thread::sleep(std::time::Duration::from_millis(5))
        });
        assert!(seconds_by_kind().iter().all(|&(_, seconds)| seconds == 0.0));
        set_enabled(true);
        timed(KernelKind::ConvForward, || {
            std::thread::sleep(std::time::Duration::from_millis(5))
        });
        let spent = seconds_by_kind();
        set_enabled(false);
        // Other tests may run kernels meanwhile: only this kind's time is known.
        let conv_forward = spent
            .iter()
            .find(|(kind, _)| *kind == KernelKind::ConvForward)
            .map_or(0.0, |&(_, seconds)| seconds);
        assert!(conv_forward >= 0.005, "{conv_forward}");
    }
}
