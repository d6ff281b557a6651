//! Validation recall per emotion, its change since the previous epoch and the
//! number of validation images of that class.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::bar_spans;
use crate::data::EMOTIONS;
use crate::tui::state::DashboardState;
use crate::tui::theme::Theme;

const NAME_WIDTH: usize = 9;
/// " 57.3%" + " +1.2" + " 1,234" and spacing.
const NUMBERS_WIDTH: usize = 22;

pub fn render(state: &DashboardState, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let title = match state.epochs.last() {
        Some(last) => format!("Val recall per class (epoch {})", last.epoch),
        None => "Val recall per class".to_string(),
    };
    let block = theme.block(title);
    let inner = block.inner(area);
    block.render(area, buf);
    let bar_width = (inner.width as usize).saturating_sub(NAME_WIDTH + NUMBERS_WIDTH);
    let mut lines = vec![Line::styled(
        format!(
            "{:<NAME_WIDTH$}{:bar_width$}{:>7}{:>7}{:>8}",
            "class", "", "recall", "change", "images"
        ),
        theme.dim(),
    )];
    lines.extend((0..EMOTIONS.len()).map(|class| class_line(state, class, bar_width, theme)));
    Paragraph::new(lines).render(inner, buf);
}

fn class_line(
    state: &DashboardState,
    class: usize,
    bar_width: usize,
    theme: &Theme,
) -> Line<'static> {
    let recall = state.val_recall.get(class).copied();
    let mut spans = vec![Span::raw(format!("{:<NAME_WIDTH$}", EMOTIONS[class]))];
    spans.extend(bar_spans(theme, recall.unwrap_or(0.0), bar_width));
    spans.push(Span::raw(match recall {
        Some(recall) => format!("{:>6.1}%", 100.0 * recall),
        None => format!("{:>7}", "--"),
    }));
    spans.push(change_span(state.recall_change(class), theme));
    let count = state
        .val_class_counts
        .get(class)
        .map_or("--".to_string(), |&n| {
            crate::run::format::with_thousands_separators(n)
        });
    spans.push(Span::styled(format!("{count:>8}"), theme.dim()));
    Line::from(spans)
}

/// `+1.2` / `-0.8` percentage points, coloured by direction.
fn change_span(change: Option<f64>, theme: &Theme) -> Span<'static> {
    match change {
        Some(change) => {
            let points = 100.0 * change;
            let style = if points > 0.05 {
                theme.good()
            } else if points < -0.05 {
                theme.bad()
            } else {
                theme.dim()
            };
            Span::styled(format!("{points:>+7.1}"), style)
        }
        None => Span::styled(format!("{:>7}", ""), theme.dim()),
    }
}
