//! The binary's commands. Errors become `anyhow` here, at the edge; the exit code
//! says whose fault it was (2: the input or usage, 1: anything else).

pub mod args;
pub mod bench;
mod cache;
pub mod card;
pub mod ctl;
pub mod devices;
pub mod eval;
pub mod info;
pub mod orchestrator;
pub mod panics;
mod parallel;
mod parity;
pub mod predict;
pub mod queue;
pub mod report;
pub mod runs;
pub mod session;
mod signals;
pub mod study;
mod summary;
pub mod train;
pub mod watch;
mod workers;

use std::fmt::Display;
use std::io::Write;
use std::path::Path;

use fer::data::{self, Dataset, LoadOptions};

/// One line on stdout for a long-running command. `println!` panics when the
/// terminal has hung up (SSH gone) or the pipe closed, which would kill a run while
/// it still saves its last checkpoint; a line nobody can read is simply dropped.
pub fn say(line: impl Display) {
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}

/// One line on stderr, with the same care as `say`.
pub fn say_error(line: impl Display) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The error and its causes in one line, each said once: many errors already
/// include their cause's text (`path: No space left on device`), and anyhow's `{:#}`
/// would repeat it.
pub fn error_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if message.contains(&cause) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&cause);
    }
    message
}

/// A problem with what the user gave us, reported in one line with exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// A dashboard whose model picker offers the zoo (the TUI does not know the models).
pub fn dashboard_app(ascii: bool) -> fer::tui::App {
    let names = fer::model::model_names()
        .iter()
        .map(|name| name.to_string());
    fer::tui::App::new(fer::tui::Theme::detect(ascii)).with_model_names(names.collect())
}

/// Loads `path` (a data cache written by `fer data --export-cache`, or anything
/// `fer::data::load` reads), or the bundled sample when there is none.
pub fn load_dataset(
    path: Option<&Path>,
    skip_bad_rows: bool,
    seed: u64,
) -> anyhow::Result<Dataset> {
    Ok(match path {
        Some(path) if cache::is_cache(path) => cache::read(path)?,
        Some(path) => data::load(
            path,
            &LoadOptions {
                skip_bad_rows,
                seed,
                ..LoadOptions::default()
            },
        )?,
        None => data::bundled_sample()?,
    })
}

/// 2 for errors the user can fix, 1 for the rest.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    let user = error.chain().any(|cause| {
        cause.is::<UserError>()
            || cause.is::<fer::device::DeviceError>()
            || cause
                .downcast_ref::<data::DataError>()
                .is_some_and(|e| e.is_user_error())
            || cause
                .downcast_ref::<fer::run::RunError>()
                .is_some_and(|e| e.is_user_error())
            || cause
                .downcast_ref::<fer::run::ControlError>()
                .is_some_and(|e| e.is_user_error())
            || cause
                .downcast_ref::<fer::report::ReportError>()
                .is_some_and(|e| e.is_user_error())
            || cause
                .downcast_ref::<fer::train::TrainError>()
                .is_some_and(|e| e.is_user_error())
    });
    if user {
        2
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let full = std::io::Error::from_raw_os_error(28);
        let run = fer::run::RunError::io(Path::new("runs/x/metrics.csv"), full);
        let error = anyhow::Error::new(run).context("saving the run");
        assert_eq!(
            error_message(&error),
            "saving the run: runs/x/metrics.csv: No space left on device (os error 28)"
        );
        let plain = anyhow::anyhow!("top").context("outer");
        assert_eq!(error_message(&plain), "outer: top");
    }
}
