//! Multiply-accumulates per image, counted analytically: a forward pass of one
//! image in which every convolution and the classifier add
//! `out_channels x in_channels x kernel area x output pixels` (resp. `inputs x
//! outputs`) to a counter and hand back zeros of the right shape instead of
//! computing. BatchNorm, activations, pooling and additions are not counted (the
//! usual convention: they are a few percent of the total).

use std::cell::Cell;

use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::registry::{build, UnknownModel};

thread_local! {
    /// `Some(total so far)` while a count runs on this thread.
    static COUNT: Cell<Option<u64>> = const { Cell::new(None) };
}

/// True while [`macs_per_image`] runs on this thread: layers then only count.
pub(crate) fn counting() -> bool {
    COUNT.get().is_some()
}

/// Adds `macs` to the running count (no-op when not counting).
pub(crate) fn add(macs: usize) {
    if let Some(total) = COUNT.get() {
        COUNT.set(Some(total + macs as u64));
    }
}

/// Zeros of `shape` on `x`'s device: what a counted layer returns.
pub(crate) fn placeholder<B: Backend, const D: usize>(
    shape: [usize; D],
    like: &Tensor<B, D>,
) -> Tensor<B, D> {
    Tensor::zeros(shape, &like.device())
}

/// Multiply-accumulates of one forward pass of `name` on a `side x side` grey image.
pub fn macs_per_image(name: &str, side: usize) -> Result<u64, UnknownModel> {
    let device = Default::default();
    let model = build::<Flex>(name, &device)?;
    COUNT.set(Some(0));
    let _ = model.forward(Tensor::zeros(
        [1, super::INPUT_CHANNELS, side, side],
        &device,
    ));
    Ok(COUNT.take().unwrap_or(0))
}

/// `1_234_567_890` -> `"1.23G"`, `555_400_000` -> `"555.4M"`.
pub fn human_count(value: u64) -> String {
    let value = value as f64;
    if value >= 1e9 {
        format!("{:.2}G", value / 1e9)
    } else if value >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if value >= 1e3 {
        format!("{:.1}K", value / 1e3)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ResNet-20 at 32x32 by hand: the 3x3 stem 1->16 (9 x 16 x 1024), nine 3x3
    /// convolutions per stage (16 ch at 32x32, 32 at 16x16, 64 at 8x8; the first of
    /// stages 2 and 3 halves the map from fewer input channels), the 1x1 projections
    /// of stages 2 and 3, and the 64 -> 7 classifier.
    #[test]
    fn resnet20_matches_a_hand_count() {
        let stem = 16 * 9 * 32 * 32;
        let stage1 = 6 * 16 * 16 * 9 * 32 * 32;
        let stage2 = (32 * 16 * 9 + 5 * 32 * 32 * 9) * 16 * 16 + 32 * 16 * 16 * 16;
        let stage3 = (64 * 32 * 9 + 5 * 64 * 64 * 9) * 8 * 8 + 64 * 32 * 8 * 8;
        let classifier = 64 * 7;
        let expected = (stem + stage1 + stage2 + stage3 + classifier) as u64;
        assert_eq!(macs_per_image("resnet20", 32), Ok(expected));
    }

    #[test]
    fn counting_is_off_outside_a_count_and_scales_with_the_image() {
        assert!(!counting());
        let small = macs_per_image("resnet8", 24).unwrap();
        let large = macs_per_image("resnet8", 48).unwrap();
        assert!(!counting());
        // Convolutions scale with the pixel count (4x); only the classifier does not.
        assert!(large > 3 * small && large <= 4 * small, "{small} {large}");
    }

    #[test]
    fn human_counts() {
        assert_eq!(human_count(999), "999");
        assert_eq!(human_count(40_960), "41.0K");
        assert_eq!(human_count(555_400_000), "555.4M");
        assert_eq!(human_count(1_234_567_890), "1.23G");
    }
}
