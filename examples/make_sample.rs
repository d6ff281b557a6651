//! Writes the bundled sample (`assets/sample.png` and `assets/sample-labels.txt`):
//! the first TRAIN Training and VAL PublicTest faces of a FER2013 CSV, in file order.
//!
//! cargo run --release --example make_sample -- ../shared/data/fer2013/fer2013.csv.gz 1600 400

use std::path::Path;

use anyhow::Context;
use fer::data::{atlas, LoadOptions, Split, IMAGE_PIXELS};

/// Tiles per row of the atlas.
const COLUMNS: usize = 40;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data, train, val] = args.as_slice() else {
        anyhow::bail!("usage: make_sample FER2013.csv[.gz] TRAIN VAL");
    };
    let dataset = fer::data::load(Path::new(data), &LoadOptions::default())?;
    let train = first(&dataset.train, train.parse().context("TRAIN")?);
    let val = first(&dataset.val, val.parse().context("VAL")?);
    let (png, labels) = atlas::write(&[("Training", &train), ("PublicTest", &val)], COLUMNS)?;
    std::fs::write("assets/sample.png", &png)?;
    std::fs::write("assets/sample-labels.txt", labels)?;
    println!(
        "assets/sample.png: {} + {} faces, {} bytes",
        train.len(),
        val.len(),
        png.len()
    );
    Ok(())
}

fn first(split: &Split, count: usize) -> Split {
    let count = count.min(split.len());
    Split {
        images: split.images[..count * IMAGE_PIXELS].to_vec(),
        labels: split.labels[..count].to_vec(),
    }
}
