//! Annotated copies of photos: each face's box and label drawn on the original,
//! at its size, with the bundled font (the report's figures use it too).

use std::path::Path;

use image::{DynamicImage, RgbImage};
use plotters::prelude::*;

use super::FaceBox;
use crate::report::figures::{register_font, FONT};

/// A box to draw and the text above it (`Happy 81%`).
pub struct Annotation {
    pub face: FaceBox,
    pub label: String,
}

const BOX_COLOUR: RGBColor = RGBColor(255, 48, 48);

/// The image with every annotation drawn on it; the same width and height.
pub fn annotate(image: DynamicImage, annotations: &[Annotation]) -> Result<RgbImage, String> {
    register_font()?;
    let mut rgb = image.into_rgb8();
    let size = rgb.dimensions();
    {
        let root = BitMapBackend::with_buffer(&mut rgb, size).into_drawing_area();
        for annotation in annotations {
            draw(&root, annotation, size).map_err(|e| e.to_string())?;
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(rgb)
}

fn draw(
    root: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
    annotation: &Annotation,
    (width, _): (u32, u32),
) -> Result<(), Box<dyn std::error::Error>> {
    let FaceBox {
        x,
        y,
        width: w,
        height: h,
        ..
    } = annotation.face;
    let (x, y, w, h) = (x as i32, y as i32, w as i32, h as i32);
    let stroke = (width / 500).max(2);
    root.draw(&Rectangle::new(
        [(x, y), (x + w, y + h)],
        BOX_COLOUR.stroke_width(stroke),
    ))?;
    // Text about a quarter of the face's height, readable from 12 px up; above the
    // box, or inside it at the top edge of the image.
    let text_height = (h / 4).max(12);
    let text_width = text_height * annotation.label.chars().count() as i32 * 11 / 20;
    let top = if y >= text_height + 2 {
        y - text_height - 2
    } else {
        y + 2
    };
    root.draw(&Rectangle::new(
        [(x, top), (x + text_width, top + text_height + 2)],
        BOX_COLOUR.filled(),
    ))?;
    let style = (FONT, text_height as f64).into_font().color(&WHITE);
    root.draw(&Text::new(
        annotation.label.clone(),
        (x + 2, top + 1),
        style,
    ))?;
    Ok(())
}

/// Saves in the format its name says (PNG or JPEG, as the input was).
pub fn save(image: &RgbImage, path: &Path) -> Result<(), image::ImageError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(image::ImageError::IoError)?;
    }
    image.save(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotation_keeps_the_size_and_draws_the_box() {
        let image =
            DynamicImage::ImageLuma8(image::GrayImage::from_pixel(160, 120, image::Luma([200])));
        let face = FaceBox {
            x: 40,
            y: 40,
            width: 60,
            height: 60,
            score: Some(4.0),
        };
        let label = "Happy 81%".to_string();
        let drawn = annotate(image, &[Annotation { face, label }]).unwrap();
        assert_eq!(drawn.dimensions(), (160, 120));
        assert_eq!(
            drawn.get_pixel(40, 70).0,
            [255, 48, 48],
            "the box's left edge"
        );
        assert_eq!(
            drawn.get_pixel(70, 70).0,
            [200, 200, 200],
            "inside the box untouched"
        );
    }
}
