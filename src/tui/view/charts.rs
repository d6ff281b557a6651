//! Loss, accuracy and learning-rate charts; the x axis is in epochs everywhere.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line as TextLine, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Widget};

use crate::tui::app::ChartFocus;
use crate::tui::labels::{learning_rate, schedule_label};
use crate::tui::state::DashboardState;
use crate::tui::theme::{Series, Theme};

pub fn render(
    kind: ChartFocus,
    state: &DashboardState,
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
) {
    match kind {
        ChartFocus::Loss => render_loss(state, area, buf, theme),
        ChartFocus::Accuracy => render_accuracy(state, area, buf, theme),
        ChartFocus::LearningRate => render_learning_rate(state, area, buf, theme),
    }
}

/// One line of a chart: its points, name and series.
struct Line<'a> {
    points: &'a [(f64, f64)],
    name: &'static str,
    series: Series,
    graph: GraphType,
}

fn render_loss(state: &DashboardState, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let train: Vec<(f64, f64)> = state
        .epochs
        .iter()
        .map(|e| (e.epoch as f64, e.train_loss))
        .collect();
    let val: Vec<(f64, f64)> = state
        .epochs
        .iter()
        .map(|e| (e.epoch as f64, e.val_loss))
        .collect();
    let batch = state.batch_loss.points();
    let lines = [
        Line {
            points: batch,
            name: "batch (EMA)",
            series: Series::BatchLoss,
            graph: GraphType::Line,
        },
        Line {
            points: &train,
            name: "train",
            series: Series::Train,
            graph: GraphType::Line,
        },
        Line {
            points: &val,
            name: "val",
            series: Series::Validation,
            graph: GraphType::Line,
        },
    ];
    let values = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let y_bounds = padded_bounds(values, [0.0, f64::INFINITY], 0.05);
    let title = match state.epochs.last() {
        Some(last) => format!("Loss  val {:.3}", last.val_loss),
        None => "Loss".to_string(),
    };
    draw(
        &title,
        &lines,
        epoch_bounds(state),
        y_bounds,
        format_loss,
        area,
        buf,
        theme,
    );
}

fn render_accuracy(state: &DashboardState, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let train: Vec<(f64, f64)> = state
        .epochs
        .iter()
        .map(|e| (e.epoch as f64, 100.0 * e.train_accuracy))
        .collect();
    let val: Vec<(f64, f64)> = state
        .epochs
        .iter()
        .map(|e| (e.epoch as f64, 100.0 * e.val_accuracy))
        .collect();
    let lines = [
        Line {
            points: &train,
            name: "train",
            series: Series::Train,
            graph: GraphType::Line,
        },
        Line {
            points: &val,
            name: "val",
            series: Series::Validation,
            graph: GraphType::Line,
        },
    ];
    let values = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1));
    let y_bounds = padded_bounds(values, [0.0, 100.0], 2.0);
    let title = match state.epochs.last() {
        Some(last) => format!("Accuracy %  val {:.1}", 100.0 * last.val_accuracy),
        None => "Accuracy %".to_string(),
    };
    draw(
        &title,
        &lines,
        epoch_bounds(state),
        y_bounds,
        |v| format!("{v:.0}"),
        area,
        buf,
        theme,
    );
}

fn render_learning_rate(state: &DashboardState, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let steps_per_epoch = state.progress.steps_per_epoch.max(1) as f64;
    let in_epochs = |points: &[(f64, f64)]| -> Vec<(f64, f64)> {
        points
            .iter()
            .map(|&(step, lr)| (step / steps_per_epoch, lr))
            .collect()
    };
    let history = in_epochs(&state.lr_history);
    // The plan is drawn only ahead of the LR already used, so the two never overlap.
    let used_until = history.last().map_or(f64::NEG_INFINITY, |p| p.0);
    let plan: Vec<(f64, f64)> = in_epochs(&state.lr_plan)
        .into_iter()
        .filter(|p| p.0 > used_until)
        .collect();
    let lines = [
        Line {
            points: &plan,
            name: "plan",
            series: Series::Plan,
            graph: GraphType::Scatter,
        },
        Line {
            points: &history,
            name: "used",
            series: Series::LearningRate,
            graph: GraphType::Line,
        },
    ];
    let y_max = history.iter().chain(&plan).map(|p| p.1).fold(0.0, f64::max);
    let x_max = (state.progress.epochs as f64)
        .max(plan.last().map_or(1.0, |p| p.0))
        .max(1.0);
    let schedule = state.schedule.map_or("?", schedule_label);
    let title = format!("LR  {schedule}  now {}", learning_rate(state.progress.lr));
    draw(
        &title,
        &lines,
        [0.0, x_max],
        [0.0, y_max.max(1e-12) * 1.1],
        learning_rate,
        area,
        buf,
        theme,
    );
}

/// From epoch 0 to the current position, at least one epoch.
fn epoch_bounds(state: &DashboardState) -> [f64; 2] {
    let latest_batch = state.batch_loss.points().last().map_or(0.0, |p| p.0);
    let latest_epoch = state.epochs.last().map_or(0.0, |e| e.epoch as f64);
    [0.0, latest_batch.max(latest_epoch).ceil().max(1.0)]
}

#[allow(clippy::too_many_arguments)]
fn draw(
    title: &str,
    lines: &[Line<'_>],
    x_bounds: [f64; 2],
    y_bounds: [f64; 2],
    y_label: impl Fn(f64) -> String,
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
) {
    let datasets = lines
        .iter()
        .filter(|line| !line.points.is_empty())
        .map(|line| {
            Dataset::default()
                .marker(theme.marker(line.series))
                .graph_type(line.graph)
                .style(theme.series(line.series))
                .data(line.points)
        })
        .collect();
    let x_labels = [x_bounds[0], (x_bounds[0] + x_bounds[1]) / 2.0, x_bounds[1]]
        .map(|v| Span::raw(format!("{v:.0}")));
    let y_labels = [y_bounds[0], y_bounds[1]].map(|v| Span::raw(y_label(v)));
    Chart::new(datasets)
        .block(theme.block(title_with_legend(title, lines, theme)))
        .x_axis(
            Axis::default()
                .bounds(x_bounds)
                .labels(x_labels)
                .style(theme.dim()),
        )
        .y_axis(
            Axis::default()
                .bounds(y_bounds)
                .labels(y_labels)
                .style(theme.dim()),
        )
        .legend_position(None)
        .render(area, buf);
}

/// The legend lives in the title, where it never hides data: `Loss  ━ train  ━ val`.
fn title_with_legend(title: &str, lines: &[Line<'_>], theme: &Theme) -> TextLine<'static> {
    let mut spans = vec![Span::styled(title.to_string(), theme.title())];
    for line in lines {
        let label = format!("  {} {}", theme.legend_symbol(line.series), line.name);
        spans.push(Span::styled(label, theme.series(line.series)));
    }
    TextLine::from(spans)
}

fn format_loss(value: f64) -> String {
    format!("{value:.2}")
}

/// The range of `values` widened by a tenth (at least `min_pad`) on each side,
/// kept within `limits`; all of `limits` (or one unit) when there are no values.
fn padded_bounds(values: impl Iterator<Item = f64>, limits: [f64; 2], min_pad: f64) -> [f64; 2] {
    let (low, high) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), v| {
            (low.min(v), high.max(v))
        });
    if low > high {
        let top = if limits[1].is_finite() {
            limits[1]
        } else {
            limits[0] + 1.0
        };
        return [limits[0], top];
    }
    let pad = ((high - low) * 0.1).max(min_pad);
    [(low - pad).max(limits[0]), (high + pad).min(limits[1])]
}
