//! The board's keys → what they ask of the outside world. Nothing here does I/O:
//! the loop (or the CLI) carries the actions out.

use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::{BoardOverlay, BoardState};
use crate::run::listing::{RunOverview, RunState};
use crate::run::Command;

/// Every key, as the help overlay and `fer runs --help` list them.
pub const BOARD_KEY_HELP: &[(&str, &str)] = &[
    ("up/down, j/k", "select a run"),
    (
        "enter",
        "open its dashboard (live runs with control); q or esc comes back",
    ),
    (
        "o / O",
        "cycle the sort column (start, model, state, best val, elapsed) / reverse it",
    ),
    ("/", "filter by id or model (enter keeps it, esc clears it)"),
    (
        "f",
        "cycle the state filter (all, live, finished, failed/crashed)",
    ),
    ("p", "pause or resume the selected live run"),
    ("s", "save a checkpoint of the selected live run now"),
    ("x", "stop the selected live run (asks y/n first)"),
    ("space", "mark or unmark the selected run"),
    (
        "r",
        "write a report of the marked runs (or the selected one)",
    ),
    ("c", "compare the curves of the two marked runs"),
    ("?", "toggle this help"),
    ("q / ctrl-c", "quit the board (runs go on)"),
];

/// What a key asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum BoardAction {
    /// Open the run's dashboard; `control` for a live run.
    Open {
        path: PathBuf,
        control: bool,
    },
    /// Post `command` to the run's control channel.
    Send {
        id: String,
        path: PathBuf,
        command: Command,
    },
    /// Write a report of these runs.
    Report {
        runs: Vec<PathBuf>,
    },
    Quit,
}

impl BoardState {
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<BoardAction> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl_c {
            return vec![BoardAction::Quit];
        }
        match self.overlay.clone() {
            BoardOverlay::None => self.main_key(key.code),
            BoardOverlay::Help | BoardOverlay::Compare { .. } => {
                self.overlay = BoardOverlay::None;
                Vec::new()
            }
            BoardOverlay::Filter => {
                self.filter_key(key.code);
                Vec::new()
            }
            BoardOverlay::ConfirmStop { id, path } => self.confirm_stop_key(key.code, id, path),
        }
    }

    fn main_key(&mut self, code: KeyCode) -> Vec<BoardAction> {
        match code {
            KeyCode::Up | KeyCode::Char('k') => self.move_selection(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_selection(1),
            KeyCode::Home | KeyCode::Char('g') => self.move_selection(isize::MIN),
            KeyCode::End | KeyCode::Char('G') => self.move_selection(isize::MAX),
            KeyCode::Char('o') => {
                self.sort = self.sort.next();
                self.status = format!("sorted by {}", self.sort.label());
            }
            KeyCode::Char('O') => {
                self.reverse = !self.reverse;
                let order = if self.reverse { "reversed" } else { "normal" };
                self.status = format!("sorted by {} ({order})", self.sort.label());
            }
            KeyCode::Char('/') => self.overlay = BoardOverlay::Filter,
            KeyCode::Char('f') => {
                self.state_filter = self.state_filter.next();
                self.keep_selection_visible();
            }
            KeyCode::Char(' ') => self.toggle_mark(),
            KeyCode::Enter => return self.open(),
            KeyCode::Char('p') => return self.steer('p'),
            KeyCode::Char('s') => return self.steer('s'),
            KeyCode::Char('x') => return self.steer('x'),
            KeyCode::Char('r') => return self.report(),
            KeyCode::Char('c') => self.compare(),
            KeyCode::Char('?') => self.overlay = BoardOverlay::Help,
            KeyCode::Char('q') => return vec![BoardAction::Quit],
            KeyCode::Esc if !self.filter.is_empty() => {
                self.filter.clear();
                self.keep_selection_visible();
            }
            _ => {}
        }
        Vec::new()
    }

    fn filter_key(&mut self, code: KeyCode) {
        match code {
            KeyCode::Enter => self.overlay = BoardOverlay::None,
            KeyCode::Esc => {
                self.filter.clear();
                self.overlay = BoardOverlay::None;
            }
            KeyCode::Backspace => {
                self.filter.pop();
            }
            KeyCode::Char(c) => self.filter.push(c),
            _ => {}
        }
        self.keep_selection_visible();
    }

    fn toggle_mark(&mut self) {
        let Some(id) = self.selected.clone() else {
            return;
        };
        if !self.marked.remove(&id) {
            self.marked.insert(id);
        }
        self.move_selection(1);
    }

    fn open(&mut self) -> Vec<BoardAction> {
        let Some(run) = self.selected_run() else {
            return Vec::new();
        };
        match &run.path {
            Some(path) => vec![BoardAction::Open {
                path: path.clone(),
                control: run.state.is_live(),
            }],
            None => {
                self.status = format!("{}: queued, not started yet", run.id);
                Vec::new()
            }
        }
    }

    /// `p`, `s` or `x` on the selected run: only a live one may be steered.
    fn steer(&mut self, key: char) -> Vec<BoardAction> {
        let Some(run) = self.selected_run().cloned() else {
            return Vec::new();
        };
        let path = match (&run.path, run.state.is_live()) {
            (Some(path), true) => path.clone(),
            _ => {
                self.status = format!("{} is {}: {}", run.id, run.state.label(), not_live(&run));
                return Vec::new();
            }
        };
        let command = match key {
            'p' if run.state == RunState::Paused => Command::Resume,
            'p' => Command::Pause,
            's' => Command::CheckpointNow,
            _ => {
                self.overlay = BoardOverlay::ConfirmStop { id: run.id, path };
                return Vec::new();
            }
        };
        vec![BoardAction::Send {
            id: run.id,
            path,
            command,
        }]
    }

    fn confirm_stop_key(&mut self, code: KeyCode, id: String, path: PathBuf) -> Vec<BoardAction> {
        match code {
            KeyCode::Char('y' | 'Y') => {
                self.overlay = BoardOverlay::None;
                vec![BoardAction::Send {
                    id,
                    path,
                    command: Command::Stop,
                }]
            }
            KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => {
                self.overlay = BoardOverlay::None;
                self.status = format!("{id}: not stopped");
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn report(&mut self) -> Vec<BoardAction> {
        let chosen: Vec<&RunOverview> = match self.marked.is_empty() {
            true => self.selected_run().into_iter().collect(),
            false => self.marked_runs(),
        };
        let runs: Vec<PathBuf> = chosen.iter().filter_map(|run| run.path.clone()).collect();
        if runs.is_empty() {
            self.status = "nothing to report: mark runs with space, or select a started one".into();
            return Vec::new();
        }
        vec![BoardAction::Report { runs }]
    }

    fn compare(&mut self) {
        let marked = self.marked_runs();
        match marked.as_slice() {
            [first, second] => {
                self.overlay = BoardOverlay::Compare {
                    first: first.id.clone(),
                    second: second.id.clone(),
                };
            }
            _ => self.status = format!("mark two runs to compare (marked: {})", marked.len()),
        }
    }
}

/// Why a run takes no commands.
fn not_live(run: &RunOverview) -> &'static str {
    match run.state {
        RunState::Queued => "not started yet, nothing to steer",
        _ => "no process trains it, nothing to steer",
    }
}
