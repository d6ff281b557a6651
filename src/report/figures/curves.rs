//! `curves.png`: accuracy and loss per epoch, training and validation, all runs
//! overlaid in four panels.

use std::path::Path;

use plotters::prelude::*;

use super::{draw_legend, padded_range, render, run_colour, text_style, Area, DrawResult};
use crate::report::error::ReportError;
use crate::report::record::{EpochRow, RunRecord};

pub const CURVES_SIZE: (u32, u32) = (1200, 800);

struct Panel {
    title: &'static str,
    y_label: &'static str,
    value: fn(&EpochRow) -> f64,
}

const PANELS: [Panel; 4] = [
    Panel {
        title: "Training accuracy",
        y_label: "accuracy (%)",
        value: |row| 100.0 * row.train_accuracy,
    },
    Panel {
        title: "Validation accuracy",
        y_label: "accuracy (%)",
        value: |row| 100.0 * row.val_accuracy,
    },
    Panel {
        title: "Training loss",
        y_label: "loss",
        value: |row| row.train_loss,
    },
    Panel {
        title: "Validation loss",
        y_label: "loss",
        value: |row| row.val_loss,
    },
];

pub fn draw_curves(path: &Path, records: &[RunRecord]) -> Result<(), ReportError> {
    render(path, CURVES_SIZE, |root| {
        for (index, (area, panel)) in root.split_evenly((2, 2)).iter().zip(&PANELS).enumerate() {
            // One legend is enough: the runs have the same colours in every panel.
            draw_panel(area, panel, records, index == 1)?;
        }
        Ok(())
    })
}

fn draw_panel(area: &Area, panel: &Panel, records: &[RunRecord], legend: bool) -> DrawResult {
    let last_epoch = records
        .iter()
        .flat_map(|r| r.epochs.iter().map(|row| row.epoch))
        .max()
        .unwrap_or(1)
        .max(2);
    let (low, high) = padded_range(
        records
            .iter()
            .flat_map(|r| r.epochs.iter().map(panel.value)),
    );
    let mut chart = ChartBuilder::on(area)
        .caption(panel.title, text_style(20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..last_epoch as f64, low..high)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(panel.y_label)
        .label_style(text_style(14))
        .axis_desc_style(text_style(15))
        .draw()?;
    for (index, record) in records.iter().enumerate() {
        let colour = run_colour(index);
        let points: Vec<(f64, f64)> = record
            .epochs
            .iter()
            .map(|row| (row.epoch as f64, (panel.value)(row)))
            .collect();
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(record.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    if legend {
        draw_legend(&mut chart, SeriesLabelPosition::LowerRight)?;
    }
    Ok(())
}
