//! `relu(branch + shortcut)`, the join of every residual block, through the kernel of
//! [`crate::kernels::residual`] on burn's CPU backends (with its own backward on
//! `Autodiff<Flex>`), through burn's operations elsewhere.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{DType, Tensor, TensorPrimitive};

use super::flex_bridge::{flex_tensor, matched, same_type, values, Train};
use crate::kernels::residual::{add_relu as add_relu_kernel, relu_gradient_in_place};

/// `relu(branch + shortcut)` (tensors of one shape).
pub fn add_relu<B: Backend>(branch: Tensor<B, 4>, shortcut: Tensor<B, 4>) -> Tensor<B, 4> {
    let kernel_applies = branch.dims() == shortcut.dims()
        && branch.dtype() == DType::F32
        && shortcut.dtype() == DType::F32;
    if !kernel_applies {
        return relu(branch + shortcut);
    }
    let (branch, shortcut) =
        match same_type::<_, (Tensor<Train, 4>, Tensor<Train, 4>)>((branch, shortcut)) {
            Ok((branch, shortcut)) => return matched(train(branch, shortcut)),
            Err(pair) => pair,
        };
    match same_type::<_, (Tensor<Flex, 4>, Tensor<Flex, 4>)>((branch, shortcut)) {
        Ok((branch, shortcut)) => matched(inference(branch, shortcut)),
        Err((branch, shortcut)) => relu(branch + shortcut),
    }
}

fn inference(branch: Tensor<Flex, 4>, shortcut: Tensor<Flex, 4>) -> Tensor<Flex, 4> {
    let dims = branch.dims();
    let branch = branch.into_primitive().tensor().to_contiguous();
    let shortcut = shortcut.into_primitive().tensor().to_contiguous();
    let output = add_relu_kernel(values(&branch), values(&shortcut));
    Tensor::from_primitive(TensorPrimitive::Float(flex_tensor(output, dims.to_vec())))
}

fn train(branch: Tensor<Train, 4>, shortcut: Tensor<Train, 4>) -> Tensor<Train, 4> {
    let dims = branch.dims();
    let branch = branch.into_primitive().tensor();
    let shortcut = shortcut.into_primitive().tensor();
    let output = add_relu_kernel(
        values(&branch.primitive.to_contiguous()),
        values(&shortcut.primitive.to_contiguous()),
    );
    let output = flex_tensor(output, dims.to_vec());
    let nodes = [branch.node.clone(), shortcut.node.clone()];
    let output = match JoinBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        // The output is kept (shared, not copied): its sign is the ReLU's mask.
        OpsKind::Tracked(prep) => prep.finish(output.clone(), output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

#[derive(Debug)]
struct JoinBackward;

impl Backward<Flex, 2> for JoinBackward {
    type State = FlexTensor;

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [branch_node, shortcut_node] = ops.parents;
        let output = ops.state;
        let mut grad = grads.consume::<Flex>(&ops.node).to_contiguous();
        relu_gradient_in_place(grad.storage_mut::<f32>(), values(&output));
        match (branch_node, shortcut_node) {
            (Some(branch), Some(shortcut)) => {
                grads.register::<Flex>(branch.id, grad.clone());
                grads.register::<Flex>(shortcut.id, grad);
            }
            (Some(node), None) | (None, Some(node)) => grads.register::<Flex>(node.id, grad),
            (None, None) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Distribution, TensorData};

    use super::*;

    fn random<B: Backend>(seed_shift: f64, device: &B::Device) -> Tensor<B, 4> {
        Tensor::<B, 4>::random([3, 4, 5, 6], Distribution::Normal(seed_shift, 1.0), device)
    }

    /// The kernel path against burn's `relu(a + b)`: outputs and both gradients.
    #[test]
    fn the_kernel_join_matches_burns_operations() {
        let device = Default::default();
        let a = random::<Flex>(0.0, &device);
        let b = random::<Flex>(0.3, &device);
        let expected = relu(a.clone() + b.clone()).into_data();
        add_relu(a.clone(), b.clone())
            .into_data()
            .assert_eq(&expected, true);

        let weights = random::<Train>(0.0, &device);
        let gradients = |fused: bool| {
            let a = Tensor::<Train, 4>::from_data(a.to_data(), &device).require_grad();
            let b = Tensor::<Train, 4>::from_data(b.to_data(), &device).require_grad();
            let joined = if fused {
                add_relu(a.clone(), b.clone())
            } else {
                relu(a.clone() + b.clone())
            };
            let grads = (joined.clone() * weights.clone()).sum().backward();
            let data = |t: &Tensor<Train, 4>| -> TensorData {
                t.grad(&grads)
                    .map(|g| g.into_data())
                    .unwrap_or_else(|| panic!("no gradient reached an input of the join"))
            };
            (joined.into_data(), data(&a), data(&b))
        };
        let (fused, fused_a, fused_b) = gradients(true);
        let (plain, plain_a, plain_b) = gradients(false);
        fused.assert_eq(&plain, true);
        fused_a.assert_eq(&plain_a, true);
        fused_b.assert_eq(&plain_b, true);
        let zeros = fused_a.iter::<f32>().filter(|&g| g == 0.0).count();
        assert!(
            zeros > 0 && zeros < fused_a.num_elements(),
            "both sides of the ReLU"
        );
    }
}
