//! The join of a residual block, `relu(branch + shortcut)`, forward and backward in
//! one sweep each (burn's CPU backend takes an addition, a ReLU and, backward, a
//! mask and a multiplication: four passes over memory on one core).

use super::parallel::{collect_rows, for_each_row_chunk};

/// Elements per parallel row: the data is flat, any cut is as good as another.
const ROW: usize = 4096;

/// `max(branch + shortcut, 0)`, element by element.
pub fn add_relu(branch: &[f32], shortcut: &[f32]) -> Vec<f32> {
    assert_eq!(
        branch.len(),
        shortcut.len(),
        "residual join of unequal tensors"
    );
    let len = branch.len();
    let mut out = collect_rows(len / ROW, ROW, |first, chunk| {
        let start = first * ROW;
        let sources = branch[start..].iter().zip(&shortcut[start..]);
        for (target, (&a, &b)) in chunk.iter_mut().zip(sources) {
            target.write((a + b).max(0.0));
        }
    });
    let tail = len / ROW * ROW;
    out.extend(
        branch[tail..]
            .iter()
            .zip(&shortcut[tail..])
            .map(|(&a, &b)| (a + b).max(0.0)),
    );
    out
}

/// The gradient through [`add_relu`] (the same for both inputs): `grad` kept where
/// the join's `output` is positive, zeroed elsewhere, in place.
pub fn relu_gradient_in_place(grad: &mut [f32], output: &[f32]) {
    assert_eq!(
        grad.len(),
        output.len(),
        "gradient and output differ in length"
    );
    for_each_row_chunk(grad, ROW, |first, chunk| {
        let start = first * ROW;
        for (g, &value) in chunk.iter_mut().zip(&output[start..]) {
            *g = passed(*g, value);
        }
    });
    let tail = grad.len() / ROW * ROW;
    for (g, &value) in grad[tail..].iter_mut().zip(&output[tail..]) {
        *g = passed(*g, value);
    }
}

/// A select rather than a conditional store: it vectorises, and the signs of
/// activations are too random for a branch to predict.
#[inline(always)]
fn passed(grad: f32, output: f32) -> f32 {
    if output > 0.0 {
        grad
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_join_adds_then_clamps_and_its_gradient_follows_the_sign() {
        // Longer than a few rows, not a whole number of them.
        let len = 3 * ROW + 17;
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
