//! The board as a pure function of its state: a title line, the runs table, the
//! status line, the key hints, and the overlay on top.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Clear, Dataset, GraphType, LegendPosition, Paragraph, Widget};
use ratatui::Frame;

use super::keys::BOARD_KEY_HELP;
use super::state::{BoardOverlay, BoardState, StateFilter};
use super::table::{header, row, Widths};
use crate::run::listing::{RunOverview, RunState};
use crate::tui::theme::{Series, Theme};
use crate::tui::view::{centered, render_box};

const HINTS: &str = "enter open  p pause  s checkpoint  x stop  space mark  r report  c compare  / filter  f state  o sort  ? help  q quit";

pub fn draw(frame: &mut Frame, state: &BoardState, theme: &Theme) {
    let area = frame.area();
    render(state, theme, area, frame.buffer_mut());
}

/// Draws the whole board into `buf`.
pub fn render(state: &BoardState, theme: &Theme, area: Rect, buf: &mut Buffer) {
    if area.width < 40 || area.height < 8 {
        Paragraph::new("terminal too small for the board (need 40x8)").render(area, buf);
        return;
    }
    let [title, table, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    Paragraph::new(title_line(state, theme)).render(title, buf);
    render_table(state, theme, table, buf);
    Paragraph::new(status_line(state, theme)).render(status, buf);
    Paragraph::new(Line::styled(HINTS, theme.dim())).render(hints, buf);
    render_overlay(state, theme, area, buf);
    theme.asciify(buf, area);
}

fn title_line<'a>(state: &BoardState, theme: &Theme) -> Line<'a> {
    let shown = state.visible().len();
    let arrow = if state.reverse { "(reversed)" } else { "" };
    let mut spans = vec![
        Span::styled(" fer runs ", theme.title()),
        Span::raw(format!(
            " {}  {} run{} ({shown} shown)  sort: {} {arrow}",
            state.runs_dir.display(),
            state.runs.len(),
            if state.runs.len() == 1 { "" } else { "s" },
            state.sort.label(),
        )),
    ];
    if state.state_filter != StateFilter::All {
        spans.push(Span::raw(format!(
            "  state: {}",
            state.state_filter.label()
        )));
    }
    if state.overlay == BoardOverlay::Filter {
        spans.push(Span::styled(
            format!("  filter: {}_", state.filter),
            theme.emphasis(),
        ));
    } else if !state.filter.is_empty() {
        spans.push(Span::raw(format!("  filter: \"{}\"", state.filter)));
    }
    if !state.marked.is_empty() {
        spans.push(Span::raw(format!("  marked: {}", state.marked.len())));
    }
    Line::from(spans)
}

fn render_table(state: &BoardState, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let block = theme.block("Runs");
    let inner = block.inner(area);
    block.render(area, buf);
    let rows = state.visible();
    let widths = Widths::of(state.runs.iter());
    let mut lines = vec![Line::styled(
        format!("   {}", header(widths)),
        theme.emphasis(),
    )];
    if rows.is_empty() {
        let text = match state.runs.is_empty() {
            true => format!(
                "no runs in {} yet (fer train creates them)",
                state.runs_dir.display()
            ),
            false => "no run matches the filters (esc clears the text filter, f cycles states)"
                .to_string(),
        };
        lines.push(Line::styled(text, theme.dim()));
    }
    let visible = (inner.height as usize).saturating_sub(1).max(1);
    let selected = state.selected_index().unwrap_or(0);
    let first = selected.saturating_sub(visible - 1);
    for run in rows.iter().skip(first).take(visible) {
        let is_selected = state.selected.as_deref() == Some(run.id.as_str());
        let pointer = if is_selected { '>' } else { ' ' };
        let mark = if state.marked.contains(&run.id) {
            '*'
        } else {
            ' '
        };
        let text = format!("{pointer}{mark} {}", row(run, widths, theme.is_ascii()));
        let style = if is_selected {
            theme.selected()
        } else {
            state_style(run.state, theme)
        };
        lines.push(Line::styled(text, style));
    }
    Paragraph::new(lines).render(inner, buf);
}

fn state_style(state: RunState, theme: &Theme) -> ratatui::style::Style {
    match state {
        RunState::Running | RunState::Paused => theme.good(),
        RunState::Queued => theme.dim(),
        state if state.is_failure() => theme.bad(),
        _ => ratatui::style::Style::default(),
    }
}

fn status_line<'a>(state: &BoardState, theme: &Theme) -> Line<'a> {
    if !state.status.is_empty() {
        return Line::styled(format!(" {}", state.status), theme.emphasis());
    }
    if let Some(note) = state.notes.first() {
        return Line::styled(format!(" note: {note}"), theme.dim());
    }
    match state.selected_run() {
        Some(RunOverview {
            id,
            note: Some(note),
            ..
        }) => Line::styled(format!(" {id}: {note}"), theme.dim()),
        _ => Line::raw(""),
    }
}

fn render_overlay(state: &BoardState, theme: &Theme, area: Rect, buf: &mut Buffer) {
    match &state.overlay {
        BoardOverlay::None | BoardOverlay::Filter => {}
        BoardOverlay::Help => {
            let mut lines: Vec<Line> = BOARD_KEY_HELP
                .iter()
                .map(|&(keys, what)| Line::raw(format!("{keys:<13} {what}")))
                .collect();
            lines.push(Line::styled("any key closes this help", theme.dim()));
            render_box("Keys", lines, 60, area, buf, theme);
        }
        BoardOverlay::ConfirmStop { id, .. } => {
            let lines = vec![
                Line::raw(format!("Stop {id}? y/n")),
                Line::styled(
                    "(it saves a checkpoint and stops after the current step)",
                    theme.dim(),
                ),
            ];
            render_box("Stop", lines, 46, area, buf, theme);
        }
        BoardOverlay::Compare { first, second } => {
            if let (Some(a), Some(b)) = (state.run(first), state.run(second)) {
                render_compare(a, b, theme, area, buf);
            }
        }
    }
}

/// Both runs' val accuracy and train loss per epoch, in two charts side by side.
pub fn render_compare(
    first: &RunOverview,
    second: &RunOverview,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let rect = centered(
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
    );
    Clear.render(rect, buf);
    let block = theme.block("Compare (any key closes)");
    let inner = block.inner(rect);
    block.render(rect, buf);
    let [accuracy, loss] = if inner.width >= 80 {
        Layout::horizontal([Constraint::Percentage(50); 2]).areas(inner)
    } else {
        Layout::vertical([Constraint::Percentage(50); 2]).areas(inner)
    };
    let runs = [(first, Series::Train), (second, Series::Validation)];
    let curve = |run: &RunOverview, value: fn(&crate::run::listing::EpochPoint) -> f64| {
        run.history
            .iter()
            .map(|point| (point.epoch as f64, value(point)))
            .filter(|(_, y)| y.is_finite())
            .collect::<Vec<(f64, f64)>>()
    };
    let acc: Vec<Vec<(f64, f64)>> = runs
        .iter()
        .map(|(run, _)| curve(run, |p| 100.0 * p.val_accuracy))
        .collect();
    let losses: Vec<Vec<(f64, f64)>> = runs
        .iter()
        .map(|(run, _)| curve(run, |p| p.train_loss))
        .collect();
    let names = [first.id.as_str(), second.id.as_str()];
    let series = [runs[0].1, runs[1].1];
    chart(
        "Val accuracy %",
        &acc,
        names,
        series,
        LegendPosition::BottomRight,
        accuracy,
        buf,
        theme,
    );
    chart(
        "Train loss",
        &losses,
        names,
        series,
        LegendPosition::TopRight,
        loss,
        buf,
        theme,
    );
}

#[allow(clippy::too_many_arguments)]
fn chart(
    title: &str,
    curves: &[Vec<(f64, f64)>],
    names: [&str; 2],
    series: [Series; 2],
    legend: LegendPosition,
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
) {
    let datasets: Vec<Dataset> = curves
        .iter()
        .zip(names.iter().zip(series))
        .map(|(points, (name, series))| {
            Dataset::default()
                .name(format!("{} {name}", theme.legend_symbol(series)))
                .marker(theme.marker(series))
                .graph_type(GraphType::Line)
                .style(theme.series(series))
                .data(points)
        })
        .collect();
    let all = curves.iter().flatten();
    let (x_low, x_high) = bounds(all.clone().map(|p| p.0));
    let (y_low, y_high) = bounds(all.map(|p| p.1));
    let x_high = if x_high > x_low { x_high } else { x_low + 1.0 };
    let pad = ((y_high - y_low) * 0.1).max(0.01);
    let (y_low, y_high) = (y_low - pad, y_high + pad);
    let x_labels = [x_low, x_high].map(|v| Span::raw(format!("{v:.0}")));
    let y_labels = [y_low, y_high].map(|v| Span::raw(format!("{v:.2}")));
    Chart::new(datasets)
        .block(theme.block(title.to_string()))
        .x_axis(
            Axis::default()
                .title("epoch")
                .bounds([x_low, x_high])
                .labels(x_labels)
                .style(theme.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds([y_low, y_high])
                .labels(y_labels)
                .style(theme.dim()),
        )
        .legend_position(Some(legend))
        .hidden_legend_constraints((Constraint::Percentage(100), Constraint::Percentage(100)))
        .render(area, buf);
}

/// (lowest, highest) of the values; (0, 1) when there are none.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), v| {
        (low.min(v), high.max(v))
    });
    if low > high {
        (0.0, 1.0)
    } else {
        (low, high)
    }
}
