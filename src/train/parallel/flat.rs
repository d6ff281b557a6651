//! The one all-reduce of a step. Everything the replicas must agree on is laid end
//! to end in one buffer, in the model's own order (the same on every replica):
//!
//! `[gradient of each weight | each running statistic | loss sum, correct, lr·P, stop·P]`
//!
//! and averaged. One call instead of one per tensor matters between machines, where
//! every call is a network round. The mean of the gradients is the gradient of the
//! global batch; the mean of the running statistics keeps them equal (each replica
//! moved them towards its own shard's statistics, and the mean is the update a
//! BatchNorm over the whole batch's per-shard statistics would make); the loss and
//! correct count come back as the global batch's sums. Only the leader contributes
//! the learning rate (times the number of replicas P, so the mean is its value), so
//! every replica steps with the leader's; any replica may ask to stop.

use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};

use super::Collective;
use crate::model::Model;
use crate::train::step::{Inner, StepOutput};
use crate::train::TrainError;

/// What a replica brings to the step's agreement, and what it gets back.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepControl {
    pub lr: f64,
    pub stop: bool,
}

/// What a replica brings to a step's agreement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepAsk {
    /// The leader's LR; `None` on the other replicas.
    pub leader_lr: Option<f64>,
    /// This replica asks to stop after the step.
    pub stop: bool,
    /// The step's LR and stop when one process decides them for all its replicas (no
    /// other nodes): then they are not read back, which would wait for the device.
    pub settled: Option<StepControl>,
}

/// Averages gradients, running statistics and the step's outputs over every replica,
/// and settles the step's learning rate and stop.
pub fn synchronize<B: AutodiffBackend>(
    collective: &Collective<Inner<B>>,
    model: &mut Model<B>,
    grads: GradientsParams,
    output: StepOutput<B>,
    ask: StepAsk,
) -> Result<(GradientsParams, StepOutput<B>, StepControl), TrainError> {
    // The running statistics of this step are held per thread until read.
    let _ = model.valid();
    let peers = collective.peers() as f64;
    let mut flatten = Flatten::<B> {
        grads: &grads,
        parts: Vec::new(),
    };
    model.visit(&mut flatten);
    let device = output.loss_sum.device();
    let control = vec![
        ask.leader_lr.map_or(0.0, |lr| lr * peers) as f32,
        if ask.stop { peers as f32 } else { 0.0 },
    ];
    let mut parts = flatten.parts;
    parts.push(output.loss_sum);
    parts.push(output.correct.float());
    parts.push(Tensor::from_data(TensorData::new(control, [2]), &device));
    let buffer = collective.mean(Tensor::cat(parts, 0))?;
    let length = buffer.dims()[0];
    let mut unflatten = Unflatten::<B> {
        buffer: buffer.clone(),
        offset: 0,
        grads,
    };
    *model = model.clone().map(&mut unflatten);
    let totals = buffer.clone().narrow(0, length - 4, 2) * peers;
    let output = StepOutput {
        loss_sum: totals.clone().narrow(0, 0, 1),
        correct: totals.narrow(0, 1, 1).round().int(),
    };
    let control = match ask.settled {
        Some(settled) => settled,
        None => read_control(buffer.narrow(0, length - 2, 2))?,
    };
    Ok((unflatten.grads, output, control))
}

/// Lays every weight's gradient (zeros where a weight got none) and every running
/// statistic end to end.
struct Flatten<'a, B: AutodiffBackend> {
    grads: &'a GradientsParams,
    parts: Vec<Tensor<Inner<B>, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Flatten<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let value = param.val();
        let shape = value.shape();
        let elements = shape.num_elements();
        let part = match value.is_require_grad() {
            true => self
                .grads
                .get::<Inner<B>, D>(param.id)
                .map(|grad| grad.reshape([elements]))
                .unwrap_or_else(|| Tensor::zeros([elements], &value.device())),
            false => value.inner().reshape([elements]),
        };
        self.parts.push(part);
    }
}

/// Puts the averaged buffer back: gradients into the optimizer's, running statistics
/// into the model.
struct Unflatten<B: AutodiffBackend> {
    buffer: Tensor<Inner<B>, 1>,
    offset: usize,
    grads: GradientsParams,
}

impl<B: AutodiffBackend> ModuleMapper<B> for Unflatten<B> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        let value = param.val();
        let shape = value.shape();
        let elements = shape.num_elements();
        let part = self
            .buffer
            .clone()
            .narrow(0, self.offset, elements)
            .reshape(shape);
        self.offset += elements;
        if value.is_require_grad() {
            self.grads.register::<Inner<B>, D>(param.id, part);
            param
        } else {
            Param::initialized(param.id, Tensor::from_inner(part))
        }
    }
}

/// The agreed LR and stop, from the end of the averaged buffer (one host read).
fn read_control<B: Backend>(control: Tensor<B, 1>) -> Result<StepControl, TrainError> {
    let values = control
        .into_data()
        .to_vec::<f32>()
        .map_err(|e| TrainError::Device(format!("reading the step's control values: {e:?}")))?;
    match values.as_slice() {
        [lr, stop] => Ok(StepControl {
            lr: f64::from(*lr),
            stop: *stop > 0.5,
        }),
        _ => Err(TrainError::Device(
            "the step's control values are missing".into(),
        )),
    }
}
