//! Keys → actions. Steering keys become engine `Command`s; the rest only move
//! the interface.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{Action, App, Overlay};
use crate::run::Command;
use crate::tui::labels::{all_schedules, command_label};
use crate::tui::state::{LogLevel, RunStatus};

/// Every key, as the help overlay lists it.
pub const KEY_HELP: &[(&str, &str)] = &[
    ("p / space", "pause or resume training"),
    ("c", "save a checkpoint now"),
    ("s", "change the LR schedule (enter edits its settings)"),
    (
        "l / L",
        "set the learning rate from the next step on (L with faces open)",
    ),
    ("f", "show the faces behind a confusion cell"),
    (
        "arrows, hjkl",
        "with faces open: move over the confusion matrix",
    ),
    ("n", "queue a model to train after this run"),
    ("d", "remove the selected queued model"),
    (
        "up/down, j/k",
        "select in the queue (faces closed) or a picker",
    ),
    ("tab / v", "cycle which chart is large"),
    ("enter / esc", "apply / cancel a picker"),
    ("?", "toggle this help"),
    (QUIT_KEYS, "save a checkpoint and quit (asks first)"),
];

/// The keys that leave, as listed in [`KEY_HELP`].
pub const QUIT_KEYS: &str = "q / ctrl-c";

/// What the quit keys do in `fer watch`.
pub const WATCHER_QUIT_HELP: &str = "leave the dashboard (the run goes on)";

pub const READ_ONLY_NOTE: &str = "read-only: start with --control to steer";

impl App {
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<Action> {
        if key.kind == KeyEventKind::Release {
            return Vec::new();
        }
        let ctrl_c =
            key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL);
        match self.ui.overlay.clone() {
            Overlay::None if ctrl_c => self.request_quit(),
            Overlay::None => self.main_key(key.code),
            Overlay::Help => {
                self.close_overlay();
                Vec::new()
            }
            Overlay::SchedulePicker { selected } => self.schedule_picker_key(key.code, selected),
            Overlay::ScheduleEditor(editor) => self.schedule_editor_key(key.code, editor),
            Overlay::LrInput(input) => self.lr_input_key(key.code, input),
            Overlay::ModelPicker { selected } => self.model_picker_key(key.code, selected),
            Overlay::ConfirmQuit if ctrl_c => stop_and_quit(),
            Overlay::ConfirmQuit => self.confirm_quit_key(key.code),
        }
    }

    fn main_key(&mut self, code: KeyCode) -> Vec<Action> {
        match code {
            KeyCode::Char('p' | ' ') => self.toggle_pause(),
            KeyCode::Char('c') => self.checkpoint_now(),
            KeyCode::Char('s') => self.open_schedule_picker(),
            KeyCode::Char('f') => {
                self.faces.toggle();
                Vec::new()
            }
            KeyCode::Up | KeyCode::Char('k') if self.faces.visible => self.move_faces(-1, 0),
            KeyCode::Down | KeyCode::Char('j') if self.faces.visible => self.move_faces(1, 0),
            KeyCode::Left | KeyCode::Char('h') if self.faces.visible => self.move_faces(0, -1),
            KeyCode::Right | KeyCode::Char('l') if self.faces.visible => self.move_faces(0, 1),
            KeyCode::Char('l' | 'L') => self.open_lr_input(),
            KeyCode::Char('n') => self.open_model_picker(),
            KeyCode::Char('d') | KeyCode::Delete => self.remove_selected_queued(),
            KeyCode::Up | KeyCode::Char('k') => self.move_queue_selection(-1),
            KeyCode::Down | KeyCode::Char('j') => self.move_queue_selection(1),
            KeyCode::Tab | KeyCode::Char('v') => {
                self.ui.large_chart = self.ui.large_chart.next();
                Vec::new()
            }
            KeyCode::BackTab => {
                self.ui.large_chart = self.ui.large_chart.previous();
                Vec::new()
            }
            KeyCode::Char('?') => {
                self.ui.overlay = Overlay::Help;
                Vec::new()
            }
            KeyCode::Char('q') => self.request_quit(),
            KeyCode::Esc if self.escape_leaves => vec![Action::Quit],
            _ => Vec::new(),
        }
    }

    fn move_faces(&mut self, rows: isize, columns: isize) -> Vec<Action> {
        self.faces.move_cursor(rows, columns);
        Vec::new()
    }

    /// False (with a log line saying why) when steering is not possible.
    fn may_steer(&mut self) -> bool {
        if self.read_only {
            self.note(READ_ONLY_NOTE);
            return false;
        }
        true
    }

    /// Like `may_steer`, and the run must still be going.
    pub(super) fn may_steer_run(&mut self) -> bool {
        if !self.may_steer() {
            return false;
        }
        if self.state.status().is_over() {
            self.note("the run is over: nothing to steer");
            return false;
        }
        true
    }

    pub(super) fn send(&mut self, command: Command) -> Vec<Action> {
        self.state.log(
            LogLevel::Info,
            format!("requested: {}", command_label(&command)),
        );
        vec![Action::Send(command)]
    }

    fn toggle_pause(&mut self) -> Vec<Action> {
        if !self.may_steer_run() {
            return Vec::new();
        }
        match self.state.status() {
            RunStatus::Paused => self.send(Command::Resume),
            _ => self.send(Command::Pause),
        }
    }

    fn checkpoint_now(&mut self) -> Vec<Action> {
        if !self.may_steer_run() {
            return Vec::new();
        }
        self.state.checkpoint_pending = true;
        self.send(Command::CheckpointNow)
    }

    fn open_schedule_picker(&mut self) -> Vec<Action> {
        if self.may_steer_run() {
            let current = self.state.schedule;
            let selected = all_schedules()
                .iter()
                .position(|&name| Some(name) == current)
                .unwrap_or(0);
            self.ui.overlay = Overlay::SchedulePicker { selected };
        }
        Vec::new()
    }

    fn open_model_picker(&mut self) -> Vec<Action> {
        if self.may_steer_run() && !self.model_names.is_empty() {
            self.ui.overlay = Overlay::ModelPicker { selected: 0 };
        }
        Vec::new()
    }

    /// Asks the engine to drop the highlighted entry; the pane changes when the
    /// engine's `QueueChanged` arrives, so every viewer shows the same queue.
    fn remove_selected_queued(&mut self) -> Vec<Action> {
        if self.state.queue.is_empty() || !self.may_steer_run() {
            return Vec::new();
        }
        let index = self.state.queue_selected.min(self.state.queue.len() - 1);
        self.send(Command::RemoveQueued { index })
    }

    fn move_queue_selection(&mut self, delta: isize) -> Vec<Action> {
        self.state.queue_selected =
            step_within(self.state.queue_selected, delta, self.state.queue.len());
        Vec::new()
    }

    fn schedule_picker_key(&mut self, code: KeyCode, selected: usize) -> Vec<Action> {
        let schedules = all_schedules();
        match code {
            KeyCode::Up | KeyCode::Char('k') | KeyCode::Down | KeyCode::Char('j') => {
                let selected = step_within(selected, direction(code), schedules.len());
                self.ui.overlay = Overlay::SchedulePicker { selected };
                Vec::new()
            }
            KeyCode::Enter => match schedules.get(selected) {
                Some(&name) => self.choose_schedule(name),
                None => Vec::new(),
            },
            KeyCode::Esc | KeyCode::Char('q') => {
                self.close_overlay();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn model_picker_key(&mut self, code: KeyCode, selected: usize) -> Vec<Action> {
        match code {
            KeyCode::Up | KeyCode::Char('k') | KeyCode::Down | KeyCode::Char('j') => {
                let selected = step_within(selected, direction(code), self.model_names.len());
                self.ui.overlay = Overlay::ModelPicker { selected };
                Vec::new()
            }
            KeyCode::Enter => {
                self.close_overlay();
                match self.model_names.get(selected).cloned() {
                    Some(model) => self.send(Command::QueueModel { model }),
                    None => Vec::new(),
                }
            }
            KeyCode::Esc | KeyCode::Char('q') => {
                self.close_overlay();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// Quitting a live run asks first; a watcher or a finished run just leaves.
    fn request_quit(&mut self) -> Vec<Action> {
        if self.read_only || self.watching || self.state.status().is_over() {
            return vec![Action::Quit];
        }
        self.ui.overlay = Overlay::ConfirmQuit;
        Vec::new()
    }

    fn confirm_quit_key(&mut self, code: KeyCode) -> Vec<Action> {
        match code {
            KeyCode::Char('y' | 'Y') => {
                self.close_overlay();
                self.state.log(LogLevel::Info, "requested: stop");
                stop_and_quit()
            }
            KeyCode::Char('n' | 'N' | 'q') | KeyCode::Esc => {
                self.close_overlay();
                Vec::new()
            }
            _ => Vec::new(),
        }
    }
}

fn stop_and_quit() -> Vec<Action> {
    vec![Action::Send(Command::Stop), Action::Quit]
}

fn direction(code: KeyCode) -> isize {
    match code {
        KeyCode::Up | KeyCode::Char('k') => -1,
        _ => 1,
    }
}

/// `index + delta`, kept inside `0..len` (0 when empty).
pub(super) fn step_within(index: usize, delta: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    index.saturating_add_signed(delta).min(len - 1)
}
