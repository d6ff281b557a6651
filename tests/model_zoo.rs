//! The zoo against the PyTorch reference (`shared/bench/pytorch_reference.py`):
//! parameter counts, output shapes, the name registry and a backward pass.

use burn::backend::{Autodiff, Flex};
use burn::module::{ModuleVisitor, Param};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Distribution, Tensor};
use fer::model::{self, build, model_names, parameter_count, Model};

/// Counts from the reference's `sum(p.numel() for p in model.parameters())`; the ones the
/// reference cannot build (bottleneck ResNets, VGG-11/13/16, the other DenseNets) were
/// computed with the same layout rules in Python.
const EXPECTED_PARAMETERS: [(&str, usize); 20] = [
    ("resnet8", 77_559),
    ("resnet18", 11_171_271),
    ("resnet20", 271_991),
    ("resnet32", 466_423),
    ("resnet34", 21_279_431),
    ("resnet44", 660_855),
    ("resnet50", 23_513_543),
    ("resnet56", 855_287),
    ("resnet101", 42_505_671),
    ("resnet110", 1_730_231),
    ("resnet152", 58_149_319),
    ("vgg11", 9_225_671),
    ("vgg13", 9_410_375),
    ("vgg16", 14_721_351),
    ("vgg19", 20_032_327),
    ("densenet121", 6_952_071),
    ("densenet161", 26_474_023),
    ("densenet169", 12_487_175),
    ("densenet201", 18_097_415),
    ("densenet-small", 102_025),
];

fn build_flex(name: &str) -> Model<Flex> {
    match build::<Flex>(name, &Default::default()) {
        Ok(model) => model,
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn parameter_counts_match_the_pytorch_reference() {
    let names: Vec<&str> = EXPECTED_PARAMETERS.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, model_names(), "every model has an expected count");
    for (name, expected) in EXPECTED_PARAMETERS {
        let count = parameter_count(&build_flex(name));
        assert_eq!(count, expected, "{name}");
    }
}

#[test]
fn running_statistics_are_not_counted_as_parameters() {
    use burn::module::Module;
    // burn's num_params also visits each norm's running mean and variance; resnet20
    // normalises 7 maps of each width (16, 32, 64), counting the stem and projections.
    let model = build_flex("resnet20");
    let normalised_channels = 7 * (16 + 32 + 64);
    assert_eq!(
        model.num_params(),
        parameter_count(&model) + 2 * normalised_channels
    );
}

fn assert_logits(name: &str, batch: usize, side: usize) {
    let device = Default::default();
    let model = build_flex(name);
    let images = Tensor::<Flex, 4>::random([batch, 1, side, side], Distribution::Default, &device);
    let logits = model.forward(images);
    assert_eq!(logits.dims(), [batch, model::NUM_CLASSES], "{name}");
    let values: Vec<f32> = logits.into_data().to_vec().unwrap_or_default();
    assert_eq!(values.len(), batch * model::NUM_CLASSES, "{name}");
    assert!(values.iter().all(|v| v.is_finite()), "{name}: {values:?}");
}

#[test]
fn small_models_map_a_batch_of_two_40px_images_to_logits() {
    for name in ["resnet8", "resnet20", "densenet-small"] {
        assert_logits(name, 2, 40);
    }
}

#[test]
fn deep_cifar_resnets_and_resnet18_map_40px_images_to_logits() {
    for name in ["resnet32", "resnet44", "resnet56", "resnet110", "resnet18"] {
        assert_logits(name, 2, 40);
    }
}

#[test]
fn vggs_map_40px_images_to_logits() {
    for name in ["vgg11", "vgg13", "vgg16", "vgg19"] {
        assert_logits(name, 2, 40);
    }
}

#[test]
fn vgg_skips_pools_once_the_map_is_one_pixel() {
    // 16 -> 8 -> 4 -> 2 -> 1, then the fifth pool would make the map empty.
    assert_logits("vgg11", 1, 16);
    assert_logits("densenet-small", 1, 3);
}

#[test]
fn large_resnets_map_single_images_to_logits() {
    for name in ["resnet34", "resnet50", "resnet101"] {
        assert_logits(name, 1, 40);
    }
    assert_logits("resnet152", 1, 32);
}

#[test]
fn densenets_map_single_images_to_logits() {
    for name in ["densenet121", "densenet169"] {
        assert_logits(name, 1, 40);
    }
    for name in ["densenet201", "densenet161"] {
        assert_logits(name, 1, 32);
    }
}

#[test]
fn unknown_name_is_an_error_listing_every_valid_name() {
    let error = match build::<Flex>("resnet19", &Default::default()) {
        Ok(_) => panic!("resnet19 is not a model"),
        Err(error) => error,
    };
    assert_eq!(error.name, "resnet19");
    let message = error.to_string();
    assert!(message.contains("resnet19"), "{message}");
    for name in model_names() {
        assert!(message.contains(name), "{name} missing from: {message}");
    }
}

#[test]
fn names_are_lowercase_described_and_matched_case_insensitively() {
    for name in model_names() {
        assert_eq!(*name, name.to_lowercase());
        assert!(
            model::describe(name).is_some_and(|text| !text.is_empty()),
            "{name}"
        );
    }
    assert!(model::describe("alexnet").is_none());
    assert!(build::<Flex>(" ResNet8 ", &Default::default()).is_ok());
}

#[test]
fn model_table_lists_every_model_with_grouped_counts() {
    let table = model::model_table();
    for (name, expected) in EXPECTED_PARAMETERS {
        let line = table
            .lines()
            .find(|line| line.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from:\n{table}"));
        let count = fer::run::format::with_thousands_separators(expected);
        assert!(line.contains(&count), "{line}");
        let macs = model::macs::macs_per_image(name, 40).expect("a zoo model");
        assert!(line.contains(&model::macs::human_count(macs)), "{line}");
    }
    // Deeper costs more: the table's MACs rise with depth within a family.
    let macs = |name| model::macs::macs_per_image(name, 40).expect("a zoo model");
    assert!(macs("resnet20") < macs("resnet56") && macs("resnet56") < macs("resnet110"));
    assert!(macs("resnet18") < macs("resnet34"));
}

type Train = Autodiff<Flex>;

/// Reads the gradient of the parameter at a dotted module path, e.g. `ResNet.stem.conv.weight`.
struct GradientAt<'a> {
    target: &'a str,
    grads: &'a <Train as AutodiffBackend>::Gradients,
    path: Vec<String>,
    /// (parameter shape, gradient values if any) once the target was visited.
    found: Option<(Vec<usize>, Option<Vec<f32>>)>,
}

impl ModuleVisitor<Train> for GradientAt<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<Train, D>>) {
        if self.path.join(".") == self.target {
            let value = param.val();
            let grad = value.grad(self.grads);
            let values = grad.map(|grad| grad.into_data().to_vec().unwrap_or_default());
            self.found = Some((value.dims().to_vec(), values));
        }
    }
}

#[test]
fn backward_through_resnet8_reaches_the_stem_convolution() {
    use burn::module::Module;
    let device = Default::default();
    let model = match build::<Train>("resnet8", &device) {
        Ok(model) => model,
        Err(error) => panic!("{error}"),
    };
    let images = Tensor::<Train, 4>::random([2, 1, 40, 40], Distribution::Default, &device);
    let loss = model.forward(images).powi_scalar(2).mean();
    let grads = loss.backward();

    let mut reader = GradientAt {
        target: "ResNet.stem.conv.weight",
        grads: &grads,
        path: Vec::new(),
        found: None,
    };
    model.visit(&mut reader);
    let (shape, grad) = reader.found.expect("resnet8 has a stem conv weight");
    assert_eq!(shape, [16, 1, 3, 3]);
    let grad = grad.expect("stem conv weight has a gradient");
    assert_eq!(grad.len(), 16 * 9);
    assert!(grad.iter().all(|g| g.is_finite()));
    assert!(grad.iter().any(|g| *g != 0.0), "gradient is all zeros");
}
