//! The log pane (newest lines at the bottom) and the queue of models to run next.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::run::format::duration;
use crate::tui::state::DashboardState;
use crate::tui::theme::Theme;

pub fn render_log(state: &DashboardState, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let block = theme.block("Log");
    let inner = block.inner(area);
    block.render(area, buf);
    let lines: Vec<Line> = state
        .log
        .last(inner.height as usize)
        .map(|line| {
            Line::from(vec![
                Span::styled(format!("{:>8} ", duration(line.at_seconds)), theme.dim()),
                Span::styled(line.text.clone(), theme.log_level(line.level)),
            ])
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}

pub fn render_queue(state: &DashboardState, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let block = theme.block(format!("Queue ({})", state.queue.len()));
    let inner = block.inner(area);
    block.render(area, buf);
    if state.queue.is_empty() {
        Paragraph::new(vec![
            Line::styled("empty", theme.dim()),
            Line::styled("n adds a model", theme.dim()),
        ])
        .render(inner, buf);
        return;
    }
    let visible = inner.height as usize;
    let first = state
        .queue_selected
        .saturating_sub(visible.saturating_sub(1));
    let lines: Vec<Line> = state
        .queue
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(index, name)| {
            if index == state.queue_selected {
                Line::styled(format!("> {}. {name}", index + 1), theme.selected())
            } else {
                Line::raw(format!("  {}. {name}", index + 1))
            }
        })
        .collect();
    Paragraph::new(lines).render(inner, buf);
}
