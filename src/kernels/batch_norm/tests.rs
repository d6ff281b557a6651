//! The kernels against direct `f64` definitions and finite differences.

use super::*;

const LAYOUT: Layout = Layout {
    batch: 3,
    channels: 2,
    spatial: 5,
};

/// A deterministic, uneven pattern with a large offset in channel 1.
fn sample() -> Vec<f32> {
    (0..LAYOUT.len())
        .map(|i| {
            let channel = (i / LAYOUT.spatial) % LAYOUT.channels;
            (i as f32 * 0.37).sin() * (channel + 1) as f32 + 100.0 * channel as f32
        })
        .collect()
}

fn channel_values(x: &[f32], channel: usize) -> Vec<f64> {
    x.chunks(LAYOUT.spatial)
        .enumerate()
        .filter(|(row, _)| row % LAYOUT.channels == channel)
        .flat_map(|(_, row)| row.iter().map(|&v| f64::from(v)))
        .collect()
}

#[test]
fn statistics_match_the_two_pass_definition() {
    let x = sample();
    let stats = statistics(&x, LAYOUT);
    for channel in 0..LAYOUT.channels {
        let values = channel_values(&x, channel);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / values.len() as f64;
        assert!(
            (f64::from(stats.mean[channel]) - mean).abs() < 1e-4,
            "mean {channel}"
        );
        assert!(
            (f64::from(stats.variance[channel]) - var).abs() < 1e-4 * var.max(1.0),
            "var {channel}"
        );
    }
}

#[test]
fn normalized_channels_have_zero_mean_and_unit_variance() {
    let x = sample();
    let stats = statistics(&x, LAYOUT);
    let inv_std = inverse_std(&stats.variance, 0.0);
    let zeros = vec![0.0; LAYOUT.channels];
    let y = normalize(
        &x,
        LAYOUT,
        Affine {
            mean: &stats.mean,
            scale: &inv_std,
            shift: &zeros,
        },
        false,
    );
    let normalized = statistics(&y, LAYOUT);
    for channel in 0..LAYOUT.channels {
        assert!(normalized.mean[channel].abs() < 1e-4);
        assert!((normalized.variance[channel] - 1.0).abs() < 1e-3);
    }
}

/// The input gradient against central differences of `loss = sum(w * bn(x))`.
#[test]
fn input_gradient_matches_finite_differences() {
    let x: Vec<f64> = sample().iter().map(|&v| f64::from(v)).collect();
    let weights: Vec<f64> = (0..LAYOUT.len())
        .map(|i| ((i * 7 % 11) as f64 - 5.0) / 5.0)
        .collect();
    let gamma = [1.5f64, -0.5];
    let loss = |x: &[f64]| -> f64 {
        let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let stats = statistics(&x32, LAYOUT);
        let inv_std = inverse_std(&stats.variance, 1e-5);
        let scale: Vec<f32> = (0..2).map(|c| gamma[c] as f32 * inv_std[c]).collect();
        let y = normalize(
            &x32,
            LAYOUT,
            Affine {
                mean: &stats.mean,
                scale: &scale,
                shift: &[0.0, 0.0],
            },
            false,
        );
        y.iter().zip(&weights).map(|(&y, w)| f64::from(y) * w).sum()
    };
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let stats = statistics(&x32, LAYOUT);
    let inv_std = inverse_std(&stats.variance, 1e-5);
    let mut grad: Vec<f32> = weights.iter().map(|&w| w as f32).collect();
    let gamma32 = [gamma[0] as f32, gamma[1] as f32];
    let forward = Forward {
        mean: &stats.mean,
        inverse_std: &inv_std,
        gamma: &gamma32,
        relu: None,
    };
    let sums = gradient_sums(&x32, &grad, LAYOUT, &forward);
    input_gradient_in_place(&x32, &mut grad, LAYOUT, &forward, &sums);
    let step = 1e-2;
    for index in [0, 3, 7, 12, 18, 29] {
        let mut plus = x.clone();
        plus[index] += step;
        let mut minus = x.clone();
        minus[index] -= step;
        let numeric = (loss(&plus) - loss(&minus)) / (2.0 * step);
        let analytic = f64::from(grad[index]);
        assert!(
            (numeric - analytic).abs() < 2e-2 * numeric.abs().max(1.0),
            "index {index}: numeric {numeric}, analytic {analytic}"
        );
    }
}

#[test]
fn empty_data_gives_no_work_and_no_panic() {
    let layout = Layout {
        batch: 0,
        channels: 3,
        spatial: 4,
    };
    let stats = statistics(&[], layout);
    assert_eq!(stats.mean.len(), 3);
    assert!(normalize(
        &[],
        layout,
        Affine {
            mean: &stats.mean,
            scale: &[1.0; 3],
            shift: &[0.0; 3]
        },
        false
    )
    .is_empty());
}

/// The sums of every instruction set this CPU has against the portable ones, bit
/// for bit, at lengths around the lane and block sizes.
#[test]
fn the_vector_sums_equal_the_portable_ones() {
    crate::kernels::testing::with_each_simd(|simd| {
        for len in [
            0,
            1,
            7,
            8,
            9,
            15,
            16,
            17,
            BLOCK - 1,
            BLOCK,
            BLOCK + 1,
            1000,
            1600,
        ] {
            let x: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin() + 3.0).collect();
            let y: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos() - 1.0).collect();
            for (a, b) in [(&x, &x), (&x, &y)] {
                let portable = shifted_sums_inline(a, 2.5, b, -0.5);
                assert_eq!(
                    shifted_sums(a, 2.5, b, -0.5),
                    portable,
                    "{simd:?}, length {len}"
                );
                assert!(portable.0.is_finite());
                let affine = (2.9, 1.5, 0.1);
                let masked = masked_sums_inline(b, a, 3.0, affine);
                assert_eq!(
                    masked_sums(b, a, 3.0, affine),
                    masked,
                    "{simd:?}, length {len}"
                );
            }
        }
    });
}
