//! The convolution kernels on burn's CPU backend: `Flex` for inference,
//! `Autodiff<Flex>` for training with a hand-written backward. Any other backend gets
//! the input back.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::nn::conv::Conv2d;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorPrimitive};

use crate::kernels::conv::{self, ConvGeometry};
use crate::model::flex_bridge::{flex_tensor, matched, same_type, values, Train};

/// `conv(x)` on `Autodiff<Flex>` or `Flex`; `Err(x)` on any other backend.
pub(super) fn forward<B: Backend>(
    conv: &Conv2d<B>,
    x: Tensor<B, 4>,
    geometry: ConvGeometry,
) -> Result<Tensor<B, 4>, Tensor<B, 4>> {
    let x = match same_type::<Tensor<B, 4>, Tensor<Train, 4>>(x) {
        Ok(x) => return Ok(matched(train(x, matched(conv.weight.val()), geometry))),
        Err(x) => x,
    };
    let x = same_type::<Tensor<B, 4>, Tensor<Flex, 4>>(x)?;
    let weight: Tensor<Flex, 4> = matched(conv.weight.val());
    let input = x.into_primitive().tensor().to_contiguous();
    let weight = weight.into_primitive().tensor().to_contiguous();
    let output = output_tensor(&input, &weight, &geometry);
    Ok(matched(Tensor::<Flex, 4>::from_primitive(
        TensorPrimitive::Float(output),
    )))
}

fn output_tensor(input: &FlexTensor, weight: &FlexTensor, g: &ConvGeometry) -> FlexTensor {
    let output = conv::forward(values(input), values(weight), g);
    flex_tensor(
        output,
        vec![g.batch, g.channels_out, g.out_height(), g.out_width()],
    )
}

/// The forward pass with the backward registered on the autodiff graph.
fn train(
    x: Tensor<Train, 4>,
    weight: Tensor<Train, 4>,
    geometry: ConvGeometry,
) -> Tensor<Train, 4> {
    let x = x.into_primitive().tensor();
    let weight = weight.into_primitive().tensor();
    let input = x.primitive.to_contiguous();
    let weight_values = weight.primitive.to_contiguous();
    let output = output_tensor(&input, &weight_values, &geometry);
    let nodes = [x.node.clone(), weight.node.clone()];
    let output = match ConvBackward
        .prepare::<NoCheckpointing>(nodes)
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(
            SavedForBackward {
                input,
                weight: weight_values,
                geometry,
            },
            output,
        ),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

#[derive(Debug)]
struct ConvBackward;

/// What the backward pass needs (both tensors shared with the graph, not copied).
#[derive(Clone, Debug)]
struct SavedForBackward {
    input: FlexTensor,
    weight: FlexTensor,
    geometry: ConvGeometry,
}

impl Backward<Flex, 2> for ConvBackward {
    type State = SavedForBackward;

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [input_node, weight_node] = ops.parents;
        let saved = ops.state;
        let g = saved.geometry;
        let grad_output = grads.consume::<Flex>(&ops.node).to_contiguous();
        let grad_output = values(&grad_output);
        if let Some(node) = weight_node {
            let grad = conv::weight_gradient(values(&saved.input), grad_output, &g);
            let shape = vec![g.channels_out, g.channels_in, g.kernel[0], g.kernel[1]];
            grads.register::<Flex>(node.id, flex_tensor(grad, shape));
        }
        if let Some(node) = input_node {
            let grad = conv::input_gradient(grad_output, values(&saved.weight), &g);
            let shape = vec![g.batch, g.channels_in, g.height, g.width];
            grads.register::<Flex>(node.id, flex_tensor(grad, shape));
        }
    }
}
