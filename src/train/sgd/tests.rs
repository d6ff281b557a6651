use burn::nn::{Linear, LinearConfig};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, Optimizer, Sgd, SgdConfig};
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder};
use burn::tensor::TensorData;

use super::*;
use crate::model::flex_bridge::Train;

type Bytes = NamedMpkBytesRecorder<FullPrecisionSettings>;

/// Enough values for both kernel workers, not a round number.
const LEN: usize = 3 * (1 << 16) + 11;
const LEARNING_RATES: [f64; 3] = [0.1, 0.05, 0.0123];

fn values(seed: usize, scale: f32) -> Tensor<Flex, 1> {
    let data: Vec<f32> = (0..LEN)
        .map(|i| ((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.0 - 1.0)
        .map(|v| v * scale)
        .collect();
    Tensor::from_data(TensorData::new(data, [LEN]), &Default::default())
}

fn settings() -> Vec<FusedSgd> {
    let mut all = Vec::new();
    for momentum in [None, Some(0.9)] {
        for nesterov in [false, true] {
            for weight_decay in [None, Some(5e-4)] {
                all.push(FusedSgd {
                    momentum,
                    nesterov: nesterov && momentum.is_some(),
                    weight_decay,
                });
            }
        }
    }
    all
}

fn burn_sgd<B: Backend>(fused: &FusedSgd) -> Sgd<B> {
    burn_config(fused).build()
}

fn burn_config(fused: &FusedSgd) -> SgdConfig {
    let momentum = fused.momentum.map(|m| {
        MomentumConfig::new()
            .with_momentum(m as f64)
            .with_dampening(0.0)
            .with_nesterov(fused.nesterov)
    });
    SgdConfig::new()
        .with_momentum(momentum)
        .with_weight_decay(fused.weight_decay.map(WeightDecayConfig::new))
}

fn to_vec(tensor: Tensor<Flex, 1>) -> Vec<f32> {
    tensor.into_data().to_vec::<f32>().unwrap_or_default()
}

#[test]
fn in_place_steps_equal_burns_sgd_and_the_tensor_formulas_to_the_bit() {
    for fused in settings() {
        let burn = burn_sgd::<Flex>(&fused);
        let (mut ours, mut theirs, mut formulas) = (values(0, 1.0), values(0, 1.0), values(0, 1.0));
        let (mut our_state, mut their_state, mut velocity) = (None, None, None);
        for (step, lr) in LEARNING_RATES.into_iter().enumerate() {
            let grad = values(step + 1, 0.1);
            (ours, our_state) = fused.step(lr, ours, grad.clone(), our_state);
            (theirs, their_state) = burn.step(lr, theirs, grad.clone(), their_state);
            (formulas, velocity) = fused.step_with_tensors(lr, formulas, grad, velocity);
            let expected = to_vec(theirs.clone());
            assert_eq!(to_vec(ours.clone()), expected, "{fused:?}, step {step}");
            assert_eq!(to_vec(formulas.clone()), expected, "{fused:?}, step {step}");
            let our_velocity = our_state.as_ref().and_then(|s| s.momentum.as_ref());
            assert_eq!(our_velocity.is_some(), fused.momentum.is_some());
            if let (Some(ours), Some(formulas)) = (our_velocity, &velocity) {
                assert_eq!(to_vec(ours.velocity.clone()), to_vec(formulas.clone()));
            }
        }
    }
}

#[test]
fn a_parameter_shared_with_another_tensor_is_not_changed_under_it() {
    let fused = settings()[7];
    let parameter = values(0, 1.0);
    let kept = parameter.clone();
    let (stepped, _) = fused.step(0.1, parameter, values(1, 0.1), None);
    assert_eq!(to_vec(kept), to_vec(values(0, 1.0)));
    assert_ne!(to_vec(stepped), to_vec(values(0, 1.0)));
}

fn layer() -> Linear<Train> {
    LinearConfig::new(300, 200).init(&Default::default())
}

fn gradients(layer: &Linear<Train>) -> GradientsParams {
    let input = values(9, 1.0).narrow(0, 0, 3 * 300).reshape([3, 300]);
    let input = Tensor::<Train, 2>::from_inner(input);
    let loss = layer.forward(input).powi_scalar(2).sum();
    GradientsParams::from_grads(loss.backward(), layer)
}

fn weights(layer: &Linear<Train>) -> Vec<f32> {
    layer
        .weight
        .val()
        .into_data()
        .to_vec::<f32>()
        .unwrap_or_default()
}

#[test]
fn optimizer_records_load_both_ways_between_burns_sgd_and_ours() {
    let fused = settings()[7];
    let mut burn: OptimizerAdaptor<Sgd<Flex>, Linear<Train>, Train> = burn_config(&fused).init();
    let mut ours: OptimizerAdaptor<FusedSgd, Linear<Train>, Train> = fused.into();
    let start = layer();
    // Reading the weights also initialises them (burn initialises parameters on first
    // use): clones made before would each draw their own.
    let before = weights(&start);
    let from_burn = burn.step(0.1, start.clone(), gradients(&start));
    let from_ours = ours.step(0.1, start.clone(), gradients(&start));
    assert_eq!(
        weights(&start),
        before,
        "a step changed the module it was given a clone of"
    );
    assert_eq!(weights(&from_burn), weights(&from_ours));

    let device = Default::default();
    let burn_bytes = Recorder::<Train>::record(&Bytes::default(), burn.to_record(), ()).unwrap();
    let our_bytes = Recorder::<Train>::record(&Bytes::default(), ours.to_record(), ()).unwrap();
    let mut ours_from_burn: OptimizerAdaptor<FusedSgd, Linear<Train>, Train> =
        OptimizerAdaptor::from(fused)
            .load_record(Bytes::default().load(burn_bytes, &device).unwrap());
    let mut burn_from_ours: OptimizerAdaptor<Sgd<Flex>, Linear<Train>, Train> = burn_config(&fused)
        .init()
        .load_record(Bytes::default().load(our_bytes, &device).unwrap());

    // The second step reads the velocity each optimizer was given.
    let expected = weights(&burn.step(0.1, from_burn.clone(), gradients(&from_burn)));
    let second = ours_from_burn.step(0.1, from_burn.clone(), gradients(&from_burn));
    assert_eq!(weights(&second), expected);
    let second = burn_from_ours.step(0.1, from_burn.clone(), gradients(&from_burn));
    assert_eq!(weights(&second), expected);
    assert_ne!(weights(&second), weights(&from_burn));
}
