//! The report's PNG figures, drawn with plotters into an RGB buffer and encoded
//! with `image`. Text uses the DejaVu Sans bundled in the binary, so figures look
//! the same on a machine without fonts.

mod confusion;
mod curves;
mod lr;
mod recall;

use std::error::Error;
use std::path::Path;
use std::sync::OnceLock;

use plotters::prelude::*;

use super::error::ReportError;

pub use confusion::{draw_confusion, CONFUSION_SIZE};
pub use curves::{draw_curves, CURVES_SIZE};
pub use lr::{draw_lr, LR_SIZE};
pub use recall::{draw_recall, RECALL_SIZE};

/// The family name every figure asks plotters for.
pub(crate) const FONT: &str = "sans-serif";
static DEJAVU_SANS: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

type DrawResult = Result<(), Box<dyn Error>>;
type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// Tableau 10: distinct, colour-blind-friendlier than plotters' primaries.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

pub fn run_colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Registers the bundled font once per process.
pub(crate) fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "the bundled DejaVu Sans font does not parse".to_string())
        })
        .clone()
}

/// Draws a `size` figure on a white canvas with `draw`, and writes it to `path` as PNG.
fn render(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> DrawResult,
) -> Result<(), ReportError> {
    let failed = |message: String| ReportError::Draw {
        path: path.to_path_buf(),
        message,
    };
    register_font().map_err(failed)?;
    let (width, height) = size;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(e.to_string()))?;
        draw(&root).map_err(|e| failed(e.to_string()))?;
        root.present().map_err(|e| failed(e.to_string()))?;
    }
    let image = image::RgbImage::from_raw(width, height, pixels)
        .ok_or_else(|| failed("the pixel buffer does not match the size".into()))?;
    image
        .save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| match e {
            image::ImageError::IoError(source) => ReportError::io(path, source),
            other => failed(other.to_string()),
        })
}

/// `(low, high)` of `values` with 5% padding; a unit span around a single value.
fn padded_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !low.is_finite() {
        return (0.0, 1.0);
    }
    if high - low < 1e-12 {
        return (low - 0.5, high + 0.5);
    }
    let pad = 0.05 * (high - low);
    (low - pad, high + pad)
}

fn text_style(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

/// The legend box every figure uses, at `position`.
fn draw_legend<'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
    position: SeriesLabelPosition,
) -> DrawResult {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(text_style(14))
        .draw()?;
    Ok(())
}
