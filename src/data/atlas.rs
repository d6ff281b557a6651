//! The bundled sample's compact form: every face as a 48 x 48 tile of one grey
//! PNG (lossless, and PNG's row filters suit faces: ~25% smaller than the pixels
//! gzipped as CSV), with a text file of emotions, one line per split.
//!
//! ```text
//! # comment lines start with #
//! columns 40
//! Training 3 0 2 ...     (one emotion 0-6 per face, in reading order)
//! PublicTest 3 6 ...     (the faces after the Training ones)
//! ```

use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{GrayImage, ImageEncoder};

use super::{Dataset, Split, IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};

/// Why an atlas could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the face atlas is unreadable: {0}")]
pub struct AtlasError(String);

/// Reads `png` (the tiles) and `labels` (as written by [`write`]) into train and
/// validation splits; other usages are refused.
pub fn read(png: &[u8], labels: &str) -> Result<Dataset, AtlasError> {
    let atlas = image::load_from_memory(png)
        .map_err(|e| AtlasError(e.to_string()))?
        .into_luma8();
    let (columns, splits) = parse_labels(labels)?;
    let mut dataset = Dataset::default();
    let mut tile = 0;
    for (usage, emotions) in splits {
        let split = match usage.as_str() {
            "Training" => &mut dataset.train,
            "PublicTest" => &mut dataset.val,
            "PrivateTest" => &mut dataset.test,
            other => return Err(AtlasError(format!("unknown split `{other}`"))),
        };
        for emotion in emotions {
            split.push(&tile_pixels(&atlas, columns, tile)?, emotion);
            tile += 1;
        }
    }
    Ok(dataset)
}

/// `(columns, [(usage, emotions)])`.
type Labels = (usize, Vec<(String, Vec<u8>)>);

fn parse_labels(text: &str) -> Result<Labels, AtlasError> {
    let mut columns = None;
    let mut splits = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let head = words.next().unwrap_or_default();
        if head == "columns" {
            let value = words.next().and_then(|word| word.parse().ok());
            columns = Some(
                value
                    .filter(|&c| c > 0)
                    .ok_or_else(|| AtlasError(format!("bad line `{line}`")))?,
            );
            continue;
        }
        let emotions = words
            .map(|word| match word.parse::<u8>() {
                Ok(emotion) if usize::from(emotion) < NUM_CLASSES => Ok(emotion),
                _ => Err(AtlasError(format!("`{word}` is not an emotion 0-6"))),
            })
            .collect::<Result<Vec<u8>, _>>()?;
        splits.push((head.to_string(), emotions));
    }
    let columns = columns.ok_or_else(|| AtlasError("no `columns` line".into()))?;
    Ok((columns, splits))
}

fn tile_pixels(atlas: &GrayImage, columns: usize, tile: usize) -> Result<Vec<u8>, AtlasError> {
    let (x0, y0) = ((tile % columns) * IMAGE_SIDE, (tile / columns) * IMAGE_SIDE);
    if (x0 + IMAGE_SIDE) as u32 > atlas.width() || (y0 + IMAGE_SIDE) as u32 > atlas.height() {
        return Err(AtlasError(format!("face {tile} lies outside the image")));
    }
    let mut pixels = Vec::with_capacity(IMAGE_PIXELS);
    for y in y0..y0 + IMAGE_SIDE {
        for x in x0..x0 + IMAGE_SIDE {
            pixels.push(atlas.get_pixel(x as u32, y as u32).0[0]);
        }
    }
    Ok(pixels)
}

/// The atlas of `splits` (usage name, faces) with `columns` tiles a row: PNG bytes
/// and the label text.
pub fn write(splits: &[(&str, &Split)], columns: usize) -> Result<(Vec<u8>, String), AtlasError> {
    let total: usize = splits.iter().map(|(_, split)| split.len()).sum();
    let rows = total.div_ceil(columns.max(1));
    let (width, height) = ((columns * IMAGE_SIDE) as u32, (rows * IMAGE_SIDE) as u32);
    let mut atlas = GrayImage::new(width, height);
    let mut labels = format!(
        "# fer's bundled sample: the faces of sample.png, {IMAGE_SIDE}x{IMAGE_SIDE} tiles in reading order,\n\
         # and their emotions (0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise, 6 Neutral)\ncolumns {columns}\n"
    );
    let mut tile = 0;
    for (usage, split) in splits {
        labels.push_str(usage);
        for (index, &label) in split.labels.iter().enumerate() {
            let pixels = &split.images[index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS];
            let (x0, y0) = ((tile % columns) * IMAGE_SIDE, (tile / columns) * IMAGE_SIDE);
            for (offset, &value) in pixels.iter().enumerate() {
                let (x, y) = (x0 + offset % IMAGE_SIDE, y0 + offset / IMAGE_SIDE);
                atlas.put_pixel(x as u32, y as u32, image::Luma([value]));
            }
            labels.push_str(&format!(" {label}"));
            tile += 1;
        }
        labels.push('\n');
    }
    let mut png = Vec::new();
    PngEncoder::new_with_quality(
        Cursor::new(&mut png),
        CompressionType::Best,
        FilterType::Adaptive,
    )
    .write_image(&atlas, width, height, image::ExtendedColorType::L8)
    .map_err(|e| AtlasError(e.to_string()))?;
    Ok((png, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(faces: &[(u8, u8)]) -> Split {
        let mut split = Split::default();
        for &(shade, label) in faces {
            split.push(&vec![shade; IMAGE_PIXELS], label);
        }
        split
    }

    #[test]
    fn an_atlas_reads_back_as_written() {
        let train = split(&[(10, 0), (20, 3), (30, 6)]);
        let val = split(&[(40, 5), (50, 1)]);
        let (png, labels) = write(&[("Training", &train), ("PublicTest", &val)], 2).unwrap();
        let dataset = read(&png, &labels).unwrap();
        assert_eq!(dataset.train, train);
        assert_eq!(dataset.val, val);
        assert!(dataset.test.is_empty());
    }

    #[test]
    fn broken_labels_are_named() {
        let train = split(&[(10, 0)]);
        let (png, _) = write(&[("Training", &train)], 1).unwrap();
        let error = read(&png, "columns 1\nTraining 9\n").unwrap_err();
        assert!(error.to_string().contains("`9`"), "{error}");
        let error = read(&png, "columns 1\nTraining 1 1\n").unwrap_err();
        assert!(error.to_string().contains("outside"), "{error}");
        assert!(read(&png, "Training 1\n").is_err());
    }
}
