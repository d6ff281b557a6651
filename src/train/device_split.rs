//! A split held on the training device for the whole run: uploaded once, then every
//! batch is an index gather there, so a step sends the device only the batch indices
//! and the augmentation draws, and reads nothing back.
//!
//! Pixels are stored as `u8` (the training split of FER2013 is 66 MB so, 265 MB as
//! `f32`); they become floats in 0..1 per batch, after the gather.

use burn::tensor::backend::Backend;
use burn::tensor::{DType, Int, Tensor, TensorData};

use crate::data::{Split, IMAGE_PIXELS, IMAGE_SIDE};

/// The images and labels of one split, on one device.
pub struct DeviceSplit<B: Backend> {
    /// `[N, 48 * 48]`, dtype `u8`.
    images: Tensor<B, 2, Int>,
    /// `[N]`, the backend's default int dtype (compared with predictions).
    labels: Tensor<B, 1, Int>,
    len: usize,
}

/// One gathered batch: images as floats in 0..1, `[B, 1, 48, 48]`, and their labels.
pub struct DeviceBatch<B: Backend> {
    pub images: Tensor<B, 4>,
    pub labels: Tensor<B, 1, Int>,
}

impl<B: Backend> DeviceSplit<B> {
    /// Copies `split` to `device` (the only host-to-device copy of its pixels).
    pub fn upload(split: &Split, device: &B::Device) -> Self {
        let len = split.len();
        let pixels = TensorData::new(split.images.clone(), [len, IMAGE_PIXELS]);
        let labels: Vec<i64> = split.labels.iter().map(|&label| i64::from(label)).collect();
        Self {
            images: Tensor::from_data(pixels, (device, DType::U8)),
            labels: Tensor::from_data(TensorData::new(labels, [len]), device),
            len,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn device(&self) -> B::Device {
        self.labels.device()
    }

    /// The images `indices` (positions in the split), in that order.
    pub fn gather(&self, indices: &[usize]) -> DeviceBatch<B> {
        let batch = indices.len();
        let index = index_tensor::<B>(indices, &self.device());
        let pixels = self.images.clone().select(0, index.clone());
        // The same arithmetic as a host-side `p as f32 / 255.0`.
        let images = (pixels.float() / 255.0).reshape([batch, 1, IMAGE_SIDE, IMAGE_SIDE]);
        DeviceBatch {
            images,
            labels: self.labels.clone().select(0, index),
        }
    }
}

/// Positions as a device index tensor.
pub fn index_tensor<B: Backend>(indices: &[usize], device: &B::Device) -> Tensor<B, 1, Int> {
    let values: Vec<i64> = indices.iter().map(|&index| index as i64).collect();
    Tensor::from_data(TensorData::new(values, [indices.len()]), device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::augment::upload_images;
    use burn::backend::Flex;

    fn numbered_split(count: usize) -> Split {
        let mut split = Split::default();
        for image in 0..count {
            let pixels: Vec<u8> = (0..IMAGE_PIXELS)
                .map(|p| ((p * 7 + image * 31) % 256) as u8)
                .collect();
            split.push(&pixels, (image % 7) as u8);
        }
        split
    }

    #[test]
    fn a_gather_equals_the_host_upload_of_the_same_images() {
        let split = numbered_split(5);
        let device = Default::default();
        let on_device = DeviceSplit::<Flex>::upload(&split, &device);
        let order = [3, 0, 4, 3];
        let batch = on_device.gather(&order);

        let mut pixels = Vec::new();
        for &index in &order {
            pixels.extend_from_slice(split.image(index));
        }
        let expected = upload_images::<Flex>(&pixels, &device).into_data();
        assert_eq!(batch.images.into_data(), expected);
        let labels: Vec<i64> = batch.labels.into_data().iter::<i64>().collect();
        assert_eq!(labels, vec![3, 0, 4, 3]);
    }

    #[test]
    fn pixels_are_stored_as_bytes() {
        let on_device = DeviceSplit::<Flex>::upload(&numbered_split(2), &Default::default());
        assert_eq!(on_device.images.dtype(), DType::U8);
        assert_eq!(on_device.len(), 2);
    }
}
