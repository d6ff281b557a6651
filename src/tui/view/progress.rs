//! Epoch and step gauges, speed, ETA (validation included), loss, best so far.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::bar_spans;
use crate::run::format::{duration, with_thousands_separators as thousands};
use crate::tui::labels::{learning_rate, percent};
use crate::tui::state::DashboardState;
use crate::tui::theme::Theme;

const LABEL_WIDTH: usize = 14;
const RIGHT_WIDTH: usize = 40;

pub fn render(state: &DashboardState, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let block = theme.block("Progress");
    let inner = block.inner(area);
    block.render(area, buf);
    let width = inner.width as usize;
    let p = &state.progress;
    let epoch_label = format!("epoch {}/{}", p.epoch, p.epochs);
    let step_label = format!("step {}/{}", p.step, p.steps_per_epoch);
    let speed = speed_text(state);
    let lines = vec![
        gauge_line(
            epoch_label,
            p.run_fraction(),
            vec![Span::raw(format!("{speed}  {}", eta_text(state)))],
            width,
            theme,
        ),
        gauge_line(
            step_label,
            p.epoch_fraction(),
            loss_and_best(state, theme),
            width,
            theme,
        ),
    ];
    Paragraph::new(lines).render(inner, buf);
}

/// `label [bar] pct  right`, with the bar taking whatever room is left.
fn gauge_line(
    label: String,
    fraction: f64,
    right: Vec<Span<'static>>,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let bar_width = width.saturating_sub(LABEL_WIDTH + RIGHT_WIDTH + 9);
    let mut spans = vec![Span::styled(
        format!("{label:<LABEL_WIDTH$}"),
        theme.emphasis(),
    )];
    spans.extend(bar_spans(theme, fraction, bar_width));
    spans.push(Span::raw(format!(" {:>6}   ", percent(fraction))));
    spans.extend(right);
    Line::from(spans)
}

/// "1,234 img/s", and with several replicas how it splits: "140 img/s (70+70, all-reduce 9%)".
fn speed_text(state: &DashboardState) -> String {
    let total = thousands(state.progress.images_per_second.round() as usize);
    match &state.replicas {
        Some(replicas) if replicas.images_per_second.len() > 1 => {
            let each: Vec<String> = replicas
                .images_per_second
                .iter()
                .map(|rate| thousands(rate.round() as usize))
                .collect();
            format!(
                "{total} img/s ({}, all-reduce {})",
                each.join("+"),
                percent(replicas.all_reduce_share)
            )
        }
        Some(replicas) => format!(
            "{total} img/s (all-reduce {})",
            percent(replicas.all_reduce_share)
        ),
        None => format!("{total} img/s"),
    }
}

fn eta_text(state: &DashboardState) -> String {
    if state.status().is_over() {
        return "ETA done".into();
    }
    match state.eta_seconds() {
        Some(seconds) if state.eta.includes_validation() => format!("ETA {}", duration(seconds)),
        // Until an epoch has finished, validation time is unknown: a lower bound.
        Some(seconds) => format!("ETA >{}", duration(seconds)),
        None => "ETA --".into(),
    }
}

fn loss_and_best(state: &DashboardState, theme: &Theme) -> Vec<Span<'static>> {
    let p = &state.progress;
    let mut spans = vec![Span::raw(format!(
        "loss {:.4}  lr {}",
        p.epoch_loss,
        learning_rate(p.lr)
    ))];
    if let Some((epoch, accuracy)) = state.best {
        spans.push(Span::styled(
            format!("  best {} @{epoch}", percent(accuracy)),
            theme.good(),
        ));
    }
    spans
}
