//! Between generic `Tensor<B, D>` and burn's CPU backend, for the modules that run
//! their own kernels there (`norm`, `conv`).
//!
//! Modules are generic over any backend, so these helpers compare `B` with the two
//! concrete CPU backends at run time (`TypeId`) and convert tensors between the
//! identical types; for any other backend the caller keeps burn's own operations.

use std::any::{Any, TypeId};

use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::TensorData;

/// The training backend the kernels' backward passes are registered on.
pub type Train = Autodiff<Flex>;

/// Whether `B` is one of the two CPU backends the kernels run on.
pub fn is_cpu_backend<B: 'static>() -> bool {
    [TypeId::of::<Train>(), TypeId::of::<Flex>()].contains(&TypeId::of::<B>())
}

/// `value` as type `U` when `T` and `U` are the same type, `value` back otherwise.
pub fn same_type<T: 'static, U: 'static>(value: T) -> Result<U, T> {
    if TypeId::of::<T>() != TypeId::of::<U>() {
        return Err(value);
    }
    let mut slot = Some(value);
    match (&mut slot as &mut dyn Any)
        .downcast_mut::<Option<U>>()
        .and_then(Option::take)
    {
        Some(converted) => Ok(converted),
        None => slot.map_or_else(|| unreachable!("taken only on success"), Err),
    }
}

/// Converts back a value whose type was already matched by [`same_type`].
pub fn matched<T: 'static, U: 'static>(value: T) -> U {
    same_type(value).unwrap_or_else(|_| unreachable!("the backend type was checked before"))
}

/// The logical elements of a contiguous `f32` tensor (callers check the dtype and
/// make it contiguous first).
pub fn values(tensor: &FlexTensor) -> &[f32] {
    tensor.as_slice::<f32>().unwrap_or_default()
}

pub fn flex_tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}
