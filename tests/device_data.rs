//! What the GPU check (scripts/device-check.sh) relies on, checked on the CPU: the
//! compact data cache, the parity bench, the profile and `fer devices`.

mod common;

use std::path::Path;
use std::process::Output;

use common::process::{fer, stderr, stdout};

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", stderr(output));
    serde_json::from_str(stdout(output).trim()).expect("one JSON object")
}

/// `fer data` output without its timing line and its source line.
fn data_summary(args: &[&str]) -> String {
    let output = fer(args);
    assert!(output.status.success(), "{}", stderr(&output));
    stdout(&output)
        .lines()
        .filter(|line| {
            !line.starts_with("loaded in")
                && !line.starts_with("cache written")
                && !line.contains("ource")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn export(path: &Path) {
    let output = fer(&["data", "--export-cache", path.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("cache written"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn an_exported_cache_reads_back_as_the_same_data() {
    let dir = tempfile::tempdir().unwrap();
    let original = data_summary(&["data"]);
    for name in ["sample.cache", "sample.cache.gz"] {
        let cache = dir.path().join(name);
        export(&cache);
        assert_eq!(
            data_summary(&["data", cache.to_str().unwrap()]),
            original,
            "{name}"
        );
    }
    let plain = std::fs::metadata(dir.path().join("sample.cache"))
        .unwrap()
        .len();
    let sample = fer::data::bundled_sample().unwrap();
    let rows = sample.train.len() + sample.val.len() + sample.test.len();
    assert!(
        plain > (rows * 2305) as u64 && plain < (rows * 2305 + 4096) as u64,
        "one byte a pixel and a label: {plain}"
    );
}

#[test]
fn a_damaged_cache_is_a_one_line_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("sample.cache");
    export(&cache);
    let bytes = std::fs::read(&cache).unwrap();
    std::fs::write(&cache, &bytes[..bytes.len() - 100]).unwrap();
    let output = fer(&["data", cache.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("sample.cache") && message.contains("truncated"),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1, "{message}");
}

#[test]
fn training_reads_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("sample.cache");
    export(&cache);
    let runs = dir.path().join("runs");
    let output = fer(&[
        "train",
        "--data",
        cache.to_str().unwrap(),
        "--model",
        "resnet8",
        "--epochs",
        "1",
        "--batch-size",
        "64",
        "--tta",
        "none",
        "--headless",
        "--runs-dir",
        runs.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("cached in"),
        "the source says where the data came from: {}",
        stdout(&output)
    );
}

#[test]
fn parity_runs_are_deterministic_and_start_from_the_same_weights() {
    let args = [
        "bench",
        "--parity",
        "--no-augment",
        "--device",
        "cpu",
        "--model",
        "resnet8",
        "--batch",
        "8",
        "--steps",
        "3",
    ];
    let first = json(&fer(&args));
    let second = json(&fer(&args));
    assert_eq!(first["mode"], "parity");
    assert_eq!(first["augment"], false);
    let losses = first["losses"].as_array().unwrap();
    assert_eq!(losses.len(), 3);
    assert!(losses
        .iter()
        .all(|loss| loss.as_f64().unwrap().is_finite() && loss.as_f64().unwrap() > 0.0));
    assert_eq!(
        first["losses"], second["losses"],
        "the same steps give the same losses"
    );
    // Another seed means other initial weights, hence another first loss.
    let other = json(&fer(&[&args[..], &["--seed", "7"]].concat()));
    assert_ne!(other["losses"][0], first["losses"][0]);
}

#[test]
fn the_profile_times_each_phase_of_the_step() {
    let report = json(&fer(&[
        "bench",
        "--profile",
        "--device",
        "cpu",
        "--model",
        "resnet8",
        "--batch",
        "8",
        "--steps",
        "2",
        "--warmup",
        "1",
    ]));
    let phases = &report["phases_ms"];
    let names = [
        "gather_augment",
        "forward",
        "backward",
        "optimizer",
        "host_sync",
    ];
    let times: Vec<f64> = names
        .iter()
        .map(|name| phases[name].as_f64().unwrap_or(-1.0))
        .collect();
    assert!(times.iter().all(|&ms| ms >= 0.0), "{phases}");
    assert!(
        times[1] > 0.0 && times[2] > 0.0,
        "forward and backward take time: {phases}"
    );
    let total = phases["total"].as_f64().unwrap();
    assert!(
        (total - times.iter().sum::<f64>()).abs() < 1e-6 * total.max(1.0),
        "{phases}"
    );
    assert!(report["images_per_s"].as_f64().unwrap() > 0.0);

    // On the CPU the kernels clock themselves: convolutions and norms take time in
    // both passes, and the parts add up to no more than their phase.
    let layers = &phases["by_layer"];
    let part = |name: &str| layers[name].as_f64().unwrap_or(-1.0);
    for name in [
        "conv_forward",
        "norm_forward",
        "conv_input_gradient",
        "conv_weight_gradient",
        "norm_backward",
    ] {
        assert!(part(name) > 0.0, "{name}: {layers}");
    }
    let forward_parts = part("conv_forward") + part("norm_forward") + part("other_forward");
    assert!(
        forward_parts <= times[1] * (1.0 + 1e-9) + 1e-9,
        "{layers} vs {phases}"
    );
    let backward_parts = part("conv_input_gradient")
        + part("conv_weight_gradient")
        + part("norm_backward")
        + part("other_backward");
    assert!(
        backward_parts <= times[2] * (1.0 + 1e-9) + 1e-9,
        "{layers} vs {phases}"
    );
}

#[test]
fn devices_lists_the_cpu_and_says_what_cuda_is() {
    let output = fer(&["devices"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("cpu") && text.contains("threads"), "{text}");
    let report = json(&fer(&["devices", "--json"]));
    let backends = report["backends"].as_array().unwrap();
    assert_eq!(backends[0]["name"], "cpu");
    assert_eq!(backends[0]["devices"][0]["usable"], true);
    let cuda = &backends[1];
    assert_eq!(cuda["name"], "cuda");
    assert_eq!(cuda["compiled"], cfg!(feature = "cuda"));
    if !cfg!(feature = "cuda") {
        assert!(
            cuda["status"].as_str().unwrap().contains("--features cuda"),
            "{cuda}"
        );
        assert!(
            text.contains("not compiled in (build with --features cuda)"),
            "{text}"
        );
    }
    let wgpu = &backends[2];
    assert_eq!(wgpu["name"], "wgpu");
    assert_eq!(wgpu["compiled"], cfg!(feature = "wgpu"));
    if !cfg!(feature = "wgpu") {
        assert!(
            text.contains("not compiled in (build with --features wgpu)"),
            "{text}"
        );
    }
}

#[test]
fn a_device_fer_cannot_name_is_refused_before_any_work() {
    for command in [
        &["train", "--headless"][..],
        &["bench"],
        &["queue", "add", "resnet8"],
    ] {
        let output = fer(&[command, &["--device", "wgpu:x"]].concat());
        assert_eq!(
            output.status.code(),
            Some(2),
            "{command:?}: {}",
            stderr(&output)
        );
        assert!(stderr(&output).contains("wgpu:N"), "{}", stderr(&output));
    }
    if !cfg!(feature = "wgpu") {
        let output = fer(&["bench", "--device", "wgpu", "--steps", "1"]);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        let message = stderr(&output);
        assert!(message.contains("--features wgpu"), "{message}");
        assert_eq!(message.trim().lines().count(), 1, "{message}");
    }
}
