//! Short human names for engine vocabulary, shared by the state's log and the view.

use clap::ValueEnum;

use crate::run::schedule::ScheduleName;
use crate::run::Command;

/// The name a user types on the command line (`one-cycle`).
pub fn schedule_label(name: ScheduleName) -> &'static str {
    match name {
        ScheduleName::Constant => "constant",
        ScheduleName::Step => "step",
        ScheduleName::Cosine => "cosine",
        ScheduleName::OneCycle => "one-cycle",
        ScheduleName::Plateau => "plateau",
    }
}

/// Every schedule, in the order the picker lists them.
pub fn all_schedules() -> &'static [ScheduleName] {
    ScheduleName::value_variants()
}

pub fn command_label(command: &Command) -> String {
    command.to_string()
}

/// `0.0123` → `1.23e-2`; compact enough for axis labels.
pub fn learning_rate(lr: f64) -> String {
    format!("{lr:.2e}")
}

/// A fraction as a percentage with one decimal: `0.5734` → `57.3%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.1}%", 100.0 * fraction)
}
