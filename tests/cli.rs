//! The binary as a new user would drive it: exit codes, messages, run directories.

mod common;

use common::process::{fer, run_dirs, stderr, stdout, write_small_csv};
use fer::data::IMAGE_SIDE;

#[test]
fn asking_for_cuda_without_it_is_a_one_line_usage_error() {
    let output = fer(&["train", "--device", "cuda", "--epochs", "1"]);
    if cfg!(feature = "cuda") {
        return; // a CUDA build may find a GPU; this checks the CPU-only build
    }
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(
        message.contains("CUDA") && !message.contains("panicked"),
        "{message}"
    );
}

#[test]
fn bad_data_names_the_file_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let output = fer(&["train", "--data", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("nope.csv"), "{}", stderr(&output));

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "emotion,pixels,Usage\n3,1 2 3,Training\n").unwrap();
    let output = fer(&["data", bad.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("bad.csv:2") && message.contains("2304"),
        "{message}"
    );
    assert!(!message.contains("panicked"));

    let output = fer(&["train", "--model", "resnet9000"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("resnet18"),
        "lists the valid names: {}",
        stderr(&output)
    );
}

#[test]
fn an_augmentation_probability_outside_0_to_1_is_a_usage_error() {
    for (flag, value) in [
        ("--erasing", "1.5"),
        ("--jitter", "2"),
        ("--erasing", "half"),
    ] {
        let output = fer(&["train", flag, value, "--epochs", "1"]);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        let message = stderr(&output);
        assert!(
            message.contains(flag) && message.contains("from 0 to 1"),
            "{message}"
        );
    }
    // A configuration file skips the flags' parser; the engine refuses it instead.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.ron");
    std::fs::write(&config, "(augment: (erasing_probability: 1.5))\n").unwrap();
    let runs = dir.path().join("runs");
    let output = fer(&[
        "train",
        "--config",
        config.to_str().unwrap(),
        "--epochs",
        "1",
        "--headless",
        "--runs-dir",
        runs.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("from 0 to 1"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn data_and_models_print_summaries() {
    let output = fer(&["data"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("Disgust"));

    let output = fer(&["models"]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(
        text.contains("resnet18") && text.contains("11,171,271"),
        "{text}"
    );
    assert!(
        text.contains("densenet121") && text.contains("6,952,071"),
        "{text}"
    );
}

#[test]
fn train_eval_predict_and_resume_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_small_csv(dir.path(), 64, 32, 16);
    let runs = dir.path().join("runs");
    let base = [
        "--data",
        csv.to_str().unwrap(),
        "--model",
        "resnet8",
        "--batch-size",
        "32",
        "--tta",
        "none",
        "--runs-dir",
        runs.to_str().unwrap(),
        "--headless",
    ];
    let output = fer(&[&["train", "--epochs", "1"], &base[..]].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("epoch 1/1") && text.contains("val acc"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no ANSI codes without a terminal");
    assert!(
        text.contains("test (best epoch 1)"),
        "PrivateTest rows are the test split: {text}"
    );

    let mut dirs = run_dirs(&runs);
    assert_eq!(dirs.len(), 1, "one run directory in {}", runs.display());
    let run = dirs.remove(0);
    for file in [
        "config.ron",
        "events.jsonl",
        "metrics.csv",
        "summary.json",
        "checkpoints/last.ckpt",
        "checkpoints/best.ckpt",
    ] {
        assert!(run.join(file).is_file(), "{file} exists");
    }
    let run_arg = run.to_str().unwrap();

    let output = fer(&["eval", "--run", run_arg, "--split", "test"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("accuracy") && text.contains("Surprise") && text.contains("16 images"),
        "{text}"
    );
    // An ensemble of a run with itself predicts what the run does.
    let output = fer(&["eval", "--runs", run_arg, run_arg, "--split", "test"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let ensemble = stdout(&output);
    assert!(ensemble.contains("an ensemble of 2 runs"), "{ensemble}");
    assert!(
        ensemble.contains("(+0.00 points against the best member)"),
        "{ensemble}"
    );
    let output = fer(&["eval", "--runs", run_arg]);
    assert_eq!(output.status.code(), Some(2), "one run is no ensemble");

    let image = dir.path().join("face.png");
    image::GrayImage::from_pixel(IMAGE_SIDE as u32 * 2, IMAGE_SIDE as u32, image::Luma([128]))
        .save(&image)
        .unwrap();
    let output = fer(&[
        "predict",
        "--run",
        run_arg,
        image.to_str().unwrap(),
        "--no-detect",
        "--format",
        "table",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output).matches('%').count(),
        3,
        "top-3 of the whole image as a face: {}",
        stdout(&output)
    );

    let output = fer(&["train", "--resume", run_arg]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a finished run needs --epochs to go on"
    );
    assert!(stderr(&output).contains("--epochs"));
    let output = fer(&["train", "--resume", run_arg, "--epochs", "2", "--headless"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("epoch 2/2"));
    let metrics = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        3,
        "one row per epoch after resuming: {metrics}"
    );

    let output = fer(&[
        "train",
        "--config",
        run.join("config.ron").to_str().unwrap(),
        "--epochs",
        "1",
        "--runs-dir",
        runs.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "config.ron re-runs as is: {}",
        stderr(&output)
    );
}

#[test]
fn bench_prints_json_like_the_pytorch_reference() {
    let output = fer(&[
        "bench", "--model", "resnet8", "--batch", "8", "--steps", "1", "--warmup", "0", "--device",
        "cpu",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(report["mode"], "speed");
    assert_eq!(report["model"], "resnet8");
    assert!(report["images_per_s"].as_f64().unwrap() > 0.0);
}
