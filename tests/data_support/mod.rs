//! Builders for small FER2013 inputs written on the fly into temp dirs.
#![allow(dead_code)] // each test file uses a different subset

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use fer::data::{DataError, IMAGE_PIXELS};
use flate2::write::GzEncoder;
use flate2::Compression;

pub const KAGGLE_HEADER: &str = "emotion,pixels,Usage";

/// Distinct, reproducible pixels for row `seed`: the first two pixels spell
/// the seed so rows can be told apart after loading.
pub fn pixels_for(seed: usize) -> Vec<u8> {
    let mut pixels: Vec<u8> = (0..IMAGE_PIXELS)
        .map(|i| ((i * 31 + seed * 7) % 256) as u8)
        .collect();
    pixels[0] = (seed / 256) as u8;
    pixels[1] = (seed % 256) as u8;
    pixels
}

/// The seed `pixels_for` wrote into an image.
pub fn seed_of(image: &[u8]) -> usize {
    usize::from(image[0]) * 256 + usize::from(image[1])
}

pub fn pixel_text(pixels: &[u8]) -> String {
    pixels
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `label,pixels,usage`
pub fn kaggle_row(label: u8, seed: usize, usage: &str) -> String {
    format!("{label},{},{usage}", pixel_text(&pixels_for(seed)))
}

/// Header plus rows, newline-terminated.
pub fn csv_text(header: &str, rows: &[String]) -> String {
    let mut text = format!("{header}\n");
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    text
}

pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).expect("write fixture");
    path
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// Rows cycling through the 7 labels, `usage` for all.
pub fn rows(count: usize, first_seed: usize, usage: &str) -> Vec<String> {
    (0..count)
        .map(|i| kaggle_row((i % 7) as u8, first_seed + i, usage))
        .collect()
}

/// Asserts the error's message contains every piece.
pub fn assert_message(error: &DataError, pieces: &[&str]) {
    let message = error.to_string();
    for piece in pieces {
        assert!(
            message.contains(piece),
            "message {message:?} lacks {piece:?}"
        );
    }
    assert!(error.is_user_error(), "{message:?} should be a user error");
}
