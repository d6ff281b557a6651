//! SGD with momentum and L2 weight decay (PyTorch's semantics: dampening 0), whose
//! step on burn's CPU backend is one in-place sweep per parameter
//! ([`crate::kernels::sgd`]) instead of burn's nine tensor operations. Other
//! backends take the same formulas as tensor operations. Results equal burn's `Sgd`
//! to the bit on both paths, and so do checkpoints: the state is recorded under
//! burn's field names, so optimizer records from either load into the other.

use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::optim::{LearningRate, SimpleOptimizer};
use burn::record::Record;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, ElementConversion, Tensor, TensorPrimitive};

use crate::kernels::sgd::{sgd_step, SgdStep, Velocity};
use crate::model::flex_bridge::{matched, same_type};

/// The step's settings; the learning rate comes with each step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FusedSgd {
    /// `None`: plain SGD, no velocity kept.
    pub momentum: Option<f32>,
    pub nesterov: bool,
    /// L2 penalty added to the gradient, `None` for none.
    pub weight_decay: Option<f32>,
}

/// A parameter's optimizer state: burn's `SgdState` field for field.
#[derive(Record, Clone)]
pub struct FusedSgdState<B: Backend, const D: usize> {
    pub momentum: Option<MomentumVelocity<B, D>>,
}

/// burn's `MomentumState`, field for field.
#[derive(Record, Clone)]
pub struct MomentumVelocity<B: Backend, const D: usize> {
    pub velocity: Tensor<B, D>,
}

impl<B: Backend> SimpleOptimizer<B> for FusedSgd {
    type State<const D: usize> = FusedSgdState<B, D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<B, D>, Option<Self::State<D>>) {
        let velocity = state.and_then(|state| state.momentum).map(|m| m.velocity);
        let (tensor, velocity) =
            match same_type::<_, (Tensor<Flex, D>, Tensor<Flex, D>, Option<Tensor<Flex, D>>)>((
                tensor, grad, velocity,
            )) {
                Ok((tensor, grad, velocity)) => {
                    let (tensor, velocity) = self.step_in_place(lr, tensor, grad, velocity);
                    (matched(tensor), velocity.map(matched))
                }
                Err((tensor, grad, velocity)) => self.step_with_tensors(lr, tensor, grad, velocity),
            };
        let momentum = velocity.map(|velocity| MomentumVelocity { velocity });
        (tensor, Some(FusedSgdState { momentum }))
    }

    fn to_device<const D: usize>(mut state: Self::State<D>, device: &B::Device) -> Self::State<D> {
        state.momentum = state.momentum.map(|m| MomentumVelocity {
            velocity: m.velocity.to_device(device),
        });
        state
    }
}

impl FusedSgd {
    fn kernel_step(&self, lr: LearningRate) -> SgdStep {
        SgdStep {
            learning_rate: lr.elem(),
            weight_decay: self.weight_decay,
            momentum: self.momentum.unwrap_or(0.0),
            nesterov: self.nesterov,
        }
    }

    /// The step as burn's `Sgd` writes it, one tensor operation at a time.
    pub fn step_with_tensors<B: Backend, const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<B, D>,
        grad: Tensor<B, D>,
        velocity: Option<Tensor<B, D>>,
    ) -> (Tensor<B, D>, Option<Tensor<B, D>>) {
        let grad = match self.weight_decay {
            Some(penalty) => tensor.clone().mul_scalar(penalty).add(grad),
            None => grad,
        };
        let Some(momentum) = self.momentum else {
            return (tensor - grad.mul_scalar(lr), None);
        };
        let velocity = match velocity {
            Some(velocity) => grad.clone().add(velocity.mul_scalar(momentum)),
            None => grad.clone(),
        };
        let direction = match self.nesterov {
            true => velocity.clone().mul_scalar(momentum).add(grad),
            false => velocity.clone(),
        };
        (tensor - direction.mul_scalar(lr), Some(velocity))
    }

    /// The step on the CPU backend: parameter and velocity updated where they lie
    /// when nothing else holds them (copied first otherwise).
    fn step_in_place<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<Flex, D>,
        grad: Tensor<Flex, D>,
        velocity: Option<Tensor<Flex, D>>,
    ) -> (Tensor<Flex, D>, Option<Tensor<Flex, D>>) {
        let is_f32 = |t: &Tensor<Flex, D>| t.dtype() == DType::F32;
        if !(is_f32(&tensor) && is_f32(&grad) && velocity.as_ref().is_none_or(is_f32)) {
            return self.step_with_tensors(lr, tensor, grad, velocity);
        }
        let shape = tensor.shape();
        let mut parameter = whole_buffer(tensor.into_primitive().tensor());
        let grad = whole_buffer(grad.into_primitive().tensor());
        let mut velocity = self.momentum.map(|_| match velocity {
            Some(velocity) => (whole_buffer(velocity.into_primitive().tensor()), false),
            None => (FlexTensor::zeros(shape, DType::F32), true),
        });
        let gradient = grad.storage::<f32>();
        let velocity_values = match &mut velocity {
            None => Velocity::Off,
            Some((values, true)) => Velocity::First(values.storage_mut::<f32>()),
            Some((values, false)) => Velocity::Running(values.storage_mut::<f32>()),
        };
        let step = self.kernel_step(lr);
        sgd_step(
            parameter.storage_mut::<f32>(),
            gradient,
            velocity_values,
            step,
        );
        let into_tensor = |t: FlexTensor| Tensor::from_primitive(TensorPrimitive::Float(t));
        (
            into_tensor(parameter),
            velocity.map(|(v, _)| into_tensor(v)),
        )
    }
}

/// `tensor` as the only view of a buffer holding exactly its values in order, so
/// that its storage is its values (copied when it was a strided or partial view).
fn whole_buffer(tensor: FlexTensor) -> FlexTensor {
    let contiguous = tensor.to_contiguous();
    // The original shares the buffer when it already was whole: let it go, so the
    // buffer can be written in place.
    drop(tensor);
    contiguous
}

#[cfg(test)]
mod tests;
