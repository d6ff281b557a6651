//! Batched augmentation on the training device. The host only draws a handful of
//! random numbers per image (angles, shifts, rectangles); every pixel operation is
//! a tensor op on the device.

use std::f64::consts::PI;

use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use burn::tensor::{DType, Tensor, TensorData, TensorPrimitive};
use rand::Rng;

use super::config::{AugmentConfig, Tta};
use crate::data::IMAGE_SIDE;
use crate::kernels;
use crate::model::flex_bridge::{flex_tensor, matched, same_type, values};

/// Per-image random parameters of one batch, drawn on the host.
#[derive(Clone, Debug, PartialEq)]
pub struct AugmentDraws {
    /// Row-major `[B, 3, 2]`: the transposed affine map from output to input coordinates.
    pub affine_transposed: Vec<f32>,
    /// Per image: additive brightness.
    pub brightness: Vec<f32>,
    /// Per image: contrast factor.
    pub contrast: Vec<f32>,
    /// Per image: erased rectangle `[top, bottom, left, right]` in crop pixels (empty when not erased), then the fill value.
    pub erasing: Vec<f32>,
}

impl AugmentDraws {
    pub fn draw(config: &AugmentConfig, batch: usize, rng: &mut impl Rng) -> Self {
        let mut draws = Self {
            affine_transposed: Vec::with_capacity(batch * 6),
            brightness: Vec::with_capacity(batch),
            contrast: Vec::with_capacity(batch),
            erasing: Vec::with_capacity(batch * 5),
        };
        let crop_ratio = config.crop as f64 / IMAGE_SIDE as f64;
        for _ in 0..batch {
            let angle = uniform(rng, config.rotate_degrees) * PI / 180.0;
            let scale = rng.random_range(config.scale_min..=config.scale_max.max(config.scale_min));
            let (shift_x, shift_y) = (
                uniform(rng, config.translate),
                uniform(rng, config.translate),
            );
            let flip = if config.horizontal_flip && rng.random_bool(0.5) {
                -1.0
            } else {
                1.0
            };
            let (cos, sin) = (
                angle.cos() / scale * crop_ratio,
                angle.sin() / scale * crop_ratio,
            );
            // theta = [[cos*flip, -sin, sx], [sin*flip, cos, sy]], stored transposed.
            draws
                .affine_transposed
                .extend([cos * flip, sin * flip, -sin, cos, shift_x, shift_y].map(|v| v as f32));
            draws
                .brightness
                .push(uniform(rng, config.brightness) as f32);
            draws
                .contrast
                .push((1.0 + uniform(rng, config.contrast)) as f32);
            draws.erasing.extend(erasing_rectangle(config, rng));
        }
        draws
    }
}

fn uniform(rng: &mut impl Rng, half_width: f64) -> f64 {
    if half_width <= 0.0 {
        0.0
    } else {
        rng.random_range(-half_width..=half_width)
    }
}

/// Random erasing (Zhong et al.): with probability p, one rectangle of 2–20% of the
/// crop with aspect ratio 0.3–3.3, filled with a random grey.
fn erasing_rectangle(config: &AugmentConfig, rng: &mut impl Rng) -> [f32; 5] {
    if config.erasing_probability <= 0.0 || !rng.random_bool(config.erasing_probability.min(1.0)) {
        return [0.0; 5];
    }
    let side = config.crop as f64;
    let area = side * side * rng.random_range(0.02..0.2);
    let aspect = (rng.random_range(0.3f64.ln()..3.3f64.ln())).exp();
    let height = (area * aspect).sqrt().min(side);
    let width = (area / aspect).sqrt().min(side);
    let top = rng.random_range(0.0..=side - height);
    let left = rng.random_range(0.0..=side - width);
    let fill = rng.random_range(0.0..1.0);
    [top, top + height, left, left + width, fill].map(|v| v as f32)
}

/// Applies augmentation and test-time views on one device.
pub struct Augmenter<B: Backend> {
    config: AugmentConfig,
    device: B::Device,
    /// `[1, S*S, 3]`: output pixel centres (x, y, 1) in normalised coordinates.
    output_grid: Tensor<B, 3>,
    /// `[1, 1, S, 1]` and `[1, 1, 1, S]` pixel indices, for erasing masks.
    rows: Tensor<B, 4>,
    columns: Tensor<B, 4>,
}

impl<B: Backend> Augmenter<B> {
    pub fn new(config: AugmentConfig, device: &B::Device) -> Self {
        let side = config.crop;
        let centre = |i: usize| (2 * i + 1) as f32 / side as f32 - 1.0;
        let mut grid = Vec::with_capacity(side * side * 3);
        for y in 0..side {
            for x in 0..side {
                grid.extend([centre(x), centre(y), 1.0]);
            }
        }
        let indices: Vec<f32> = (0..side).map(|i| i as f32 + 0.5).collect();
        Self {
            output_grid: Tensor::from_data(TensorData::new(grid, [1, side * side, 3]), device),
            rows: Tensor::<B, 1>::from_data(indices.as_slice(), device).reshape([1, 1, side, 1]),
            columns: Tensor::<B, 1>::from_data(indices.as_slice(), device).reshape([1, 1, 1, side]),
            device: device.clone(),
            config,
        }
    }

    pub fn crop(&self) -> usize {
        self.config.crop
    }

    pub fn device(&self) -> B::Device {
        self.device.clone()
    }

    /// `images`: `[B, 1, 48, 48]` in 0..1. Returns `[B, 1, S, S]` augmented crops,
    /// or plain centre crops when augmentation is disabled.
    pub fn augment(&self, images: Tensor<B, 4>, draws: &AugmentDraws) -> Tensor<B, 4> {
        if !self.config.enabled {
            return self.centre_crop(images);
        }
        match cpu_augment(images, self.config.crop, draws) {
            Ok(augmented) => augmented,
            Err(images) => self.augment_portable(images, draws),
        }
    }

    /// [`Self::augment`] as burn tensor operations, for every backend.
    fn augment_portable(&self, images: Tensor<B, 4>, draws: &AugmentDraws) -> Tensor<B, 4> {
        let batch = images.dims()[0];
        let side = self.config.crop;
        let affine = self.upload(&draws.affine_transposed, [batch, 3, 2]);
        let grid = self
            .output_grid
            .clone()
            .expand([batch, side * side, 3])
            .matmul(affine)
            .reshape([batch, side, side, 2]);
        let options = GridSampleOptions::new(InterpolateMode::Bilinear)
            .with_padding_mode(GridSamplePaddingMode::Border)
            .with_align_corners(false);
        let warped = images.grid_sample_2d(grid, options);
        self.erase(self.jitter(warped, draws), draws)
    }

    fn jitter(&self, images: Tensor<B, 4>, draws: &AugmentDraws) -> Tensor<B, 4> {
        let batch = images.dims()[0];
        let brightness = self.upload(&draws.brightness, [batch, 1, 1, 1]);
        let contrast = self.upload(&draws.contrast, [batch, 1, 1, 1]);
        let mean = images.clone().mean_dim(3).mean_dim(2);
        (images - mean.clone()) * contrast + mean + brightness
    }

    fn erase(&self, images: Tensor<B, 4>, draws: &AugmentDraws) -> Tensor<B, 4> {
        let batch = images.dims()[0];
        let params = self.upload(&draws.erasing, [batch, 5, 1, 1]);
        let bound = |i: usize| params.clone().narrow(1, i, 1);
        let inside_rows = self.rows.clone().greater_equal(bound(0)).float()
            * self.rows.clone().lower(bound(1)).float();
        let inside_columns = self.columns.clone().greater_equal(bound(2)).float()
            * self.columns.clone().lower(bound(3)).float();
        let mask = inside_rows * inside_columns;
        images * (mask.clone().neg() + 1.0) + mask * bound(4)
    }

    fn upload<const D: usize>(&self, values: &[f32], shape: [usize; D]) -> Tensor<B, D> {
        Tensor::from_data(TensorData::new(values.to_vec(), shape), &self.device)
    }

    pub fn centre_crop(&self, images: Tensor<B, 4>) -> Tensor<B, 4> {
        let offset = (IMAGE_SIDE - self.config.crop) / 2;
        self.crop_at(images, offset, offset)
    }

    fn crop_at(&self, images: Tensor<B, 4>, top: usize, left: usize) -> Tensor<B, 4> {
        let side = self.config.crop;
        images.narrow(2, top, side).narrow(3, left, side)
    }

    /// The views averaged at evaluation (`Tta::views` of them): the centre, centre
    /// and mirror, or the four corners and the centre, each also mirrored.
    pub fn test_views(&self, images: Tensor<B, 4>, tta: Tta) -> Vec<Tensor<B, 4>> {
        let far = IMAGE_SIDE - self.config.crop;
        let corners = [(0, 0), (0, far), (far, 0), (far, far)];
        let centre = self.centre_crop(images.clone());
        match tta {
            Tta::None => vec![centre],
            Tta::Flip => vec![centre.clone(), centre.flip([3])],
            Tta::TenCrop => {
                let mut views: Vec<_> = corners
                    .iter()
                    .map(|&(top, left)| self.crop_at(images.clone(), top, left))
                    .collect();
                views.push(centre);
                let mirrored: Vec<_> = views.iter().map(|v| v.clone().flip([3])).collect();
                views.extend(mirrored);
                views
            }
        }
    }
}

/// The whole augmentation as one kernel on burn's CPU backend (`f32` `[B, 1, H, H]`
/// input); any other backend or input gets `images` back.
fn cpu_augment<B: Backend>(
    images: Tensor<B, 4>,
    crop: usize,
    draws: &AugmentDraws,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let [batch, channels, height, width] = images.dims();
    let drawn_for = draws.brightness.len();
    if channels != 1 || height != width || images.dtype() != DType::F32 || drawn_for != batch {
        return Err(images);
    }
    let images = same_type::<Tensor<B, 4>, Tensor<Flex, 4>>(images)?;
    let input = images.into_primitive().tensor().to_contiguous();
    let warped = kernels::augment::augment(
        values(&input),
        height,
        crop,
        kernels::augment::Draws {
            affine_transposed: &draws.affine_transposed,
            brightness: &draws.brightness,
            contrast: &draws.contrast,
            erasing: &draws.erasing,
        },
    );
    let output = Tensor::<Flex, 4>::from_primitive(TensorPrimitive::Float(flex_tensor(
        warped,
        vec![batch, 1, crop, crop],
    )));
    Ok(matched(output))
}

/// Host `u8` pixels `[B * 48 * 48]` → device floats in 0..1, shape `[B, 1, 48, 48]`.
pub fn upload_images<B: Backend>(pixels: &[u8], device: &B::Device) -> Tensor<B, 4> {
    let batch = pixels.len() / (IMAGE_SIDE * IMAGE_SIDE);
    let values: Vec<f32> = pixels.iter().map(|&p| p as f32 / 255.0).collect();
    Tensor::from_data(
        TensorData::new(values, [batch, 1, IMAGE_SIDE, IMAGE_SIDE]),
        device,
    )
}

#[cfg(test)]
mod tests {
    use burn::backend::Flex;

    use super::*;
    use crate::train::AugmentConfig;

    /// The CPU kernel against the tensor operations it replaces, on draws that erase
    /// every image and warp far past the border.
    #[test]
    fn the_cpu_kernel_matches_the_tensor_operations() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for crop in [40, 44, 48] {
            let config = AugmentConfig {
                crop,
                erasing_probability: 1.0,
                translate: 0.6,
                scale_min: 0.5,
                scale_max: 1.5,
                rotate_degrees: 30.0,
                brightness: 0.3,
                contrast: 0.4,
                ..AugmentConfig::default()
            };
            let augmenter = Augmenter::<Flex>::new(config.clone(), &Default::default());
            let batch = 9;
            let pixels: Vec<u8> = (0..batch * IMAGE_SIDE * IMAGE_SIDE)
                .map(|_| rng.random())
                .collect();
            let images = upload_images::<Flex>(&pixels, &Default::default());
            let draws = AugmentDraws::draw(&config, batch, &mut rng);
            let fast = augmenter.augment(images.clone(), &draws);
            let portable = augmenter.augment_portable(images, &draws);
            assert_eq!(fast.dims(), [batch, 1, crop, crop]);
            let difference = (fast - portable).abs().max().into_scalar();
            assert!(difference < 1e-5, "crop {crop}: {difference}");
        }
    }

    #[test]
    fn each_tta_makes_as_many_views_as_it_says() {
        let augmenter = Augmenter::<Flex>::new(AugmentConfig::default(), &Default::default());
        let images =
            upload_images::<Flex>(&[128; 2 * IMAGE_SIDE * IMAGE_SIDE], &Default::default());
        for tta in [Tta::None, Tta::Flip, Tta::TenCrop] {
            let views = augmenter.test_views(images.clone(), tta);
            assert_eq!(views.len(), tta.views(), "{tta:?}");
            assert!(views.iter().all(|v| v.dims() == [2, 1, 40, 40]));
        }
    }
}
