//! `fer study`: the shipped study files, and a tiny study run end to end.

mod common;

use std::path::Path;

use common::process::{fer, run_dirs, stderr, stdout, write_small_csv};
use fer::run::{QueueState, RunQueue, Study};
use fer::train::schedule::ScheduleName;
use fer::train::TrainConfig;

fn resolved(study: &Study) -> Vec<TrainConfig> {
    study
        .run_settings(&Default::default())
        .iter()
        .map(|settings| {
            let mut config = TrainConfig::default();
            config.apply_overrides(settings);
            config
        })
        .collect()
}

#[test]
fn the_shipped_studies_name_real_models_and_valid_schedules() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for file in ["experiments/seed-study.ron", "experiments/mini-study.ron"] {
        let study = Study::load(&root.join(file)).expect(file);
        for config in resolved(&study) {
            assert_eq!(
                fer::model::canonical_name(&config.model).ok(),
                Some(config.model.as_str()),
                "{file}"
            );
            config.schedule.validate().expect(file);
        }
    }
    let seed = Study::load(&root.join("experiments/seed-study.ron")).unwrap();
    let configs = resolved(&seed);
    let models: Vec<&str> = configs.iter().map(|c| c.model.as_str()).collect();
    for needed in ["resnet18", "resnet20", "resnet34", "vgg19", "densenet121"] {
        assert!(models.contains(&needed), "{models:?}");
    }
    assert!(
        configs.iter().any(|c| c.model == "resnet18"
            && c.augment.erasing_probability > 0.0
            && c.augment.brightness > 0.0),
        "heavy augmentation on the baseline"
    );
    for strong in configs
        .iter()
        .filter(|c| c.model == "vgg19" || c.model == "densenet121")
    {
        assert!(strong.loss.mixup_alpha > 0.0 && strong.loss.label_smoothing > 0.0);
        assert_eq!(strong.schedule.name, ScheduleName::Cosine);
    }
}

#[test]
fn a_study_queues_its_runs_once_trains_them_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_small_csv(dir.path(), 96, 32, 16);
    let file = dir.path().join("tiny.ron");
    std::fs::write(
        &file,
        format!(
            r#"Study(
                name: "tiny",
                base: (data: {data:?}, epochs: 1, batch_size: 32, tta: "none"),
                runs: [(model: "resnet8"), (model: "resnet8", lr: 0.02, mixup: 0.2)],
            )"#
        ),
    )
    .unwrap();
    let runs = dir.path().join("runs");
    let out = dir.path().join("report");
    let args = [
        "study",
        file.to_str().unwrap(),
        "--runs-dir",
        runs.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--headless",
    ];
    let first = fer(&args);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("2 runs queued"),
        "{}",
        stdout(&first)
    );

    let entries = RunQueue::in_dir(&runs).read().unwrap();
    assert_eq!(entries.of_study("tiny").count(), 2);
    assert!(entries
        .runs
        .iter()
        .all(|run| matches!(run.state, QueueState::Done { .. })));
    let report = std::fs::read_to_string(out.join("report.md")).expect("report.md");
    assert!(report.contains("resnet8"), "{report}");
    let trained = run_dirs(&runs).len();
    assert_eq!(trained, 2);

    std::fs::remove_file(out.join("report.md")).unwrap();
    let again = fer(&args);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("continuing"), "{}", stdout(&again));
    assert_eq!(run_dirs(&runs).len(), trained, "nothing trained twice");
    assert!(
        out.join("report.md").is_file(),
        "the report is written again"
    );
}
