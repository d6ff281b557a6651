//! Confusion matrix and per-class metrics.
