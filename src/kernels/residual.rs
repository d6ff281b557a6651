//! The join of a residual block, `relu(branch + shortcut)`, forward and backward in
//! one sweep each (burn's CPU backend takes an addition, a ReLU and, backward, a
//! mask and a multiplication: four passes over memory on one core).

use super::parallel::{collect_rows, for_each_row_chunk};

/// `max(branch + shortcut, 0)`, element by element.
pub fn add_relu(branch: &[f32], shortcut: &[f32]) -> Vec<f32> {
    assert_eq!(
        branch.len(),
        shortcut.len(),
        "residual join of unequal tensors"
    );
    // The data is flat: "rows" of one element let the workers cut it anywhere.
    collect_rows(branch.len(), 1, |start, chunk| {
        let sources = branch[start..].iter().zip(&shortcut[start..]);
        for (target, (&a, &b)) in chunk.iter_mut().zip(sources) {
            target.write((a + b).max(0.0));
        }
    })
}

/// The gradient through [`add_relu`] (the same for both inputs): `grad` kept where
/// the join's `output` is positive, zeroed elsewhere, in place.
pub fn relu_gradient_in_place(grad: &mut [f32], output: &[f32]) {
    assert_eq!(
        grad.len(),
        output.len(),
        "gradient and output differ in length"
    );
    for_each_row_chunk(grad, 1, |start, chunk| {
        for (g, &value) in chunk.iter_mut().zip(&output[start..]) {
            // A select rather than a conditional store: it vectorises, and the signs
            // of activations are too random for a branch to predict.
            *g = if value > 0.0 { *g } else { 0.0 };
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_join_adds_then_clamps_and_its_gradient_follows_the_sign() {
        // Long enough for both workers, not a round number.
        let len = 3 * (1 << 16) + 17;
        let branch: Vec<f32> = (0..len).map(|i| (i % 7) as f32 - 3.0).collect();
        let shortcut: Vec<f32> = (0..len).map(|i| (i % 5) as f32 - 2.0).collect();
        let out = add_relu(&branch, &shortcut);
        assert_eq!(out.len(), len);
        let mut grad = vec![1.5f32; len];
        relu_gradient_in_place(&mut grad, &out);
        for i in 0..len {
            let sum = branch[i] + shortcut[i];
            assert_eq!(out[i], sum.max(0.0), "{i}");
            assert_eq!(grad[i], if sum > 0.0 { 1.5 } else { 0.0 }, "{i}");
        }
    }
}
