//! `lr.png`: the learning rate each run followed, x in epochs.

use std::path::Path;

use plotters::prelude::*;

use super::{draw_legend, padded_range, render, run_colour, text_style};
use crate::report::error::ReportError;
use crate::report::record::RunRecord;

pub const LR_SIZE: (u32, u32) = (900, 500);

pub fn draw_lr(path: &Path, records: &[RunRecord]) -> Result<(), ReportError> {
    render(path, LR_SIZE, |root| {
        let last = records
            .iter()
            .flat_map(|r| r.lr.points.iter().map(|&(x, _)| x))
            .fold(1.0, f64::max);
        let (_, high) = padded_range(
            records
                .iter()
                .flat_map(|r| r.lr.points.iter().map(|&(_, lr)| lr)),
        );
        let mut chart = ChartBuilder::on(root)
            .caption("Learning rate", text_style(22))
            .margin(15)
            .x_label_area_size(40)
            .y_label_area_size(75)
            .build_cartesian_2d(0f64..last, 0f64..high.max(1e-9))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("learning rate")
            .y_label_formatter(&|lr| lr_label(*lr, high))
            .label_style(text_style(14))
            .axis_desc_style(text_style(15))
            .draw()?;
        for (index, record) in records.iter().enumerate() {
            let colour = run_colour(index);
            let label = if record.lr.per_step {
                record.label.clone()
            } else {
                format!("{} (per epoch)", record.label)
            };
            chart
                .draw_series(LineSeries::new(
                    record.lr.points.iter().copied(),
                    colour.stroke_width(2),
                ))?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        draw_legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// Plain decimals for the usual SGD rates, scientific notation for small (AdamW) ones.
fn lr_label(lr: f64, high: f64) -> String {
    if high >= 0.01 {
        format!("{lr:.3}")
    } else {
        format!("{lr:.1e}")
    }
}
