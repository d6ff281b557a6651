//! One line: what runs where, for how long, and its status.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::run::format::{duration, with_thousands_separators as thousands};
use crate::tui::state::DashboardState;
use crate::tui::theme::Theme;

pub fn render(state: &DashboardState, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let status = state.status();
    let status_text = if theme.is_ascii() {
        format!(" [{}]", status.label())
    } else {
        format!(" {} ", status.label())
    };
    let status_width = status_text.len() as u16;
    let [left, right] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(status_width)]).areas(area);
    Paragraph::new(Line::from(facts(state, theme))).render(left, buf);
    Paragraph::new(Span::styled(status_text, theme.status(&status))).render(right, buf);
}

fn facts(state: &DashboardState, theme: &Theme) -> Vec<Span<'static>> {
    let info = &state.info;
    if info.run_id.is_empty() {
        return vec![Span::styled(
            " fer  waiting for the run to start...",
            theme.dim(),
        )];
    }
    let separator = || Span::styled("  ", theme.dim());
    let mut spans = vec![Span::styled(" fer ", theme.title())];
    if !state.unsaved.is_empty() {
        // First, so that a narrow terminal still shows it.
        let mark = if theme.is_ascii() { "!" } else { "⚠" };
        spans.push(Span::styled(
            format!("{mark} not saved: {} ", state.unsaved.join(", ")),
            theme.bad().add_modifier(ratatui::style::Modifier::BOLD),
        ));
    }
    spans.extend([
        Span::styled(
            format!("{} ({} params)", info.model, thousands(info.parameters)),
            theme.emphasis(),
        ),
        separator(),
        Span::raw(format!("elapsed {}", duration(state.elapsed_seconds()))),
        separator(),
        Span::raw(info.device.clone()),
        separator(),
        Span::styled(format!("run {}", info.run_id), theme.dim()),
        separator(),
        Span::styled(info.data_source.clone(), theme.dim()),
    ]);
    spans
}
