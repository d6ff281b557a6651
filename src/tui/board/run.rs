//! The board's impure loop: the terminal (through the dashboard's
//! [`TerminalGuard`]), a rescan every second, keys, and the control channel.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use crossterm::event::{self as terminal_event, Event as TerminalEvent};

use super::keys::BoardAction;
use super::state::BoardState;
use super::view;
use crate::run::control::{live_engine, post_command};
use crate::run::listing::scan;
use crate::run::{Command, Event, EventTail, RunDir};
use crate::tui::terminal::{wait_for_input, Input, TerminalGuard, INPUT_POLL};
use crate::tui::theme::Theme;

/// How often the runs directory is read again.
const RESCAN: Duration = Duration::from_secs(1);
/// How long the status line waits for a run to answer a command.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the board loop returned.
#[derive(Clone, Debug, PartialEq)]
pub enum BoardExit {
    Quit,
    /// Open this run's dashboard, then come back to the board.
    Open {
        path: std::path::PathBuf,
        control: bool,
    },
}

/// A command sent from the board whose answer is awaited in `events.jsonl`.
struct Pending {
    id: String,
    command: Command,
    tail: EventTail,
    since: Instant,
}

/// Runs the board until `q` (or a hang-up) or until a run is to be opened. Keys that
/// steer post commands to the runs' control channels here; `on_report` writes a
/// report of the given runs and returns what to say (the report lives outside the
/// TUI). The terminal is restored before this returns.
pub fn run_board(
    state: &mut BoardState,
    theme: Theme,
    mut on_report: impl FnMut(&[std::path::PathBuf]) -> Result<String, String>,
) -> io::Result<BoardExit> {
    let mut guard = TerminalGuard::enter()?;
    let mut last_scan = Instant::now();
    let mut pending: Option<Pending> = None;
    let mut dirty = true;
    loop {
        if last_scan.elapsed() >= RESCAN {
            rescan(state);
            last_scan = Instant::now();
            dirty = true;
        }
        if let Some(waiting) = pending.as_mut() {
            if let Some(answer) = answer(waiting) {
                state.status = answer;
                pending = None;
                dirty = true;
            }
        }
        if dirty {
            guard
                .terminal
                .draw(|frame| view::draw(frame, state, &theme))?;
            dirty = false;
        }
        if wait_for_input(INPUT_POLL) == Input::HungUp {
            return Ok(BoardExit::Quit);
        }
        if !terminal_event::poll(Duration::ZERO)? {
            continue;
        }
        match terminal_event::read()? {
            TerminalEvent::Key(key) => {
                dirty = true;
                for action in state.handle_key(key) {
                    match action {
                        BoardAction::Quit => return Ok(BoardExit::Quit),
                        BoardAction::Open { path, control } => {
                            return Ok(BoardExit::Open { path, control })
                        }
                        BoardAction::Send { id, path, command } => {
                            match send(&id, &path, &command) {
                                Ok(waiting) => {
                                    state.status =
                                        format!("{id}: sent `{command}`, waiting for its answer");
                                    pending = Some(waiting);
                                }
                                Err(why) => state.status = why,
                            }
                        }
                        BoardAction::Report { runs } => {
                            state.status = format!("writing a report of {} run(s)...", runs.len());
                            guard
                                .terminal
                                .draw(|frame| view::draw(frame, state, &theme))?;
                            state.status = on_report(&runs).unwrap_or_else(|why| why);
                        }
                    }
                }
            }
            TerminalEvent::Resize(..) => {
                guard.terminal.autoresize()?;
                dirty = true;
            }
            _ => {}
        }
    }
}

/// Reads the runs directory again; a failure is said in the status line and the
/// last rows stay.
pub fn rescan(state: &mut BoardState) {
    match scan(&state.runs_dir) {
        Ok(listing) => state.set_listing(listing),
        Err(error) => state.status = format!("could not read the runs: {error}"),
    }
}

/// Posts `command` to the live run at `path`, as `fer ctl` does.
fn send(id: &str, path: &Path, command: &Command) -> Result<Pending, String> {
    let run = RunDir::open(path).map_err(|e| format!("{id}: {e}"))?;
    live_engine(&run).map_err(|e| format!("{id}: {e}"))?;
    let events = run.events_path();
    let tail = EventTail::from_offset(&events, EventTail::file_len(&events));
    post_command(&run, command).map_err(|e| format!("{id}: could not send `{command}`: {e}"))?;
    Ok(Pending {
        id: id.to_string(),
        command: command.clone(),
        tail,
        since: Instant::now(),
    })
}

/// The status line once the run has answered (or given up on).
fn answer(pending: &mut Pending) -> Option<String> {
    let (id, command) = (&pending.id, &pending.command);
    for event in pending.tail.read_new().unwrap_or_default() {
        match event {
            Event::CommandApplied { command: applied } if applied == *command => {
                return Some(format!("{id}: applied `{command}`"))
            }
            Event::CommandRejected {
                command: rejected,
                reason,
            } if rejected == *command => {
                return Some(format!("{id}: refused `{command}`: {reason}"))
            }
            Event::RunFinished { .. } | Event::RunFailed { .. } => {
                return Some(format!("{id}: the run ended"))
            }
            _ => {}
        }
    }
    (pending.since.elapsed() >= ANSWER_TIMEOUT).then(|| {
        format!(
            "{id}: no answer to `{command}` within {} s",
            ANSWER_TIMEOUT.as_secs()
        )
    })
}
