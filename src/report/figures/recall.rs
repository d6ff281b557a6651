//! `recall.png`: each run's validation recall per emotion at its best epoch, as
//! grouped bars (one group per emotion, one bar per run).

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{draw_legend, render, run_colour, text_style};
use crate::data::{EMOTIONS, NUM_CLASSES};
use crate::report::error::ReportError;
use crate::report::record::RunRecord;

pub const RECALL_SIZE: (u32, u32) = (1100, 550);

/// Share of a group's width the bars fill (the rest separates the groups).
const GROUP_FILL: f64 = 0.8;

pub fn draw_recall(path: &Path, records: &[RunRecord]) -> Result<(), ReportError> {
    render(path, RECALL_SIZE, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Validation recall per emotion (best epoch)", text_style(22))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5f64..NUM_CLASSES as f64 - 0.5, 0f64..100f64)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            // Emotion names go under the groups' centres below, not at numeric ticks.
            .x_labels(0)
            .y_desc("recall (%)")
            .label_style(text_style(14))
            .axis_desc_style(text_style(15))
            .draw()?;
        for (class, name) in EMOTIONS.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(class as f64, 0.0));
            root.draw(&Text::new(
                name.to_string(),
                (x, y + 16),
                text_style(15).pos(Pos::new(HPos::Center, VPos::Center)),
            ))?;
        }
        let bar_width = GROUP_FILL / records.len().max(1) as f64;
        for (index, record) in records.iter().enumerate() {
            let colour = run_colour(index);
            let Some(best) = record.best_row() else {
                continue;
            };
            let bars = best.val_recall.iter().enumerate().map(|(class, recall)| {
                let left = class as f64 - GROUP_FILL / 2.0 + index as f64 * bar_width;
                Rectangle::new(
                    [(left, 0.0), (left + bar_width, 100.0 * recall)],
                    colour.filled(),
                )
            });
            chart
                .draw_series(bars)?
                .label(record.label.as_str())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled())
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}
