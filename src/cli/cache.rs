//! A compact copy of a loaded data set, for carrying FER2013 where the CSV is too big
//! (a GPU machine reached through a 64 MiB transfer): `fer data FILE --export-cache OUT`
//! writes it, and every `--data` reads it back, recognised by its first bytes.
//!
//! Layout: `FERCACHE`, a little-endian u32 header length, a JSON header (source,
//! notes, rows per split), then for train, val and test: the labels (one byte each)
//! and the pixels. Each image's pixels are stored as the residuals of the LOCO-I
//! "median edge detector" prediction (what JPEG-LS predicts from the left, upper and
//! upper-left neighbours), mod 256: the same bytes in number, but they compress
//! better (xz: 54.5 MB instead of 57.8 MB for Training+PublicTest). The file itself is
//! not compressed unless its name ends in `.gz`; compress it with xz to carry it.

use std::io::{Read, Write};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};

use super::UserError;
use fer::data::{Dataset, Split, IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};

const MAGIC: &[u8; 8] = b"FERCACHE";
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const VERSION: u32 = 1;
const PREDICTOR: &str = "loco-i-med";

#[derive(Serialize, Deserialize)]
struct Header {
    version: u32,
    predictor: String,
    source: String,
    notes: Vec<String>,
    skipped_rows: usize,
    /// Rows of train, val and test.
    rows: [usize; 3],
}

/// Whether `path` is a cache (plain or gzip), judged by its first bytes.
pub fn is_cache(path: &Path) -> bool {
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let mut start = [0u8; 8];
    let mut plain = file.take(8);
    if plain.read_exact(&mut start).is_err() {
        return false;
    }
    if start.starts_with(&GZIP_MAGIC) {
        let Ok(file) = std::fs::File::open(path) else {
            return false;
        };
        return MultiGzDecoder::new(file).read_exact(&mut start).is_ok() && &start == MAGIC;
    }
    &start == MAGIC
}

/// Writes `dataset` to `path` (gzip-compressed when the name ends in `.gz`); returns the bytes written.
pub fn write(dataset: &Dataset, path: &Path) -> Result<u64, UserError> {
    let bytes = encode(dataset);
    let bytes = if path.extension().is_some_and(|ext| ext == "gz") {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder
            .write_all(&bytes)
            .and_then(|_| encoder.finish())
            .map_err(|e| io_error(path, e))?
    } else {
        bytes
    };
    std::fs::write(path, &bytes).map_err(|e| io_error(path, e))?;
    Ok(bytes.len() as u64)
}

pub fn read(path: &Path) -> Result<Dataset, UserError> {
    let mut bytes = std::fs::read(path).map_err(|e| io_error(path, e))?;
    if bytes.starts_with(&GZIP_MAGIC) {
        let mut plain = Vec::new();
        MultiGzDecoder::new(bytes.as_slice())
            .read_to_end(&mut plain)
            .map_err(|e| io_error(path, e))?;
        bytes = plain;
    }
    let mut dataset = decode(&bytes).map_err(|problem| {
        UserError(format!(
            "{}: not a usable fer data cache: {problem}",
            path.display()
        ))
    })?;
    dataset.source = format!("{} (cached in {})", dataset.source, path.display());
    Ok(dataset)
}

fn io_error(path: &Path, error: std::io::Error) -> UserError {
    UserError(format!("{}: {error}", path.display()))
}

fn encode(dataset: &Dataset) -> Vec<u8> {
    let splits = [&dataset.train, &dataset.val, &dataset.test];
    let header = Header {
        version: VERSION,
        predictor: PREDICTOR.into(),
        source: dataset.source.clone(),
        notes: dataset.notes.clone(),
        skipped_rows: dataset.skipped_rows,
        rows: splits.map(|split| split.len()),
    };
    // Serialising a struct of strings and numbers cannot fail.
    let header = serde_json::to_vec(&header).unwrap_or_default();
    let mut bytes = Vec::with_capacity(
        12 + header.len()
            + splits
                .iter()
                .map(|s| s.len() * (IMAGE_PIXELS + 1))
                .sum::<usize>(),
    );
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
    bytes.extend_from_slice(&header);
    for split in splits {
        bytes.extend_from_slice(&split.labels);
        for image in split.images.chunks_exact(IMAGE_PIXELS) {
            bytes.extend(residuals(image));
        }
    }
    bytes
}

fn decode(bytes: &[u8]) -> Result<Dataset, String> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or("it does not start with FERCACHE")?;
    let (length, rest) = rest.split_at_checked(4).ok_or("truncated header")?;
    let length = u32::from_le_bytes([length[0], length[1], length[2], length[3]]) as usize;
    let (header, mut rest) = rest.split_at_checked(length).ok_or("truncated header")?;
    let header: Header = serde_json::from_slice(header).map_err(|e| format!("bad header: {e}"))?;
    if header.version != VERSION || header.predictor != PREDICTOR {
        return Err(format!(
            "version {} ({}) is not this fer's {VERSION} ({PREDICTOR})",
            header.version, header.predictor
        ));
    }
    let mut splits = Vec::with_capacity(3);
    for rows in header.rows {
        let size = rows
            .checked_mul(IMAGE_PIXELS + 1)
            .ok_or("impossible row count")?;
        let (split, tail) = rest.split_at_checked(size).ok_or("truncated pixels")?;
        let (labels, pixels) = split.split_at(rows);
        if let Some(bad) = labels.iter().find(|&&label| label as usize >= NUM_CLASSES) {
            return Err(format!("label {bad} is not an emotion (0..{NUM_CLASSES})"));
        }
        let mut images = Vec::with_capacity(pixels.len());
        for image in pixels.chunks_exact(IMAGE_PIXELS) {
            images.extend(restore(image));
        }
        splits.push(Split {
            images,
            labels: labels.to_vec(),
        });
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(format!("{} bytes after the last split", rest.len()));
    }
    let test = splits.pop().unwrap_or_default();
    let val = splits.pop().unwrap_or_default();
    let train = splits.pop().unwrap_or_default();
    Ok(Dataset {
        source: header.source,
        train,
        val,
        test,
        notes: header.notes,
        skipped_rows: header.skipped_rows,
    })
}

/// MED prediction of pixel `index` from its already known neighbours.
fn predict(pixels: &[u8], index: usize) -> u8 {
    let (row, column) = (index / IMAGE_SIDE, index % IMAGE_SIDE);
    let above = |i: usize| pixels[i - IMAGE_SIDE] as i16;
    let left = match (row, column) {
        (0, 0) => return 128,
        (_, 0) => above(index),
        _ => pixels[index - 1] as i16,
    };
    let up = if row > 0 { above(index) } else { left };
    let up_left = if row > 0 && column > 0 {
        above(index - 1)
    } else {
        up
    };
    let prediction = if up_left >= left.max(up) {
        left.min(up)
    } else if up_left <= left.min(up) {
        left.max(up)
    } else {
        left + up - up_left
    };
    prediction as u8
}

fn residuals(image: &[u8]) -> Vec<u8> {
    (0..image.len())
        .map(|index| image[index].wrapping_sub(predict(image, index)))
        .collect()
}

fn restore(residuals: &[u8]) -> Vec<u8> {
    let mut image = vec![0u8; residuals.len()];
    for index in 0..residuals.len() {
        image[index] = residuals[index].wrapping_add(predict(&image, index));
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residuals_restore_every_image_exactly() {
        let sample = fer::data::bundled_sample().unwrap();
        for index in 0..sample.train.len().min(50) {
            let image = sample.train.image(index);
            assert_eq!(restore(&residuals(image)), image);
        }
        let extremes: Vec<u8> = (0..IMAGE_PIXELS)
            .map(|i| if (i / 7) % 2 == 0 { 0 } else { 255 })
            .collect();
        assert_eq!(restore(&residuals(&extremes)), extremes);
    }

    #[test]
    fn a_cache_round_trips_a_data_set() {
        let sample = fer::data::bundled_sample().unwrap();
        let decoded = decode(&encode(&sample)).unwrap();
        assert_eq!(decoded.train, sample.train);
        assert_eq!(decoded.val, sample.val);
        assert_eq!(decoded.test, sample.test);
        assert_eq!(decoded.source, sample.source);
        assert_eq!(decoded.notes, sample.notes);
    }

    #[test]
    fn damaged_caches_are_refused_with_a_reason() {
        let bytes = encode(&fer::data::bundled_sample().unwrap());
        assert!(decode(&bytes[..bytes.len() - 1])
            .unwrap_err()
            .contains("truncated"));
        assert!(decode(b"FERCACHX").unwrap_err().contains("FERCACHE"));
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode(&extra).unwrap_err().contains("after the last split"));
    }
}
