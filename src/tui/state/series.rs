//! Time series the charts draw: per-epoch curves, the smoothed batch loss, the LR.

/// Series longer than this are thinned by half, so a long run keeps its whole
/// shape in bounded memory.
pub const MAX_SERIES_POINTS: usize = 2000;

/// Weight of the newest interval in the smoothed batch loss.
pub const LOSS_SMOOTHING: f64 = 0.3;

/// The scalar results of one finished epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochPoint {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    pub val_loss: f64,
    pub val_accuracy: f64,
    pub lr: f64,
    pub seconds: f64,
}

/// Appends a point; when the series is full, keeps every second point first.
pub fn push_thinned(series: &mut Vec<(f64, f64)>, point: (f64, f64)) {
    if series.len() >= MAX_SERIES_POINTS {
        let mut index = 0;
        series.retain(|_| {
            index += 1;
            index % 2 == 1
        });
    }
    series.push(point);
}

/// An exponential moving average of the training loss per reporting interval.
///
/// `Progress.loss` is the mean over the epoch so far, which flattens out late in
/// an epoch; the mean of just the last interval is recovered from two running
/// means: `(mean2 * step2 - mean1 * step1) / (step2 - step1)`.
#[derive(Clone, Debug, Default)]
pub struct SmoothedLoss {
    points: Vec<(f64, f64)>,
    average: Option<f64>,
    /// (epoch, step, running mean) of the previous report.
    previous: Option<(usize, usize, f64)>,
}

impl SmoothedLoss {
    /// Points as (fractional epoch, smoothed loss); epoch 1 spans 0..1.
    pub fn points(&self) -> &[(f64, f64)] {
        &self.points
    }

    pub fn latest(&self) -> Option<f64> {
        self.average
    }

    pub fn observe(
        &mut self,
        epoch: usize,
        step: usize,
        steps_per_epoch: usize,
        running_mean: f64,
    ) {
        let (previous_step, previous_sum) = match self.previous {
            Some((e, s, mean)) if e == epoch && s <= step => (s, mean * s as f64),
            _ => (0, 0.0),
        };
        if step <= previous_step || !running_mean.is_finite() {
            return;
        }
        let interval_mean =
            ((running_mean * step as f64 - previous_sum) / (step - previous_step) as f64).max(0.0);
        let smoothed = match self.average {
            Some(average) => LOSS_SMOOTHING * interval_mean + (1.0 - LOSS_SMOOTHING) * average,
            None => interval_mean,
        };
        self.average = Some(smoothed);
        self.previous = Some((epoch, step, running_mean));
        let x = epoch.saturating_sub(1) as f64 + step as f64 / steps_per_epoch.max(1) as f64;
        push_thinned(&mut self.points, (x, smoothed));
    }
}
