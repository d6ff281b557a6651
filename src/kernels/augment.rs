//! The training augmentation of a batch in one sweep per image: affine warp (bilinear,
//! border padding), contrast and brightness jitter, random erasing.
//!
//! It computes what `train::augment::Augmenter` writes as burn tensor operations (an
//! affine grid, `grid_sample_2d` with burn's `f64` coordinate arithmetic, a mean,
//! broadcast masks), in the same order up to float rounding. On burn's CPU backend
//! those dozen operations took ~12 ms of a ~300 ms ResNet-20 step, each a pass over
//! the batch through broadcasting iterators, on one core.

use super::parallel::for_each_costly_row_chunk;

/// Rough cost of one output pixel in streaming passes: a warp reads four pixels and
/// computes its coordinates and weights, so a second core pays for one batch.
const COST_PER_PIXEL: usize = 32;

/// One batch's per-image draws, laid out as `train::augment::AugmentDraws`.
#[derive(Clone, Copy, Debug)]
pub struct Draws<'a> {
    /// Per image, `[3][2]` row-major: the transposed affine map from output pixel
    /// centres `(x, y, 1)` (normalised to −1..1) to input coordinates.
    pub affine_transposed: &'a [f32],
    pub brightness: &'a [f32],
    pub contrast: &'a [f32],
    /// Per image `[top, bottom, left, right, fill]` in crop pixels.
    pub erasing: &'a [f32],
}

/// `images`: `[batch][side][side]` grey values; returns `[batch][crop][crop]`.
pub fn augment(images: &[f32], side: usize, crop: usize, draws: Draws) -> Vec<f32> {
    let image_len = side * side;
    let batch = images.len() / image_len.max(1);
    let crop_len = crop * crop;
    let mut out = vec![0.0; batch * crop_len];
    for_each_costly_row_chunk(&mut out, crop_len, COST_PER_PIXEL, |first, chunk| {
        for (offset, target) in chunk.chunks_exact_mut(crop_len.max(1)).enumerate() {
            let n = first + offset;
            let image = &images[n * image_len..][..image_len];
            warp(
                image,
                side,
                crop,
                &draws.affine_transposed[6 * n..][..6],
                target,
            );
            jitter(target, crop, draws.contrast[n], draws.brightness[n]);
            erase(target, crop, &draws.erasing[5 * n..][..5]);
        }
    });
    out
}

/// Bilinear sampling of `image` at the affine image of every output pixel centre,
/// coordinates clamped to the border (`grid_sample_2d`, `align_corners = false`).
fn warp(image: &[f32], side: usize, crop: usize, affine: &[f32], out: &mut [f32]) {
    let centre = |i: usize| (2 * i + 1) as f32 / crop as f32 - 1.0;
    let last = (side - 1) as f64;
    let pixel = |x: usize, y: usize| f64::from(image[y * side + x]);
    for (row, line) in out.chunks_exact_mut(crop).enumerate() {
        let cy = centre(row);
        for (column, value) in line.iter_mut().enumerate() {
            let cx = centre(column);
            // The grid is a `[pixels, 3] x [3, 2]` matrix product in f32.
            let grid_x = cx * affine[0] + cy * affine[2] + affine[4];
            let grid_y = cx * affine[1] + cy * affine[3] + affine[5];
            let to_pixel = |g: f32| (f64::from(g) + 1.0) * side as f64 / 2.0 - 0.5;
            let (px, py) = (to_pixel(grid_x), to_pixel(grid_y));
            let (px, py) = if px.is_finite() && py.is_finite() {
                (px.clamp(0.0, last), py.clamp(0.0, last))
            } else {
                (last / 2.0, last / 2.0)
            };
            let (x0, y0) = (px.floor(), py.floor());
            let (fx, fy) = (px - x0, py - y0);
            let (x0, y0) = (x0 as usize, y0 as usize);
            let (x1, y1) = ((x0 + 1).min(side - 1), (y0 + 1).min(side - 1));
            let sampled = pixel(x0, y0) * ((1.0 - fx) * (1.0 - fy))
                + pixel(x0, y1) * ((1.0 - fx) * fy)
                + pixel(x1, y0) * (fx * (1.0 - fy))
                + pixel(x1, y1) * (fx * fy);
            *value = sampled as f32;
        }
    }
}

/// `(x − mean) · contrast + mean + brightness`, the mean over the image.
fn jitter(image: &mut [f32], crop: usize, contrast: f32, brightness: f32) {
    // As `mean_dim(3).mean_dim(2)`: row means, then their mean.
    let row_means: f32 = image
        .chunks_exact(crop)
        .map(|row| row.iter().sum::<f32>() / crop as f32)
        .sum();
    let mean = row_means / crop as f32;
    for value in image {
        *value = (*value - mean) * contrast + mean + brightness;
    }
}

/// Fills the rectangle `[top, bottom) × [left, right)` (pixel centres inside it).
fn erase(image: &mut [f32], crop: usize, rectangle: &[f32]) {
    let &[top, bottom, left, right, fill] = rectangle else {
        return;
    };
    let inside = |i: usize, low: f32, high: f32| {
        let centre = i as f32 + 0.5;
        centre >= low && centre < high
    };
    for (row, line) in image.chunks_exact_mut(crop).enumerate() {
        if !inside(row, top, bottom) {
            continue;
        }
        for (column, value) in line.iter_mut().enumerate() {
            if inside(column, left, right) {
                *value = fill;
            }
        }
    }
}
