//! Writes `augment_grid.png`: bundled-sample faces (top row) and augmented crops of
//! them (rows below), to eyeball what the training pipeline feeds the model.
//!
//! cargo run --release --example augment_grid [OUT.png]

use burn::backend::Flex;
use fer::data::IMAGE_SIDE;
use fer::train::augment::{upload_images, AugmentDraws, Augmenter};
use fer::train::AugmentConfig;
use rand::SeedableRng;

fn main() -> anyhow::Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "augment_grid.png".into());
    let sample = fer::data::bundled_sample()?;
    let (columns, rows) = (8usize, 4usize);
    let config = AugmentConfig::default();
    let device = Default::default();
    let augmenter = Augmenter::<Flex>::new(config.clone(), &device);
    let pixels = &sample.train.images[..columns * IMAGE_SIDE * IMAGE_SIDE];
    let cell = IMAGE_SIDE + 2;
    let mut grid = image::GrayImage::new((columns * cell) as u32, ((rows + 1) * cell) as u32);
    paint(
        &mut grid,
        0,
        pixels.iter().map(|&p| p as f32 / 255.0).collect(),
        IMAGE_SIDE,
        cell,
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    for row in 1..=rows {
        let draws = AugmentDraws::draw(&config, columns, &mut rng);
        let images = augmenter.augment(upload_images::<Flex>(pixels, &device), &draws);
        let values = images
            .into_data()
            .to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        paint(&mut grid, row, values, config.crop, cell);
    }
    grid.save(&out)?;
    println!("wrote {out}");
    Ok(())
}

fn paint(grid: &mut image::GrayImage, row: usize, values: Vec<f32>, side: usize, cell: usize) {
    for (index, image) in values.chunks_exact(side * side).enumerate() {
        for (i, v) in image.iter().enumerate() {
            let (x, y) = (index * cell + i % side, row * cell + i / side);
            grid.put_pixel(
                x as u32,
                y as u32,
                image::Luma([(v.clamp(0.0, 1.0) * 255.0) as u8]),
            );
        }
    }
}
