//! Models by name: the list the CLI offers, one-line descriptions, and construction.

use std::sync::OnceLock;

use burn::module::Module;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::cifar_resnet::CifarResNetConfig;
use super::densenet::{DenseNet, DenseNetConfig};
use super::resnet::{ResNet, ResNetConfig};
use super::vgg::{Vgg, VggConfig};

/// Any model of the zoo, so that training and checkpoints need not be generic over it.
#[derive(Module, Debug)]
pub enum Model<B: Backend> {
    ResNet(ResNet<B>),
    Vgg(Vgg<B>),
    DenseNet(DenseNet<B>),
}

impl<B: Backend> Model<B> {
    /// `[B, 1, H, W]` grey images -> `[B, 7]` logits.
    pub fn forward(&self, images: Tensor<B, 4>) -> Tensor<B, 2> {
        match self {
            Self::ResNet(model) => model.forward(images),
            Self::Vgg(model) => model.forward(images),
            Self::DenseNet(model) => model.forward(images),
        }
    }
}

/// A name that is not in [`model_names`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown model `{name}`; valid names: {}", .valid.join(", "))]
pub struct UnknownModel {
    pub name: String,
    pub valid: &'static [&'static str],
}

/// How to build one architecture.
#[derive(Clone, Copy)]
enum Recipe {
    ResNet(fn() -> ResNetConfig),
    CifarResNet { blocks_per_stage: usize },
    Vgg(fn() -> VggConfig),
    DenseNet(fn() -> DenseNetConfig),
}

pub(super) struct ModelSpec {
    pub name: &'static str,
    pub family: &'static str,
    pub description: &'static str,
    recipe: Recipe,
}

const IMAGENET_RESNET: &str = "ResNet";
const CIFAR_RESNET: &str = "ResNet (CIFAR)";
const VGG: &str = "VGG-BN";
const DENSENET: &str = "DenseNet-BC";

const fn spec(
    name: &'static str,
    family: &'static str,
    description: &'static str,
    recipe: Recipe,
) -> ModelSpec {
    ModelSpec {
        name,
        family,
        description,
        recipe,
    }
}

const fn imagenet(
    name: &'static str,
    description: &'static str,
    config: fn() -> ResNetConfig,
) -> ModelSpec {
    spec(name, IMAGENET_RESNET, description, Recipe::ResNet(config))
}

const fn cifar(
    name: &'static str,
    description: &'static str,
    blocks_per_stage: usize,
) -> ModelSpec {
    spec(
        name,
        CIFAR_RESNET,
        description,
        Recipe::CifarResNet { blocks_per_stage },
    )
}

const fn vgg(
    name: &'static str,
    description: &'static str,
    config: fn() -> VggConfig,
) -> ModelSpec {
    spec(name, VGG, description, Recipe::Vgg(config))
}

const fn densenet(
    name: &'static str,
    description: &'static str,
    config: fn() -> DenseNetConfig,
) -> ModelSpec {
    spec(name, DENSENET, description, Recipe::DenseNet(config))
}

/// The zoo, in the order [`model_names`] lists it (one line per model, hence no rustfmt).
#[rustfmt::skip]
pub(super) const SPECS: &[ModelSpec] = &[
    cifar("resnet8", "CIFAR ResNet-8: 3 stages x 1 basic block, widths 16/32/64 (tiny, for CPU demos)", 1),
    imagenet("resnet18", "ResNet-18: basic blocks (2,2,2,2), widths 64/128/256/512", ResNetConfig::resnet18),
    cifar("resnet20", "CIFAR ResNet-20: 3 stages x 3 basic blocks, widths 16/32/64", 3),
    cifar("resnet32", "CIFAR ResNet-32: 3 stages x 5 basic blocks, widths 16/32/64", 5),
    imagenet("resnet34", "ResNet-34: basic blocks (3,4,6,3), widths 64/128/256/512", ResNetConfig::resnet34),
    cifar("resnet44", "CIFAR ResNet-44: 3 stages x 7 basic blocks, widths 16/32/64", 7),
    imagenet("resnet50", "ResNet-50: bottlenecks (3,4,6,3), widths 64/128/256/512 (x4 out)", ResNetConfig::resnet50),
    cifar("resnet56", "CIFAR ResNet-56: 3 stages x 9 basic blocks, widths 16/32/64", 9),
    imagenet("resnet101", "ResNet-101: bottlenecks (3,4,23,3), widths 64/128/256/512 (x4 out)", ResNetConfig::resnet101),
    cifar("resnet110", "CIFAR ResNet-110: 3 stages x 18 basic blocks, widths 16/32/64", 18),
    imagenet("resnet152", "ResNet-152: bottlenecks (3,8,36,3), widths 64/128/256/512 (x4 out)", ResNetConfig::resnet152),
    vgg("vgg11", "VGG-11 (config A) with BatchNorm: 8 convs, widths 64..512", VggConfig::vgg11),
    vgg("vgg13", "VGG-13 (config B) with BatchNorm: 10 convs, widths 64..512", VggConfig::vgg13),
    vgg("vgg16", "VGG-16 (config D) with BatchNorm: 13 convs, widths 64..512", VggConfig::vgg16),
    vgg("vgg19", "VGG-19 (config E) with BatchNorm: 16 convs, widths 64..512", VggConfig::vgg19),
    densenet("densenet121", "DenseNet-121: growth 32, blocks (6,12,24,16), 64-channel stem", DenseNetConfig::densenet121),
    densenet("densenet161", "DenseNet-161: growth 48, blocks (6,12,36,24), 96-channel stem", DenseNetConfig::densenet161),
    densenet("densenet169", "DenseNet-169: growth 32, blocks (6,12,32,32), 64-channel stem", DenseNetConfig::densenet169),
    densenet("densenet201", "DenseNet-201: growth 32, blocks (6,12,48,32), 64-channel stem", DenseNetConfig::densenet201),
    densenet("densenet-small", "small DenseNet-BC: growth 12, blocks (4,4,4), 24-channel stem", DenseNetConfig::densenet_small),
];

/// Every valid model name, lowercase.
pub fn model_names() -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<&'static str>> = OnceLock::new();
    NAMES.get_or_init(|| SPECS.iter().map(|spec| spec.name).collect())
}

/// The registry's spelling of `name` (names match case-insensitively); the error
/// lists the valid names.
pub fn canonical_name(name: &str) -> Result<&'static str, UnknownModel> {
    model_names()
        .iter()
        .find(|known| known.eq_ignore_ascii_case(name.trim()))
        .copied()
        .ok_or_else(|| UnknownModel {
            name: name.to_string(),
            valid: model_names(),
        })
}

/// A one-line description (family, depth, widths) of a model name.
pub fn describe(name: &str) -> Option<&'static str> {
    find(name).map(|spec| spec.description)
}

/// Builds a freshly initialised model by name (case-insensitive).
pub fn build<B: Backend>(name: &str, device: &B::Device) -> Result<Model<B>, UnknownModel> {
    let spec = find(name).ok_or_else(|| UnknownModel {
        name: name.to_string(),
        valid: model_names(),
    })?;
    Ok(match spec.recipe {
        Recipe::ResNet(config) => Model::ResNet(config().init(device)),
        Recipe::CifarResNet { blocks_per_stage } => {
            Model::ResNet(CifarResNetConfig::new(blocks_per_stage).init(device))
        }
        Recipe::Vgg(config) => Model::Vgg(config().init(device)),
        Recipe::DenseNet(config) => Model::DenseNet(config().init(device)),
    })
}

fn find(name: &str) -> Option<&'static ModelSpec> {
    let name = name.trim();
    SPECS
        .iter()
        .find(|spec| spec.name.eq_ignore_ascii_case(name))
}
