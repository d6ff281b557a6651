//! Faces in ordinary photos: found with SeetaFace's frontal detector (rustface,
//! its model embedded in the binary), then cropped the way FER2013 faces look —
//! square, with a margin, grey, 48x48 — so the model sees what it was trained on.

pub mod annotate;

use std::io::Cursor;

use image::GrayImage;
use serde::Serialize;

use crate::data::training_pixels;

/// The SeetaFace Detection frontal model (BSD-2, assets/models/LICENSE-SeetaFace.txt).
static SEETA_FACE_MODEL: &[u8] = include_bytes!("../../assets/models/seeta_fd_frontal_v1.0.bin");

/// The crop's margin on each side, as a fraction of the detected face's side:
/// FER2013 faces show a little forehead, chin and background around the face.
pub const CROP_MARGIN: f64 = 0.1;

/// The detector's window: at the photo's own scale it finds faces this big and bigger.
const WINDOW: u32 = 40;

/// The smallest face `--min-face` may ask for: the photo is enlarged by `WINDOW /
/// min_face` to find smaller faces than the window, at most twice.
pub const SMALLEST_FACE: u32 = 20;

/// A face's box in the original image's pixels, and how sure the detector is
/// (`None` for a whole image taken as a face with `--no-detect`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct FaceBox {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub score: Option<f64>,
}

impl FaceBox {
    /// The whole image, for inputs that already are face crops.
    pub fn whole(image: &GrayImage) -> Self {
        Self {
            x: 0,
            y: 0,
            width: image.width(),
            height: image.height(),
            score: None,
        }
    }
}

pub struct FaceDetector {
    inner: Box<dyn rustface::Detector>,
    min_face: u32,
}

#[derive(Debug, thiserror::Error)]
#[error("the embedded face detection model does not load: {0}")]
pub struct DetectorError(std::io::Error);

impl FaceDetector {
    /// Finds faces of at least `min_face` pixels (at least `SMALLEST_FACE`).
    /// The settings are rustface's recommended ones.
    pub fn new(min_face: u32) -> Result<Self, DetectorError> {
        let model = rustface::read_model(Cursor::new(SEETA_FACE_MODEL)).map_err(DetectorError)?;
        let mut inner = rustface::create_detector_with_model(model);
        let min_face = min_face.max(SMALLEST_FACE);
        inner.set_score_thresh(2.0);
        inner.set_pyramid_scale_factor(0.8);
        inner.set_slide_window_step(4, 4);
        Ok(Self { inner, min_face })
    }

    /// The faces in `image`, in reading order (top to bottom, then left to right).
    /// rustface 0.1.7 ignores its own minimum face size (it always searches from its
    /// 40 px window up), so the photo is scaled by `WINDOW / min_face` instead: a
    /// `--min-face` of 80 searches a half-size photo, four times faster.
    pub fn detect(&mut self, image: &GrayImage) -> Vec<FaceBox> {
        let (width, height) = image.dimensions();
        // rustface panics on an image smaller than its window.
        if width.min(height) < self.min_face {
            return Vec::new();
        }
        let scale = WINDOW as f64 / self.min_face as f64;
        let scaled = match self.min_face {
            WINDOW => None,
            _ => Some(image::imageops::resize(
                image,
                (width as f64 * scale).round().max(1.0) as u32,
                (height as f64 * scale).round().max(1.0) as u32,
                image::imageops::FilterType::Triangle,
            )),
        };
        let searched = scaled.as_ref().unwrap_or(image);
        let data = rustface::ImageData::new(searched.as_raw(), searched.width(), searched.height());
        let mut faces: Vec<FaceBox> = self
            .inner
            .detect(&data)
            .iter()
            .filter_map(|face| clamped(&unscaled(face.bbox(), scale), width, height, face.score()))
            .filter(|face| face.width.max(face.height) >= self.min_face)
            .collect();
        faces.sort_by_key(|face| (face.y / face.height.max(1), face.x));
        faces
    }
}

/// A box found in the scaled photo, in the photo's own pixels.
fn unscaled(bbox: &rustface::Rectangle, scale: f64) -> rustface::Rectangle {
    let back = |value: f64| (value / scale).round();
    rustface::Rectangle::new(
        back(bbox.x() as f64) as i32,
        back(bbox.y() as f64) as i32,
        back(bbox.width() as f64) as u32,
        back(bbox.height() as f64) as u32,
    )
}

/// The detector's box inside the image (it may reach past an edge).
fn clamped(bbox: &rustface::Rectangle, width: u32, height: u32, score: f64) -> Option<FaceBox> {
    let x0 = bbox.x().clamp(0, width as i32) as u32;
    let y0 = bbox.y().clamp(0, height as i32) as u32;
    let x1 = (bbox.x() + bbox.width() as i32).clamp(0, width as i32) as u32;
    let y1 = (bbox.y() + bbox.height() as i32).clamp(0, height as i32) as u32;
    (x1 > x0 && y1 > y0).then_some(FaceBox {
        x: x0,
        y: y0,
        width: x1 - x0,
        height: y1 - y0,
        score: Some(score),
    })
}

/// The face as training data: a square around the box's centre, `CROP_MARGIN` wider
/// on each side than its longer side, edge pixels repeated where it leaves the image,
/// resized to 48x48 like every training image.
pub fn face_pixels(image: &GrayImage, face: &FaceBox) -> Vec<u8> {
    if face.score.is_none() {
        return training_pixels(image);
    }
    let side = (face.width.max(face.height) as f64 * (1.0 + 2.0 * CROP_MARGIN)).round() as i64;
    let centre_x = face.x as i64 + face.width as i64 / 2;
    let centre_y = face.y as i64 + face.height as i64 / 2;
    let (left, top) = (centre_x - side / 2, centre_y - side / 2);
    let (max_x, max_y) = (image.width() as i64 - 1, image.height() as i64 - 1);
    let square = GrayImage::from_fn(side as u32, side as u32, |x, y| {
        let source_x = (left + x as i64).clamp(0, max_x) as u32;
        let source_y = (top + y as i64).clamp(0, max_y) as u32;
        *image.get_pixel(source_x, source_y)
    });
    training_pixels(&square)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crop_is_a_square_with_margin_repeating_the_edge() {
        // Left half black, right half white; a face box at the left edge.
        let image = GrayImage::from_fn(200, 100, |x, _| {
            image::Luma([if x < 100 { 0 } else { 255 }])
        });
        let face = FaceBox {
            x: 0,
            y: 25,
            width: 50,
            height: 50,
            score: Some(3.0),
        };
        let pixels = face_pixels(&image, &face);
        assert_eq!(pixels.len(), crate::data::IMAGE_PIXELS);
        assert!(
            pixels.iter().all(|&p| p == 0),
            "60 px square around x 25: all black"
        );
        let whole = face_pixels(&image, &FaceBox::whole(&image));
        assert_eq!(whole, training_pixels(&image));
    }

    #[test]
    fn a_box_past_the_edge_is_clamped() {
        let inside = clamped(&rustface::Rectangle::new(-10, 5, 40, 500), 100, 100, 1.5);
        assert_eq!(
            inside,
            Some(FaceBox {
                x: 0,
                y: 5,
                width: 30,
                height: 95,
                score: Some(1.5)
            })
        );
        assert_eq!(
            clamped(&rustface::Rectangle::new(200, 5, 40, 40), 100, 100, 1.0),
            None
        );
    }

    #[test]
    fn the_embedded_model_loads_and_a_blank_image_has_no_face() {
        let mut detector = FaceDetector::new(20).unwrap();
        assert!(detector.detect(&GrayImage::new(120, 90)).is_empty());
        assert!(
            detector.detect(&GrayImage::new(10, 10)).is_empty(),
            "too small to search"
        );
    }
}
