//! The headless view: plain lines, no ANSI codes, for logs, pipes and `--headless`.
//! One line per epoch with the main numbers, a short progress line every few
//! seconds, and one line for anything else worth knowing.

use crate::run::format::{duration, size, with_thousands_separators as thousands};
use crate::run::{CheckpointKind, Event};

/// Turns events into lines; keeps only what the lines need (the epoch count).
#[derive(Debug, Default)]
pub struct PlainView {
    epochs: usize,
    /// The divergence account, so that the `RunFailed` after it is not said twice.
    divergence: Option<String>,
    /// The last queue shown, so that a run announcing the same queue says nothing.
    queue: Vec<String>,
}

impl PlainView {
    pub fn line(&mut self, event: &Event) -> Option<String> {
        Some(match event {
            Event::RunStarted {
                run_dir,
                model,
                parameters,
                device,
                data_source,
                train_images,
                val_images,
                test_images,
                epochs,
                steps_per_epoch,
                batch_size,
                start_epoch,
                notes,
                ..
            } => {
                self.epochs = *epochs;
                let mut text = format!(
                    "run {run_dir}: {model} ({} parameters) on {device}\n\
                     data: {data_source}: {train_images} train / {val_images} val / {test_images} test images; \
                     {epochs} epochs of {steps_per_epoch} steps, batch {batch_size}",
                    thousands(*parameters)
                );
                if *start_epoch > 1 {
                    text.push_str(&format!("; resuming at epoch {start_epoch}"));
                }
                for note in notes {
                    text.push_str(&format!("\nnote: {note}"));
                }
                text
            }
            Event::Progress { epoch, step, steps_per_epoch, loss, lr, images_per_second, elapsed_seconds } => format!(
                "  epoch {epoch}/{} step {step}/{steps_per_epoch}  loss {loss:.4}  lr {lr:.3e}  {images_per_second:.1} img/s  {}",
                self.epochs,
                duration(*elapsed_seconds)
            ),
            Event::ReplicaRates {
                images_per_second,
                all_reduce_share,
            } => {
                let each: Vec<String> =
                    images_per_second.iter().map(|rate| format!("{rate:.1}")).collect();
                format!(
                    "  replicas here: {} img/s; all-reduce {:.1}% of a step",
                    each.join(", "),
                    100.0 * all_reduce_share
                )
            }
            Event::EpochFinished(m) => format!(
                "epoch {}/{}  train loss {:.4} acc {:.2}%  val loss {:.4} acc {:.2}% macro-F1 {:.3}  lr {:.3e}  {:.1}s  {:.1} img/s",
                m.epoch,
                self.epochs,
                m.train_loss,
                100.0 * m.train_accuracy,
                m.val_loss,
                100.0 * m.val_accuracy,
                m.val_macro_f1,
                m.lr,
                m.seconds,
                m.images_per_second
            ),
            Event::NewBest { epoch, val_accuracy } => {
                format!("  new best: epoch {epoch}, val acc {:.2}%", 100.0 * val_accuracy)
            }
            Event::CheckpointSaved { kind: CheckpointKind::Last, path, bytes, .. } => {
                format!("  checkpoint saved: {path} ({})", size(*bytes))
            }
            Event::CheckpointSaved { .. } | Event::ValidationStarted { .. } | Event::Resumed => return None,
            Event::SchedulePlan { name, current_lr, epochs, .. } => {
                // A time budget re-plans the run's length; 0 comes from older logs.
                if *epochs > 0 {
                    self.epochs = *epochs;
                }
                format!("  schedule: {name:?}, lr now {current_lr:.3e}")
            }
            Event::Paused { epoch, step } => format!("paused at epoch {epoch} step {step}"),
            Event::CommandApplied { command } => format!("  command applied: {command}"),
            Event::CommandRejected { command, reason } => format!("warning: `{command}` rejected: {reason}"),
            Event::QueueChanged { queue } => {
                if *queue == self.queue {
                    return None;
                }
                self.queue = queue.clone();
                match queue.is_empty() {
                    true => "  queue: empty".to_string(),
                    false => format!("  queue: {}", queue.join(", ")),
                }
            }
            Event::Warning { message } => format!("warning: {message}"),
            Event::BestValidated { epoch, tta, accuracy, macro_f1, .. } => format!(
                "validation of the best checkpoint (epoch {epoch}) with {tta:?}: acc {:.2}% macro-F1 {macro_f1:.3}",
                100.0 * accuracy
            ),
            Event::TestEvaluated { epoch, accuracy, macro_f1, .. } => format!(
                "test (best epoch {epoch}): acc {:.2}% macro-F1 {macro_f1:.3}",
                100.0 * accuracy
            ),
            Event::RunFinished { best_epoch, best_val_accuracy, stopped, seconds, .. } => format!(
                "{} after {}: best val acc {:.2}% at epoch {best_epoch}",
                if *stopped { "stopped" } else { "finished" },
                duration(*seconds),
                100.0 * best_val_accuracy
            ),
            Event::NextRun { model, run_dir } => format!("the queue goes on: {model} in {run_dir}"),
            Event::RunFailed { error } if self.divergence.as_ref() == Some(error) => return None,
            Event::RunFailed { error } => format!("run failed: {error}"),
            Event::Diverged { message, .. } => {
                self.divergence = Some(message.clone());
                message.clone()
            }
            Event::WriteFailed { file, error } => format!(
                "warning: {file} not saved: {error}; training goes on, it is kept in memory and retried"
            ),
            Event::WriteRecovered { file } => format!("  {file} saved again"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_have_no_escape_codes() {
        let mut view = PlainView::default();
        let line = view
            .line(&Event::Progress {
                epoch: 1,
                step: 5,
                steps_per_epoch: 10,
                loss: 1.5,
                lr: 0.1,
                images_per_second: 100.0,
                elapsed_seconds: 12.0,
            })
            .unwrap_or_default();
        assert!(line.contains("step 5/10"));
        assert!(!line.contains('\u{1b}'));
    }

    #[test]
    fn a_new_plan_changes_the_epoch_count_shown() {
        let mut view = PlainView {
            epochs: 13,
            ..PlainView::default()
        };
        view.line(&Event::SchedulePlan {
            name: crate::run::schedule::ScheduleName::OneCycle,
            current_lr: 0.05,
            plan: Vec::new(),
            epochs: 14,
            settings: None,
        });
        let progress = Event::Progress {
            epoch: 2,
            step: 1,
            steps_per_epoch: 10,
            loss: 1.5,
            lr: 0.1,
            images_per_second: 100.0,
            elapsed_seconds: 12.0,
        };
        assert!(view
            .line(&progress)
            .unwrap_or_default()
            .contains("epoch 2/14"));
    }
}
