//! The 7x7 confusion matrix: rows are true classes, columns predictions, cells
//! row-normalised percentages with the diagonal in brackets (readable without
//! colour); colour themes add shading by value.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::data::EMOTIONS;
use crate::tui::state::{ConfusionSource, DashboardState};
use crate::tui::theme::Theme;

/// Column widths: the class-name column and each cell.
#[derive(Clone, Copy)]
struct Geometry {
    label: usize,
    cell: usize,
}

impl Geometry {
    const fn width(self) -> u16 {
        (2 + self.label + 7 * self.cell) as u16
    }
}

/// Full class names (`Surprise`) and a space between cells wide enough for `[100]`.
const FULL: Geometry = Geometry { label: 9, cell: 6 };
/// Three-letter class names, cells just wide enough for `[100]`.
const COMPACT: Geometry = Geometry { label: 4, cell: 5 };

/// Pane width (borders included) with full class names.
pub const FULL_WIDTH: u16 = FULL.width();
/// Pane width (borders included) with three-letter class names.
pub const COMPACT_WIDTH: u16 = COMPACT.width();

pub fn render(state: &DashboardState, area: Rect, buf: &mut Buffer, theme: &Theme) {
    render_with_cursor(state, None, area, buf, theme);
}

/// With the faces pane open, the selected (true, predicted) cell is marked `>`.
pub fn render_with_cursor(
    state: &DashboardState,
    cursor: Option<(usize, usize)>,
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
) {
    let title = match &state.confusion {
        Some((ConfusionSource::Validation { epoch }, _)) => {
            format!("Confusion % (val, epoch {epoch})")
        }
        Some((ConfusionSource::Test { epoch }, _)) => format!("Confusion % (test, epoch {epoch})"),
        None => "Confusion %".to_string(),
    };
    let block = theme.block(title);
    let inner = block.inner(area);
    block.render(area, buf);
    let Some((_, matrix)) = &state.confusion else {
        Paragraph::new(Line::styled("after the first validation", theme.dim())).render(inner, buf);
        return;
    };
    let geometry = if area.width >= FULL_WIDTH {
        FULL
    } else {
        COMPACT
    };
    let normalised = matrix.row_normalised();
    let mut lines = vec![header_line(geometry, theme)];
    lines.extend(
        normalised
            .iter()
            .enumerate()
            .map(|(truth, row)| row_line(truth, row, cursor, geometry, theme)),
    );
    Paragraph::new(lines).render(inner, buf);
}

fn class_name(class: usize, geometry: Geometry) -> String {
    let name = EMOTIONS.get(class).copied().unwrap_or("?");
    let shown: String = name
        .chars()
        .take(geometry.label.saturating_sub(1).max(3))
        .collect();
    format!("{shown:<width$}", width = geometry.label)
}

/// `true\pred` then three-letter names of the predicted classes.
fn header_line(geometry: Geometry, theme: &Theme) -> Line<'static> {
    let corner = if geometry.label >= FULL.label {
        "true\\pred"
    } else {
        "t\\p"
    };
    let mut text = format!("{corner:<width$}", width = geometry.label);
    for name in EMOTIONS {
        let short: String = name.chars().take(3).collect();
        text.push_str(&format!("{short:>width$}", width = geometry.cell));
    }
    Line::styled(text, theme.dim())
}

fn row_line(
    truth: usize,
    row: &[f64],
    cursor: Option<(usize, usize)>,
    geometry: Geometry,
    theme: &Theme,
) -> Line<'static> {
    let mut spans = vec![Span::raw(class_name(truth, geometry))];
    spans.extend(row.iter().enumerate().map(|(predicted, &fraction)| {
        let selected = cursor == Some((truth, predicted));
        cell(truth == predicted, selected, fraction, geometry.cell, theme)
    }));
    Line::from(spans)
}

fn cell(
    diagonal: bool,
    selected: bool,
    fraction: f64,
    width: usize,
    theme: &Theme,
) -> Span<'static> {
    let percent = (100.0 * fraction).round() as u32;
    let mut text = match (diagonal, percent) {
        (true, _) => format!("[{percent}]"),
        (false, 0) => ".".to_string(),
        (false, _) => percent.to_string(),
    };
    let style = if selected {
        if text.len() >= width {
            // `>[100]` does not fit a compact cell: the mark replaces the brackets.
            text = percent.to_string();
        }
        text.insert(0, '>');
        theme.selected()
    } else if diagonal {
        theme.heat(fraction).patch(theme.emphasis())
    } else {
        theme.heat(fraction)
    };
    Span::styled(format!("{text:>width$}"), style)
}
