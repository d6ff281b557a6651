//! The terminal dashboard: `state` folds engine events, `app` maps keys to
//! commands, `view` draws a pure picture of both, `terminal` is the only part
//! that touches the real terminal. `plain` is the headless line printer.
//!
//! Entry point: `run_dashboard(App::new(Theme::detect(ascii)), events, on_action)`.

pub mod app;
pub mod board;
pub mod faces;
pub mod labels;
pub mod plain;
pub mod state;
pub mod terminal;
pub mod theme;
pub mod view;

pub use app::{Action, App, ChartFocus, Overlay, UiState};
pub use state::{DashboardState, RunStatus};
pub use terminal::run_dashboard;
pub use theme::Theme;
