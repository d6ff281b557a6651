//! The one line left on the normal screen when a run (or a dashboard) ends:
//! where the run is, how good it got, which checkpoint to use.

use std::path::Path;

use fer::run::{CheckpointKind, RunDir};
use fer::train::Outcome;
use fer::tui::{DashboardState, RunStatus};

/// For a run this process trained.
pub fn outcome_line(run: &RunDir, outcome: &Outcome) -> String {
    let summary = &outcome.summary;
    let how = if outcome.stopped {
        "stopped"
    } else {
        "finished"
    };
    let best = (summary.best_epoch > 0).then_some((summary.best_epoch, summary.best_val_accuracy));
    line(run.path(), how, best, summary.test_accuracy)
}

/// For a run seen through its events (`fer watch`); `None` before it started.
pub fn state_line(state: &DashboardState) -> Option<String> {
    if state.info.run_dir.is_empty() {
        return None;
    }
    let how = match state.status() {
        RunStatus::Done => "finished".to_string(),
        RunStatus::Failed(_) => "failed".to_string(),
        other => format!("still {}", other.label().to_lowercase()),
    };
    let test = state.test.map(|test| test.accuracy);
    Some(line(Path::new(&state.info.run_dir), &how, state.best, test))
}

fn line(run_dir: &Path, how: &str, best: Option<(usize, f64)>, test: Option<f64>) -> String {
    let best = match best {
        Some((epoch, accuracy)) => format!("best val acc {:.2}% (epoch {epoch})", 100.0 * accuracy),
        None => "no finished epoch".to_string(),
    };
    let test = test
        .map(|a| format!(", test acc {:.2}%", 100.0 * a))
        .unwrap_or_default();
    format!(
        "run {} {how}: {best}{test}; {}",
        run_dir.display(),
        checkpoint_note(run_dir)
    )
}

/// The checkpoint to evaluate or resume from, best first.
fn checkpoint_note(run_dir: &Path) -> String {
    let run = RunDir::open(run_dir).ok();
    let existing = |kind| {
        run.as_ref()
            .map(|r| r.checkpoint_path(kind))
            .filter(|p| p.is_file())
    };
    match (
        existing(CheckpointKind::Best),
        existing(CheckpointKind::Last),
    ) {
        (Some(best), Some(_)) => format!("checkpoints: {} (and last.ckpt)", best.display()),
        (Some(path), None) | (None, Some(path)) => format!("checkpoint: {}", path.display()),
        (None, None) => "no checkpoint".to_string(),
    }
}
