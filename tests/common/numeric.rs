//! Comparing tensors from our kernels with burn's own operations.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};

pub fn values<B: Backend, const D: usize>(tensor: Tensor<B, D>) -> Vec<f32> {
    match tensor.into_data().into_vec::<f32>() {
        Ok(values) => values,
        Err(error) => panic!("not f32 data: {error:?}"),
    }
}

/// Every float of a model (weights and running statistics), in the model's order.
/// Pass an autodiff model's `valid()`, which brings its running statistics up to date.
pub fn model_floats<B: Backend>(model: &impl Module<B>) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl<B: Backend> ModuleVisitor<B> for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.extend(values(param.val()));
        }
    }
    let mut collect = Collect(Vec::new());
    model.visit(&mut collect);
    collect.0
}

/// Every element within `relative` of the reference, measured against the element's
/// magnitude plus the reference's root mean square (so values that cancel to about
/// zero are judged on the scale of their tensor, not on their own).
pub fn assert_close(what: &str, actual: Vec<f32>, expected: Vec<f32>, relative: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    let rms = (expected.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>()
        / expected.len().max(1) as f64)
        .sqrt();
    let mut worst = 0.0f64;
    for (index, (&a, &e)) in actual.iter().zip(&expected).enumerate() {
        let (a, e) = (f64::from(a), f64::from(e));
        let allowed = relative * (e.abs() + rms);
        assert!(
            (a - e).abs() <= allowed,
            "{what}[{index}]: {a} vs burn's {e} (allowed {allowed:e})"
        );
        worst = worst.max((a - e).abs() / (e.abs() + rms).max(f64::MIN_POSITIVE));
    }
    println!("{what}: worst relative difference {worst:.2e}");
}

pub fn random<B: Backend, const D: usize>(shape: [usize; D], mean: f64, std: f64) -> Tensor<B, D> {
    Tensor::random(shape, Distribution::Normal(mean, std), &Default::default())
}

/// A named gradient, ours and burn's (`None` when one was not computed).
pub type GradientPair<'a, B, const D: usize> =
    (&'a str, Option<Tensor<B, D>>, Option<Tensor<B, D>>);

/// Each gradient must exist on both sides and be close within `relative`.
pub fn assert_gradients_close<B: Backend, const D: usize>(
    label: &str,
    gradients: Vec<GradientPair<'_, B, D>>,
    relative: f64,
) {
    for (name, actual, expected) in gradients {
        let (Some(actual), Some(expected)) = (actual, expected) else {
            panic!("{label}: no {name} gradient");
        };
        assert_close(
            &format!("{label} {name} gradient"),
            values(actual),
            values(expected),
            relative,
        );
    }
}
