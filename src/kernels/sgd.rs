//! One SGD step over a parameter in a single sweep, in place. burn's optimizer takes
//! nine tensor operations for the same arithmetic, each a pass over memory into a
//! fresh allocation (ResNet-18's 11 M parameters: ~1 GB of traffic a step, 42 ms
//! on two cores). The operations and their order are burn's (`Sgd` with
//! `WeightDecay` and `Momentum` at dampening 0, as PyTorch's SGD), so the results
//! are the same to the bit: every product and sum is rounded on its own, as there.

use super::parallel::{for_each_paired_chunk, for_each_row_chunk};

/// The hyper-parameters of one step, as burn rounds them to `f32`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdStep {
    pub learning_rate: f32,
    /// L2 penalty: `parameter × penalty` is added to the gradient.
    pub weight_decay: Option<f32>,
    pub momentum: f32,
    /// Steps along `gradient + momentum × velocity` rather than the velocity.
    pub nesterov: bool,
}

/// The momentum buffer a step works with.
pub enum Velocity<'a> {
    /// Plain SGD: the step follows the gradient.
    Off,
    /// The first step: the buffer (any contents) is set to the gradient.
    First(&'a mut [f32]),
    /// Later steps: the buffer decays by the momentum and takes in the gradient.
    Running(&'a mut [f32]),
}

/// `parameter -= learning_rate × direction`, with the direction (and the velocity)
/// as [`Velocity`] says.
pub fn sgd_step(parameter: &mut [f32], gradient: &[f32], velocity: Velocity, step: SgdStep) {
    assert_eq!(
        parameter.len(),
        gradient.len(),
        "parameter and gradient differ in length"
    );
    match velocity {
        Velocity::Off => for_each_row_chunk(parameter, 1, |start, chunk| {
            for (p, &g) in chunk.iter_mut().zip(&gradient[start..]) {
                *p -= step.decayed(*p, g) * step.learning_rate;
            }
        }),
        Velocity::First(velocity) => {
            for_each_paired_chunk(parameter, velocity, |start, chunk, velocity| {
                let gradient = &gradient[start..];
                for ((p, v), &g) in chunk.iter_mut().zip(velocity).zip(gradient) {
                    let g = step.decayed(*p, g);
                    *v = g;
                    *p -= step.direction(g, *v) * step.learning_rate;
                }
            })
        }
        Velocity::Running(velocity) => {
            for_each_paired_chunk(parameter, velocity, |start, chunk, velocity| {
                let gradient = &gradient[start..];
                for ((p, v), &g) in chunk.iter_mut().zip(velocity).zip(gradient) {
                    let g = step.decayed(*p, g);
                    *v = g + *v * step.momentum;
                    *p -= step.direction(g, *v) * step.learning_rate;
                }
            })
        }
    }
}

impl SgdStep {
    #[inline(always)]
    fn decayed(&self, parameter: f32, gradient: f32) -> f32 {
        match self.weight_decay {
            Some(penalty) => parameter * penalty + gradient,
            None => gradient,
        }
    }

    #[inline(always)]
    fn direction(&self, gradient: f32, velocity: f32) -> f32 {
        if self.nesterov {
            velocity * self.momentum + gradient
        } else {
            velocity
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(nesterov: bool, weight_decay: Option<f32>) -> SgdStep {
        SgdStep {
            learning_rate: 0.05,
            weight_decay,
            momentum: 0.9,
            nesterov,
        }
    }

    /// The update one element at a time, written out as the formulas read.
    fn by_hand(p: f32, g: f32, v: Option<f32>, s: SgdStep) -> (f32, f32) {
        let g = s.weight_decay.map_or(g, |wd| p * wd + g);
        let v = v.map_or(g, |v| g + v * s.momentum);
        let d = if s.nesterov { v * s.momentum + g } else { v };
        (p - d * s.learning_rate, v)
    }

    #[test]
    fn every_element_follows_the_formulas_across_workers() {
        // Long enough for both workers, not a round number.
        let len = 3 * (1 << 16) + 5;
        let gradient: Vec<f32> = (0..len).map(|i| ((i % 13) as f32 - 6.0) * 0.1).collect();
        for nesterov in [false, true] {
            for weight_decay in [None, Some(5e-4)] {
                let s = step(nesterov, weight_decay);
                let start: Vec<f32> = (0..len).map(|i| (i % 7) as f32 * 0.3 - 1.0).collect();
                let mut parameter = start.clone();
                let mut velocity = vec![f32::NAN; len];
                sgd_step(&mut parameter, &gradient, Velocity::First(&mut velocity), s);
                let after_first = parameter.clone();
                let velocity_first = velocity.clone();
                sgd_step(
                    &mut parameter,
                    &gradient,
                    Velocity::Running(&mut velocity),
                    s,
                );
                for i in 0..len {
                    let (p1, v1) = by_hand(start[i], gradient[i], None, s);
                    assert_eq!((after_first[i], velocity_first[i]), (p1, v1), "first {i}");
                    let (p2, v2) = by_hand(p1, gradient[i], Some(v1), s);
                    assert_eq!((parameter[i], velocity[i]), (p2, v2), "second {i}");
                }
            }
        }
    }

    #[test]
    fn without_momentum_the_step_follows_the_decayed_gradient() {
        let mut parameter = vec![2.0f32, -4.0];
        let s = SgdStep {
            learning_rate: 0.5,
            weight_decay: Some(0.25),
            momentum: 0.0,
            nesterov: false,
        };
        sgd_step(&mut parameter, &[1.0, 1.0], Velocity::Off, s);
        assert_eq!(parameter, [2.0 - 0.5 * 1.5, -4.0 - 0.5 * 0.0]);
    }
}
