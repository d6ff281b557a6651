//! burn's CubeCL code path, the one every GPU user gets, on a Vulkan adapter (Mesa's
//! lavapipe in CI) against the CPU kernels: training steps, gradients,
//! augmentation, the device-resident split, evaluation with TenCrop, and whole runs
//! whose checkpoints move between the two devices.
//!
//! `cargo test --release --features wgpu --test wgpu`. Without a Vulkan adapter each
//! test says so and passes, except under `CI=true`, where that fails the run.
//!
//! Tolerances: per-step losses within 1% relative (the parity bar);
//! gradients within 1e-4 relative L2 per parameter tensor (7e-6 measured on
//! lavapipe), single convolutions within 1e-5; augmented pixels within
//! 1e-3 except where bilinear sampling lands on a pixel edge (at most 0.1% of them);
//! evaluation losses within 1e-3 relative and at most one image's prediction changed.

#![cfg(feature = "wgpu")]

mod common;

use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use burn::backend::wgpu::WgpuDevice;
use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor};

use common::numeric::values;
use common::process::{fer, stderr, stdout, text, write_small_csv, Fer};
use fer::data::Split;
use fer::device::{self, Device, DeviceRequest};
use fer::train::augment::{AugmentDraws, Augmenter};
use fer::train::device_split::DeviceSplit;
use fer::train::random::step_rng;
use fer::train::step::{Inner, Trainer};
use fer::train::{TrainConfig, Tta};

type Cpu = Autodiff<Flex>;
type Gpu = Autodiff<device::wgpu::Backend>;

/// The wgpu adapter these tests run on, or `None` (said on stderr) without one.
fn gpu() -> Option<WgpuDevice> {
    static QUIET: Once = Once::new();
    QUIET.call_once(device::prepare_environment);
    match device::resolve(DeviceRequest::Wgpu(None)) {
        Ok(Device::Wgpu(index)) => {
            eprintln!("on {}", Device::Wgpu(index));
            Some(device::wgpu::burn_device(index))
        }
        Ok(other) => panic!("wgpu resolved to {other}"),
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "CI=true, and the wgpu tests need a Vulkan adapter \
             (apt-get install mesa-vulkan-drivers libvulkan1): {error}"
        ),
        Err(error) => {
            eprintln!("skipped: no usable Vulkan adapter: {error}");
            None
        }
    }
}

fn rows(count: usize) -> Split {
    let sample = fer::data::bundled_sample().expect("the bundled sample loads");
    let mut split = Split::default();
    for index in 0..count {
        split.push(
            sample.train.image(index),
            sample.train.labels[index % sample.train.len()],
        );
    }
    split
}

fn config(augment: bool) -> TrainConfig {
    let mut config = TrainConfig {
        model: "resnet8".into(),
        batch_size: 16,
        eval_batch_size: 32,
        ..TrainConfig::default()
    };
    config.augment.enabled = augment;
    config
}

/// The same weights on both devices: made on the CPU from the seed, then loaded
/// into both (burn initialises parameters lazily, so a model's own first values
/// depend on when they are first read; loaded bytes do not).
fn trainers(config: &TrainConfig, split: &Split, gpu: &WgpuDevice) -> (Trainer<Cpu>, Trainer<Gpu>) {
    let counts = split.class_counts();
    let cpu = Default::default();
    Flex::seed(&cpu, config.seed);
    let model = fer::model::build::<Flex>(&config.model, &cpu).expect("a model of the zoo");
    let weights = fer::train::model_bytes(&model).expect("weights");
    let mut cpu_trainer = Trainer::<Cpu>::new(config, &counts, &cpu).expect("cpu");
    cpu_trainer
        .load_model_bytes(weights.clone())
        .expect("load on the cpu");
    let mut gpu_trainer = Trainer::<Gpu>::new(config, &counts, gpu).expect("gpu");
    gpu_trainer
        .load_model_bytes(weights)
        .expect("load on the gpu");
    (cpu_trainer, gpu_trainer)
}

/// Each step's mean loss, from the same batches and draws.
fn losses<B: AutodiffBackend>(
    trainer: &mut Trainer<B>,
    split: &Split,
    steps: usize,
    config: &TrainConfig,
) -> Vec<f64> {
    let data = DeviceSplit::<Inner<B>>::upload(split, trainer.device());
    let batch = config.batch_size;
    (0..steps)
        .map(|step| {
            let indices: Vec<usize> = (step * batch..(step + 1) * batch)
                .map(|row| row % data.len())
                .collect();
            let mut rng = step_rng(config.seed, 1, step);
            let output = trainer.step(&data, &indices, 0.05, &mut rng);
            output.loss_sum.into_scalar().elem::<f64>() / batch as f64
        })
        .collect()
}

fn assert_losses_agree(cpu: &[f64], gpu: &[f64]) {
    println!("cpu losses {cpu:?}\ngpu losses {gpu:?}");
    for (step, (c, g)) in cpu.iter().zip(gpu).enumerate() {
        let relative = (c - g).abs() / c.abs();
        assert!(
            relative < 0.01,
            "step {step}: cpu {c} vs wgpu {g} ({:.3}%)",
            100.0 * relative
        );
    }
}

/// `steps` training steps from the same weights and batches on both devices.
fn steps_agree(augment: bool, steps: usize) {
    let Some(gpu) = gpu() else { return };
    let config = config(augment);
    let split = rows(64);
    let (mut cpu_trainer, mut gpu_trainer) = trainers(&config, &split, &gpu);
    let cpu_losses = losses(&mut cpu_trainer, &split, steps, &config);
    let gpu_losses = losses(&mut gpu_trainer, &split, steps, &config);
    assert_losses_agree(&cpu_losses, &gpu_losses);
}

#[test]
fn training_steps_agree_with_the_cpu() {
    steps_agree(false, 5);
}

#[test]
fn with_augmentation_the_steps_agree_too() {
    steps_agree(true, 3);
}

/// `|actual - expected| / |expected|`, in the L2 norm.
fn relative_l2(actual: &[f32], expected: &[f32]) -> f64 {
    let norm = |values: &mut dyn Iterator<Item = f32>| {
        values.map(|v| f64::from(v).powi(2)).sum::<f64>().sqrt()
    };
    let error = norm(&mut actual.iter().zip(expected).map(|(a, e)| a - e));
    error / norm(&mut expected.iter().copied()).max(1e-12)
}

/// Every float parameter's gradient, flattened, in visiting order.
struct Gradients<'a, B: AutodiffBackend> {
    grads: &'a B::Gradients,
    found: Vec<(String, Vec<f32>)>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Gradients<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(grad) = param.val().grad(self.grads) {
            let name = format!("parameter {} {:?}", self.found.len(), grad.dims());
            self.found.push((name, values(grad)));
        }
    }
}

fn first_step_gradients<B: AutodiffBackend>(
    trainer: &Trainer<B>,
    split: &Split,
    config: &TrainConfig,
) -> Vec<(String, Vec<f32>)> {
    let data = DeviceSplit::<Inner<B>>::upload(split, trainer.device());
    let indices: Vec<usize> = (0..config.batch_size).collect();
    let prepared = trainer.prepare(&data, &indices, &mut step_rng(config.seed, 1, 0));
    let grads = trainer.forward(prepared).loss.backward();
    let mut visitor = Gradients::<B> {
        grads: &grads,
        found: Vec::new(),
    };
    trainer.model().visit(&mut visitor);
    visitor.found
}

#[test]
fn gradients_agree_with_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let config = config(false);
    let split = rows(32);
    let (cpu_trainer, gpu_trainer) = trainers(&config, &split, &gpu);
    let cpu_grads = first_step_gradients(&cpu_trainer, &split, &config);
    let gpu_grads = first_step_gradients(&gpu_trainer, &split, &config);
    assert_eq!(
        cpu_grads.len(),
        gpu_grads.len(),
        "the same parameters have gradients"
    );
    assert!(
        cpu_grads.len() > 10,
        "resnet8 has more than 10 parameter tensors"
    );
    let mut worst = 0.0f64;
    for ((name, cpu), (_, gpu)) in cpu_grads.iter().zip(&gpu_grads) {
        let relative = relative_l2(gpu, cpu);
        worst = worst.max(relative);
        assert!(
            relative < 1e-4,
            "{name}: relative L2 difference {relative:.2e}"
        );
    }
    println!("gradients: worst relative L2 difference {worst:.2e}");
}

#[test]
fn the_device_split_gathers_what_the_host_holds() {
    let Some(gpu) = gpu() else { return };
    let split = rows(10);
    let order = [7, 0, 9, 7, 3];
    let on_gpu = DeviceSplit::<Inner<Gpu>>::upload(&split, &gpu).gather(&order);
    let on_cpu = DeviceSplit::<Flex>::upload(&split, &Default::default()).gather(&order);
    let gpu_labels: Vec<i64> = on_gpu.labels.into_data().iter::<i64>().collect();
    assert_eq!(
        gpu_labels,
        order
            .iter()
            .map(|&i| i64::from(split.labels[i]))
            .collect::<Vec<_>>()
    );
    let (gpu_pixels, cpu_pixels) = (values(on_gpu.images), values(on_cpu.images));
    let worst = gpu_pixels
        .iter()
        .zip(&cpu_pixels)
        .map(|(g, c)| (g - c).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 1e-6, "pixels differ by up to {worst}");
}

#[test]
fn on_device_augmentation_matches_the_cpu_for_the_same_draws() {
    let Some(gpu) = gpu() else { return };
    let config = config(true);
    let split = rows(64);
    let indices: Vec<usize> = (0..64).collect();
    let draws = AugmentDraws::draw(&config.augment, indices.len(), &mut step_rng(3, 2, 1));
    let cpu_images = Augmenter::<Flex>::new(config.augment.clone(), &Default::default()).augment(
        DeviceSplit::<Flex>::upload(&split, &Default::default())
            .gather(&indices)
            .images,
        &draws,
    );
    let gpu_images = Augmenter::<Inner<Gpu>>::new(config.augment.clone(), &gpu).augment(
        DeviceSplit::<Inner<Gpu>>::upload(&split, &gpu)
            .gather(&indices)
            .images,
        &draws,
    );
    assert_eq!(cpu_images.dims(), gpu_images.dims());
    let (cpu, gpu) = (values(cpu_images), values(gpu_images));
    let far = cpu
        .iter()
        .zip(&gpu)
        .filter(|(c, g)| (*c - *g).abs() > 1e-3)
        .count();
    let mean = |v: &[f32]| v.iter().map(|&x| f64::from(x)).sum::<f64>() / v.len() as f64;
    println!("{far} of {} pixels differ by more than 1e-3", cpu.len());
    assert!(
        far * 1000 <= cpu.len(),
        "{far} of {} pixels differ by more than 1e-3",
        cpu.len()
    );
    assert!(
        (mean(&cpu) - mean(&gpu)).abs() < 1e-4,
        "mean pixel {} vs {}",
        mean(&cpu),
        mean(&gpu)
    );
}

#[test]
fn tencrop_evaluation_and_per_class_counts_match_the_cpu() {
    let Some(gpu) = gpu() else { return };
    let mut config = config(false);
    // `Trainer::evaluate` is the validation after each epoch: it averages `val_tta`'s views.
    config.val_tta = Tta::TenCrop;
    let train = rows(64);
    let (mut cpu_trainer, mut gpu_trainer) = trainers(&config, &train, &gpu);
    // A few steps first, so the predictions are not all one class.
    losses(&mut cpu_trainer, &train, 4, &config);
    gpu_trainer
        .load_model_bytes(cpu_trainer.model_bytes().expect("weights"))
        .expect("load on the gpu");
    let val = fer::data::bundled_sample().expect("sample").val;
    let (on_cpu, on_gpu) = (cpu_trainer.evaluate(&val), gpu_trainer.evaluate(&val));
    let relative = (on_cpu.loss - on_gpu.loss).abs() / on_cpu.loss;
    assert!(
        relative < 1e-3,
        "loss cpu {} vs wgpu {}",
        on_cpu.loss,
        on_gpu.loss
    );
    let changed = on_cpu
        .probabilities
        .iter()
        .zip(&on_gpu.probabilities)
        .filter(|(c, g)| {
            fer::train::evaluate::argmax(&c[..]) != fer::train::evaluate::argmax(&g[..])
        })
        .count();
    assert!(changed <= 1, "{changed} predictions differ");
    if changed == 0 {
        assert_eq!(on_cpu.confusion, on_gpu.confusion);
    }
    let worst = on_cpu
        .probabilities
        .iter()
        .flatten()
        .zip(on_gpu.probabilities.iter().flatten())
        .map(|(c, g)| (c - g).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "probabilities differ by up to {worst}");
}

/// `fer eval`'s "accuracy A%  loss L" line, as numbers.
fn eval_numbers(run: &Path, device: &str) -> (f64, f64) {
    let output = fer(&[
        "eval",
        "--run",
        run.to_str().unwrap(),
        "--tta",
        "tencrop",
        "--device",
        device,
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let out = stdout(&output);
    let line = out
        .lines()
        .find(|line| line.contains("accuracy"))
        .expect("an accuracy line");
    let number_after = |label: &str| -> f64 {
        let rest = &line[line.find(label).expect(label) + label.len()..];
        rest.trim_start()
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no number after {label} in {line}"))
    };
    (number_after("accuracy"), number_after("loss"))
}

fn train(args: &[&str]) -> String {
    let mut run = Fer::spawn(args);
    let status = run.wait_exit(Duration::from_secs(900));
    let output = run.output();
    assert!(status.success(), "{args:?}:\n{output}");
    output
}

/// Trains on wgpu, resumes on the CPU and then on wgpu, evaluates with TenCrop on both
/// and predicts on wgpu.
#[test]
fn a_whole_run_on_wgpu_moves_between_devices() {
    if gpu().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = write_small_csv(dir.path(), 64, 32, 32);
    let runs = dir.path().join("runs");
    let (data, runs_dir) = (data.to_str().unwrap(), runs.to_str().unwrap());
    let common = [
        "--data",
        data,
        "--model",
        "resnet8",
        "--batch-size",
        "32",
        "--tta",
        "tencrop",
        "--runs-dir",
        runs_dir,
        "--headless",
    ];
    let output = train(&[&["train", "--epochs", "1", "--device", "wgpu"], &common[..]].concat());
    assert!(output.contains("wgpu:"), "the device is named:\n{output}");
    let run = common::process::run_dirs(&runs)
        .pop()
        .expect("a run directory");
    assert!(run.join("checkpoints/last.ckpt").exists());
    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    assert!(
        events.contains("\"device\":\"wgpu:"),
        "the run records its adapter:\n{events}"
    );

    // Resumed on the CPU for epoch 2, then on wgpu again for epoch 3.
    let run_path = run.to_str().unwrap();
    for (epochs, device) in [("2", "cpu"), ("3", "wgpu")] {
        let resume = ["train", "--resume", run_path, "--epochs", epochs];
        train(&[&resume[..], &["--device", device, "--headless"]].concat());
    }
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        4,
        "a header and three epochs:\n{metrics}"
    );

    let (cpu_accuracy, cpu_loss) = eval_numbers(&run, "cpu");
    let (gpu_accuracy, gpu_loss) = eval_numbers(&run, "wgpu");
    let one_image = 100.0 / 32.0;
    assert!(
        (cpu_accuracy - gpu_accuracy).abs() <= one_image + 1e-9,
        "{cpu_accuracy} vs {gpu_accuracy}"
    );
    assert!(
        (cpu_loss - gpu_loss).abs() <= 1e-3 * cpu_loss + 1e-4,
        "{cpu_loss} vs {gpu_loss}"
    );

    // `fer predict` on the CSV's rows: the same probabilities on both devices.
    let probabilities = |device: &str| -> Vec<f64> {
        let args = [
            "predict", "--run", run_path, "--device", device, "--format", "json",
        ];
        let predicted = fer(&[&args[..], &[data]].concat());
        assert!(predicted.status.success(), "{}", text(&predicted));
        assert_no_loader_noise(&predicted);
        let records: serde_json::Value = serde_json::from_str(&stdout(&predicted)).unwrap();
        records[0]["faces"]
            .as_array()
            .expect("one record per row")
            .iter()
            .flat_map(|face| {
                face["probabilities"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|p| p.as_f64())
            .collect()
    };
    let (cpu, gpu) = (probabilities("cpu"), probabilities("wgpu"));
    assert_eq!(cpu.len(), gpu.len());
    assert!(!cpu.is_empty(), "the CSV's rows were predicted");
    let worst = cpu
        .iter()
        .zip(&gpu)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-3, "the largest difference is {worst}");
}

/// Mesa's device-select layer stays quiet on a server without XDG_RUNTIME_DIR.
fn assert_no_loader_noise(output: &std::process::Output) {
    let errors = stderr(output);
    assert!(!errors.contains("XDG_RUNTIME_DIR"), "{errors}");
}

/// `fer devices` names each adapter, its kind, and whether it answered.
#[test]
fn fer_devices_lists_the_vulkan_adapters() {
    if gpu().is_none() {
        return;
    }
    let output = fer(&["devices", "--json"]);
    assert!(output.status.success(), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("json");
    let wgpu = report["backends"]
        .as_array()
        .and_then(|backends| backends.iter().find(|b| b["name"] == "wgpu"))
        .expect("a wgpu backend");
    assert_eq!(wgpu["compiled"], true);
    let adapters = wgpu["devices"].as_array().expect("devices");
    assert!(!adapters.is_empty());
    assert_eq!(adapters[0]["id"], "wgpu:0");
    assert!(adapters.iter().any(|a| a["usable"] == true), "{adapters:?}");
    assert!(adapters
        .iter()
        .all(|a| a["kind"].is_string() && a["name"].is_string()));
    assert_no_loader_noise(&output);
}

/// Every kind of convolution in the zoo, as the models run it, on both backends from
/// the same host data: output, input and weight gradients within 1e-5 relative L2.
/// The CPU side is burn's own `Conv2d` on burn-flex (which tests/conv_equivalence.rs
/// holds fer's kernels to); the strided 1×1 cases catch burn-cubecl's zero input
/// gradient (see `model::conv`).
#[test]
fn convolution_gradients_agree_with_the_cpu() {
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::PaddingConfig2d;
    use burn::tensor::TensorData;
    let Some(gpu) = gpu() else { return };
    let cases: [([usize; 4], usize, usize, usize, usize); 11] = [
        ([4, 16, 9, 9], 32, 1, 2, 0),
        ([4, 64, 10, 10], 128, 1, 2, 0),
        ([4, 16, 21, 21], 32, 3, 2, 1),
        ([2, 1, 48, 48], 8, 7, 2, 3),
        ([4, 16, 20, 20], 32, 1, 1, 0),
        ([4, 16, 20, 20], 32, 2, 2, 0),
        ([4, 16, 20, 20], 16, 3, 1, 1),
        ([4, 16, 20, 20], 32, 3, 2, 1),
        ([4, 32, 20, 20], 64, 3, 2, 1),
        ([4, 16, 20, 20], 32, 1, 2, 0),
        ([3, 1, 40, 40], 16, 3, 1, 1),
    ];
    fn run<B: AutodiffBackend>(
        (shape, out, kernel, stride, pad): ([usize; 4], usize, usize, usize, usize),
        device: &B::Device,
        as_models_do: bool,
    ) -> [Vec<f32>; 3] {
        let mut conv = Conv2dConfig::new([shape[1], out], [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
            .with_bias(false)
            .init::<B>(device);
        let count = |dims: &[usize]| dims.iter().product::<usize>();
        let filler = |n: usize, k: usize| -> Vec<f32> {
            (0..n).map(|i| ((i * k % 97) as f32 / 97.0) - 0.5).collect()
        };
        let weight_dims = conv.weight.dims();
        let weight = Tensor::<B, 4>::from_data(
            TensorData::new(filler(count(&weight_dims), 31), weight_dims),
            device,
        );
        conv.weight = Param::from_tensor(weight);
        let x =
            Tensor::<B, 4>::from_data(TensorData::new(filler(count(&shape), 13), shape), device)
                .require_grad();
        let y = if as_models_do {
            fer::model::conv::forward(&conv, x.clone())
        } else {
            conv.forward(x.clone())
        };
        let mask_dims = y.dims();
        let mask = Tensor::<B, 4>::from_data(
            TensorData::new(filler(count(&mask_dims), 7), mask_dims),
            device,
        );
        let grads = (y.clone() * mask).sum().backward();
        [
            values(y.inner()),
            values(x.grad(&grads).expect("input gradient")),
            values(conv.weight.val().grad(&grads).expect("weight gradient")),
        ]
    }
    for case in cases {
        let on_cpu = run::<Cpu>(case, &Default::default(), false);
        let on_gpu = run::<Gpu>(case, &gpu, true);
        for (what, (c, g)) in ["output", "input gradient", "weight gradient"]
            .iter()
            .zip(on_cpu.iter().zip(&on_gpu))
        {
            let relative = relative_l2(g, c);
            assert!(
                relative < 1e-5,
                "{case:?} {what}: relative L2 difference {relative:.2e}"
            );
        }
    }
}

/// `--device auto` never takes a software adapter: without a hardware one it trains
/// on the CPU.
#[test]
fn auto_passes_over_a_software_adapter() {
    if gpu().is_none() {
        return;
    }
    let hardware = fer::device::wgpu::adapters()
        .iter()
        .any(|adapter| adapter.kind.is_hardware());
    let args = [
        "bench", "--device", "auto", "--model", "resnet8", "--batch", "8",
    ];
    let output = fer(&[&args[..], &["--steps", "1", "--warmup", "0"]].concat());
    assert!(output.status.success(), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_str(stdout(&output).trim()).expect("json");
    let device = report["device"].as_str().unwrap_or_default();
    if hardware {
        assert!(
            device.starts_with("wgpu:") || device.starts_with("cuda"),
            "{device}"
        );
    } else {
        assert!(device.starts_with("cpu"), "{device}");
    }
}
