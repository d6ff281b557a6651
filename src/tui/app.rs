//! The dashboard's state plus what only the interface knows (overlays, which
//! chart is large), and the mapping from keys to engine commands.

mod editing;
mod keys;

use std::path::PathBuf;

use crate::run::{Command, Event};
use crate::tui::faces::{FaceDrawing, FaceImages, FacesPane};
use crate::tui::state::{DashboardState, LogLevel};
use crate::tui::theme::Theme;

pub use editing::{NumberInput, ScheduleEditor};
pub use keys::{KEY_HELP, QUIT_KEYS, READ_ONLY_NOTE, WATCHER_QUIT_HELP};

/// What a key press asks of the outside world.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Forward to the engine's command channel (the queue too: the engine owns it).
    Send(Command),
    /// Leave the dashboard.
    Quit,
}

/// Which chart gets the large slot; the others share the rest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ChartFocus {
    #[default]
    Loss,
    Accuracy,
    LearningRate,
}

impl ChartFocus {
    pub fn next(self) -> Self {
        match self {
            Self::Loss => Self::Accuracy,
            Self::Accuracy => Self::LearningRate,
            Self::LearningRate => Self::Loss,
        }
    }

    pub fn previous(self) -> Self {
        self.next().next()
    }

    /// The charts in display order: the large one first.
    pub fn order(self) -> [Self; 3] {
        [self, self.next(), self.next().next()]
    }
}

/// A box drawn over the dashboard that takes the keys while open.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Overlay {
    #[default]
    None,
    Help,
    SchedulePicker {
        selected: usize,
    },
    /// The chosen schedule's settings, edited before it is applied.
    ScheduleEditor(ScheduleEditor),
    /// A new learning rate being typed.
    LrInput(NumberInput),
    ModelPicker {
        selected: usize,
    },
    ConfirmQuit,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct UiState {
    pub large_chart: ChartFocus,
    pub overlay: Overlay,
}

pub struct App {
    pub state: DashboardState,
    ui: UiState,
    theme: Theme,
    /// `fer watch` without `--control`: look, don't steer.
    read_only: bool,
    /// `fer watch`: the run belongs to another process, so quitting leaves it running.
    watching: bool,
    /// Architectures the model picker offers.
    model_names: Vec<String>,
    faces: FacesPane,
    /// Opened from `fer runs`: Esc (no overlay open) leaves, back to the board.
    escape_leaves: bool,
}

impl App {
    /// A dashboard that may steer the run; the model picker offers what
    /// `with_model_names` gives it (the CLI passes the model zoo's names).
    pub fn new(theme: Theme) -> Self {
        Self {
            state: DashboardState::new(),
            ui: UiState::default(),
            theme,
            read_only: false,
            watching: false,
            model_names: Vec::new(),
            faces: FacesPane::default(),
            escape_leaves: false,
        }
    }

    /// Where the faces pane finds the run (`faces.json`) and its validation images.
    pub fn with_faces(mut self, run_dir: Option<PathBuf>, images: FaceImages) -> Self {
        self.faces = FacesPane::new(run_dir, images);
        self
    }

    pub fn faces(&self) -> &FacesPane {
        &self.faces
    }

    /// True when the faces pane needs to know how this terminal draws images.
    pub fn faces_need_drawing(&self) -> bool {
        self.faces.needs_drawing() && !self.theme.is_ascii()
    }

    pub fn set_face_drawing(&mut self, drawing: FaceDrawing) {
        self.faces.set_drawing(drawing);
    }

    /// Call before drawing: reads the run's latest faces and prepares the selected
    /// cell's pictures while the pane is open (ASCII shades without colour).
    pub fn prepare_faces(&mut self) {
        if self.faces.visible && self.faces.needs_drawing() && self.theme.is_ascii() {
            self.faces.set_drawing(FaceDrawing::Ascii);
        }
        self.faces.prepare();
    }

    /// Read-only: steering keys only log why they did nothing.
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// A watcher of another process's run: `q` leaves at once and never stops the run.
    pub fn with_watching(mut self, watching: bool) -> Self {
        self.watching = watching;
        self
    }

    /// Esc with no overlay open leaves (`Action::Quit`), as q does for a watcher.
    pub fn with_escape_leaves(mut self, escape_leaves: bool) -> Self {
        self.escape_leaves = escape_leaves;
        self
    }

    pub fn is_watching(&self) -> bool {
        self.watching
    }

    /// Replaces the list the model picker offers.
    pub fn with_model_names(mut self, names: Vec<String>) -> Self {
        self.model_names = names;
        self
    }

    pub fn ui(&self) -> &UiState {
        &self.ui
    }

    pub fn theme(&self) -> &Theme {
        &self.theme
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    pub fn model_names(&self) -> &[String] {
        &self.model_names
    }

    /// Folds an engine event in (see `DashboardState::apply_at`).
    pub fn apply_at(&mut self, event: &Event, at: std::time::Instant) {
        self.state.apply_at(event, at);
        match event {
            Event::RunStarted { run_dir, .. } => self.faces.follow_run(run_dir),
            Event::EpochFinished(_) => self.faces.mark_stale(),
            _ => {}
        }
    }

    fn close_overlay(&mut self) {
        self.ui.overlay = Overlay::None;
    }

    fn note(&mut self, text: &str) {
        self.state.log(LogLevel::Warning, text);
    }
}
