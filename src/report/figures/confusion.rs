//! `confusion-<run>.png`: a confusion matrix as a heat map, drawn in pixels: rows
//! are true emotions, columns predicted ones, each cell shows its count and its
//! share of the row, and its colour is that share.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{render, text_style, Area, DrawResult};
use crate::data::{EMOTIONS, NUM_CLASSES};
use crate::metrics::ConfusionMatrix;
use crate::report::error::ReportError;

pub const CONFUSION_SIZE: (u32, u32) = (720, 720);

/// Room for the row labels (left), the title (top) and the column labels (bottom).
const LEFT: i32 = 110;
const TOP: i32 = 70;
const BOTTOM: i32 = 60;
const RIGHT: i32 = 20;

/// The two ends of the colour scale (ColorBrewer "Blues").
const EMPTY: (f64, f64, f64) = (247.0, 251.0, 255.0);
const FULL: (f64, f64, f64) = (8.0, 48.0, 107.0);

pub fn draw_confusion(
    path: &Path,
    title: &str,
    matrix: &ConfusionMatrix,
) -> Result<(), ReportError> {
    render(path, CONFUSION_SIZE, |root| draw(root, title, matrix))
}

fn draw(root: &Area, title: &str, matrix: &ConfusionMatrix) -> DrawResult {
    let (width, height) = CONFUSION_SIZE;
    let cell =
        ((width as i32 - LEFT - RIGHT).min(height as i32 - TOP - BOTTOM)) / NUM_CLASSES as i32;
    let centred = Pos::new(HPos::Center, VPos::Center);
    root.draw(&Text::new(
        title.to_string(),
        (width as i32 / 2, 18),
        text_style(20).pos(centred),
    ))?;
    root.draw(&Text::new(
        "true \u{2193} / predicted \u{2192}",
        (10, TOP - 20),
        text_style(13).pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;
    let shares = matrix.row_normalised();
    for truth in 0..NUM_CLASSES {
        for predicted in 0..NUM_CLASSES {
            let share = shares
                .get(truth)
                .and_then(|row| row.get(predicted))
                .copied()
                .unwrap_or(0.0);
            let left = LEFT + predicted as i32 * cell;
            let top = TOP + truth as i32 * cell;
            draw_cell(
                root,
                (left, top),
                cell,
                matrix.count(truth, predicted),
                share,
            )?;
        }
    }
    let grid_bottom = TOP + NUM_CLASSES as i32 * cell;
    for (class, name) in EMOTIONS.iter().enumerate() {
        let middle = class as i32 * cell + cell / 2;
        root.draw(&Text::new(
            name.to_string(),
            (LEFT - 8, TOP + middle),
            text_style(15).pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
        root.draw(&Text::new(
            name.to_string(),
            (LEFT + middle, grid_bottom + 14),
            text_style(15).pos(centred),
        ))?;
    }
    Ok(())
}

fn draw_cell(
    root: &Area,
    (left, top): (i32, i32),
    cell: i32,
    count: u64,
    share: f64,
) -> DrawResult {
    let colour = shade(share);
    root.draw(&Rectangle::new(
        [(left, top), (left + cell, top + cell)],
        colour.filled(),
    ))?;
    root.draw(&Rectangle::new(
        [(left, top), (left + cell, top + cell)],
        RGBColor(200, 200, 200),
    ))?;
    // Dark cells get white text.
    let ink = if share > 0.5 { WHITE } else { BLACK };
    let centre = (left + cell / 2, top + cell / 2);
    let centred = Pos::new(HPos::Center, VPos::Center);
    root.draw(&Text::new(
        count.to_string(),
        (centre.0, centre.1 - 9),
        text_style(16).color(&ink).pos(centred),
    ))?;
    root.draw(&Text::new(
        format!("{:.0}%", 100.0 * share),
        (centre.0, centre.1 + 11),
        text_style(12).color(&ink).pos(centred),
    ))?;
    Ok(())
}

fn shade(share: f64) -> RGBColor {
    let t = share.clamp(0.0, 1.0);
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    RGBColor(
        mix(EMPTY.0, FULL.0),
        mix(EMPTY.1, FULL.1),
        mix(EMPTY.2, FULL.2),
    )
}
