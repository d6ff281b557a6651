//! Parameter counting and the `fer models` table.

use burn::backend::Flex;
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::macs::{human_count, macs_per_image};
use super::registry::{build, Model, SPECS};
use crate::run::format::with_thousands_separators;

/// Field names of BatchNorm running statistics: burn visits them like parameters
/// (so `Module::num_params` includes them) but they are not trained, and PyTorch's
/// `sum(p.numel() for p in model.parameters())` leaves them out.
const RUNNING_STATISTICS: [&str; 2] = ["running_mean", "running_var"];

/// Trainable parameters, counted like PyTorch's `parameters()`: burn's
/// `Module::num_params` minus BatchNorm running statistics. Does not force lazy
/// parameter initialisation.
pub fn parameter_count<B: Backend>(model: &Model<B>) -> usize {
    trainable_parameter_count(model)
}

/// [`parameter_count`] for any module.
pub fn trainable_parameter_count<B: Backend, M: Module<B>>(module: &M) -> usize {
    let mut counter = TrainableCounter::default();
    module.visit(&mut counter);
    counter.count
}

#[derive(Default)]
struct TrainableCounter {
    /// Names of the modules/fields entered, innermost last.
    path: Vec<String>,
    count: usize,
}

impl<B: Backend> ModuleVisitor<B> for TrainableCounter {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let field = self.path.last().map(String::as_str).unwrap_or_default();
        if !RUNNING_STATISTICS.contains(&field) {
            self.count += param.lazy_shape().num_elements();
        }
    }
}

/// The image side `fer models` counts multiply-accumulates at: the default training
/// and evaluation crop.
pub const MACS_SIDE: usize = 40;

/// One line per model: name, family, trainable parameter count, multiply-accumulates
/// per 40x40 image, description. Models are built on `Flex` with lazy parameters and
/// counted without arithmetic, so this takes about a second.
pub fn model_table() -> String {
    let device = Default::default();
    let mut table = format!(
        "{:<16}{:<16}{:>12}{:>10}  {}\n",
        "model", "family", "parameters", "MACs", "description"
    );
    for spec in SPECS {
        let count = build::<Flex>(spec.name, &device)
            .map(|model| with_thousands_separators(parameter_count(&model)))
            .unwrap_or_else(|error| error.to_string());
        let macs = macs_per_image(spec.name, MACS_SIDE)
            .map(human_count)
            .unwrap_or_else(|error| error.to_string());
        table.push_str(&format!(
            "{:<16}{:<16}{:>12}{:>10}  {}\n",
            spec.name, spec.family, count, macs, spec.description
        ));
    }
    table.push_str(&format!(
        "\nMACs: multiply-accumulates of one forward pass on a {MACS_SIDE}x{MACS_SIDE} crop (convolutions and the classifier).\n"
    ));
    table
}
