//! The dashboard as a pure function of `App`: one module per pane, composed by
//! `draw`. Nothing here reads the clock, the environment or the terminal.

mod charts;
mod confusion;
mod faces;
mod header;
mod log;
mod overlay;
mod per_class;
mod progress;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::theme::Theme;

pub use charts::render as render_chart;
pub use confusion::render as render_confusion;
pub use faces::render as render_faces;
pub use header::render as render_header;
pub use log::{render_log, render_queue};
pub use overlay::render as render_overlay;
pub(crate) use overlay::render_box;
pub use per_class::render as render_per_class;
pub use progress::render as render_progress;

/// Below this the dashboard shows one line asking for more room.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
/// From this size on every pane is visible.
pub const FULL_WIDTH: u16 = 100;
pub const FULL_HEIGHT: u16 = 32;

const PROGRESS_HEIGHT: u16 = 4;
/// Seven classes, a header row and two borders.
const CLASS_ROW_HEIGHT: u16 = 10;
const LOG_HEIGHT: u16 = 8;
const QUEUE_WIDTH: u16 = 30;
/// Narrower than this, the per-class bars take the whole row in compact mode.
const MIN_PER_CLASS_WIDTH: u16 = 36;
/// Charts smaller than this are left out.
const MIN_CHART_HEIGHT: u16 = 5;

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    render(app, area, frame.buffer_mut());
}

/// Draws the whole dashboard into `buf` (what `draw` does, without a `Frame`).
pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let message = format!("terminal too small (need {MIN_WIDTH}x{MIN_HEIGHT})");
        Paragraph::new(message).render(area, buf);
        return;
    }
    if area.width >= FULL_WIDTH && area.height >= FULL_HEIGHT {
        render_full(app, area, buf);
    } else {
        render_compact(app, area, buf);
    }
    overlay::render(app, area, buf);
    theme.asciify(buf, area);
}

fn render_full(app: &App, area: Rect, buf: &mut Buffer) {
    if app.faces().visible {
        return render_full_with_faces(app, area, buf);
    }
    let (state, theme) = (&app.state, app.theme());
    let [header, progress, charts, classes, bottom, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(PROGRESS_HEIGHT),
        Constraint::Min(MIN_CHART_HEIGHT),
        Constraint::Length(CLASS_ROW_HEIGHT),
        Constraint::Length(LOG_HEIGHT),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(state, header, buf, theme);
    progress::render(state, progress, buf, theme);
    render_chart_grid(app, charts, buf);
    let [per_class, confusion] = Layout::horizontal([
        Constraint::Min(0),
        Constraint::Length(confusion::FULL_WIDTH),
    ])
    .areas(classes);
    per_class::render(state, per_class, buf, theme);
    confusion::render(state, confusion, buf, theme);
    let [log, queue] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(QUEUE_WIDTH)]).areas(bottom);
    log::render_log(state, log, buf, theme);
    log::render_queue(state, queue, buf, theme);
    render_footer(app, footer, buf, false);
}

/// The faces pane takes the charts' and the log's room; the confusion matrix
/// stays, with the cursor on it.
fn render_full_with_faces(app: &App, area: Rect, buf: &mut Buffer) {
    let (state, theme) = (&app.state, app.theme());
    let [header, progress, faces_area, classes, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(PROGRESS_HEIGHT),
        Constraint::Min(MIN_CHART_HEIGHT),
        Constraint::Length(CLASS_ROW_HEIGHT),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(state, header, buf, theme);
    progress::render(state, progress, buf, theme);
    faces::render(app, faces_area, buf);
    let [per_class, confusion] = Layout::horizontal([
        Constraint::Min(0),
        Constraint::Length(confusion::FULL_WIDTH),
    ])
    .areas(classes);
    per_class::render(state, per_class, buf, theme);
    let cursor = Some(app.faces().cursor);
    confusion::render_with_cursor(state, cursor, confusion, buf, theme);
    render_footer(app, footer, buf, false);
}

/// The large chart on the left half, the other two stacked on the right.
fn render_chart_grid(app: &App, area: Rect, buf: &mut Buffer) {
    let [large, small_first, small_second] = app.ui().large_chart.order();
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(right);
    charts::render(large, &app.state, left, buf, app.theme());
    charts::render(small_first, &app.state, top, buf, app.theme());
    charts::render(small_second, &app.state, bottom, buf, app.theme());
}

/// The essentials for small terminals: progress, the large chart, per-class
/// recall (and the confusion matrix when wide enough), the newest log line.
fn render_compact(app: &App, area: Rect, buf: &mut Buffer) {
    let (state, theme) = (&app.state, app.theme());
    let [header, progress, chart, classes, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(PROGRESS_HEIGHT),
        Constraint::Min(0),
        Constraint::Length(CLASS_ROW_HEIGHT),
        Constraint::Length(1),
    ])
    .areas(area);
    header::render(state, header, buf, theme);
    progress::render(state, progress, buf, theme);
    let cursor = app.faces().visible.then_some(app.faces().cursor);
    if cursor.is_some() {
        faces::render(app, chart, buf);
    } else if chart.height >= MIN_CHART_HEIGHT {
        charts::render(app.ui().large_chart, state, chart, buf, theme);
    }
    if cursor.is_some() {
        // The cursor needs the matrix: it takes the row, per-class bars or not.
        let [per_class, confusion] = Layout::horizontal([
            Constraint::Min(0),
            Constraint::Length(confusion::COMPACT_WIDTH),
        ])
        .areas(classes);
        per_class::render(state, per_class, buf, theme);
        confusion::render_with_cursor(state, cursor, confusion, buf, theme);
    } else if classes.width >= confusion::COMPACT_WIDTH + MIN_PER_CLASS_WIDTH {
        let [per_class, confusion] = Layout::horizontal([
            Constraint::Min(0),
            Constraint::Length(confusion::COMPACT_WIDTH),
        ])
        .areas(classes);
        per_class::render(state, per_class, buf, theme);
        confusion::render(state, confusion, buf, theme);
    } else {
        per_class::render(state, classes, buf, theme);
    }
    render_footer(app, footer, buf, true);
}

/// Key hints; in compact mode the newest log line comes first.
fn render_footer(app: &App, area: Rect, buf: &mut Buffer, with_last_log_line: bool) {
    let theme = app.theme();
    let hints = if app.is_read_only() {
        "read-only  f faces  tab chart  ? help  q quit"
    } else if app.is_watching() {
        "p pause  c checkpoint  s schedule  l lr  f faces  n queue  ? help  q leave (the run goes on)"
    } else {
        "p pause  c checkpoint  s schedule  l lr  f faces  n queue  tab chart  ? help  q quit"
    };
    let mut spans = Vec::new();
    if with_last_log_line {
        spans.push(Span::styled("? help  ", theme.dim()));
        if let Some(line) = app.state.log.last(1).next() {
            spans.push(Span::styled(line.text.clone(), theme.log_level(line.level)));
        }
    } else {
        spans.push(Span::styled(hints, theme.dim()));
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

/// A rectangle of at most `width` x `height` centred in `area`.
pub(crate) fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

/// Shared by panes that format numbers; `Theme` decides the glyphs.
pub(crate) fn bar_spans(theme: &Theme, fraction: f64, width: usize) -> Vec<Span<'static>> {
    let (filled, empty) = theme.bar(fraction, width);
    vec![
        Span::styled(filled, theme.bar_filled()),
        Span::styled(empty, theme.dim()),
    ]
}
