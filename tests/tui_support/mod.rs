//! A realistic run, as the events an engine would emit, shared by the TUI tests.
#![allow(dead_code)]

use fer::metrics::ConfusionMatrix;
use fer::run::schedule::{ScheduleConfig, ScheduleName};
use fer::run::{CheckpointKind, EpochMetrics, Event};
use fer::tui::{App, Theme};

/// FER2013 PublicTest images per class.
pub const VAL_CLASS_COUNTS: [usize; 7] = [467, 56, 496, 895, 653, 415, 607];
pub const EPOCHS: usize = 10;
pub const STEPS_PER_EPOCH: usize = 224;
/// Training seconds per step, and validation seconds per epoch.
pub const STEP_SECONDS: f64 = 0.4;
pub const VALIDATION_SECONDS: f64 = 10.4;
pub const EPOCH_SECONDS: f64 = STEPS_PER_EPOCH as f64 * STEP_SECONDS + VALIDATION_SECONDS;

/// Validation recall per class for epochs 1, 2, 3.
pub const RECALLS: [[f64; 7]; 3] = [
    [0.30, 0.00, 0.20, 0.70, 0.35, 0.55, 0.45],
    [0.40, 0.05, 0.28, 0.78, 0.42, 0.65, 0.50],
    [0.45, 0.12, 0.33, 0.82, 0.47, 0.70, 0.55],
];

/// Where the errors of any class tend to go (Neutral, Sad and Fear attract most).
const ERROR_WEIGHTS: [f64; 7] = [2.0, 0.2, 2.0, 1.0, 2.5, 0.6, 3.0];

pub fn run_started() -> Event {
    Event::RunStarted {
        run_id: "20261128-142501-resnet18".into(),
        run_dir: "runs/20261128-142501-resnet18".into(),
        model: "resnet18".into(),
        parameters: 11_171_271,
        device: "cpu (flex)".into(),
        data_source: "data/fer2013.csv".into(),
        train_images: 28_709,
        val_images: 3_589,
        test_images: 3_589,
        val_class_counts: VAL_CLASS_COUNTS.to_vec(),
        epochs: EPOCHS,
        steps_per_epoch: STEPS_PER_EPOCH,
        batch_size: 128,
        start_epoch: 1,
        schedule: ScheduleName::Cosine,
        notes: vec!["augmentation: flip, crop 44, rotate 10".into()],
    }
}

/// A confusion matrix with the given per-class recall over the validation counts.
pub fn confusion(recalls: &[f64; 7]) -> ConfusionMatrix {
    let mut matrix = ConfusionMatrix::new(7);
    for (truth, (&count, &recall)) in VAL_CLASS_COUNTS.iter().zip(recalls).enumerate() {
        let correct = (count as f64 * recall).round() as usize;
        let errors = count - correct;
        let weight_sum: f64 = (0..7)
            .filter(|&p| p != truth)
            .map(|p| ERROR_WEIGHTS[p])
            .sum();
        let mut given = 0;
        for predicted in (0..7).filter(|&p| p != truth) {
            let share = (errors as f64 * ERROR_WEIGHTS[predicted] / weight_sum).floor() as usize;
            record(&mut matrix, truth, predicted, share);
            given += share;
        }
        let biggest = if truth == 6 { 4 } else { 6 };
        record(&mut matrix, truth, biggest, errors - given);
        record(&mut matrix, truth, truth, correct);
    }
    matrix
}

fn record(matrix: &mut ConfusionMatrix, truth: usize, predicted: usize, times: usize) {
    for _ in 0..times {
        matrix
            .record(truth, predicted)
            .expect("classes are in range");
    }
}

pub fn progress(epoch: usize, step: usize, loss: f64, lr: f64) -> Event {
    Event::Progress {
        epoch,
        step,
        steps_per_epoch: STEPS_PER_EPOCH,
        loss,
        lr,
        images_per_second: 128.0 / STEP_SECONDS,
        elapsed_seconds: (epoch - 1) as f64 * EPOCH_SECONDS + step as f64 * STEP_SECONDS,
    }
}

pub fn cosine_lr(global_step: usize) -> f64 {
    let total = (EPOCHS * STEPS_PER_EPOCH) as f64;
    0.0001
        + (0.1 - 0.0001) * (1.0 + (std::f64::consts::PI * global_step as f64 / total).cos()) / 2.0
}

pub fn epoch_finished(epoch: usize) -> Event {
    let matrix = confusion(&RECALLS[epoch - 1]);
    let train_loss = 1.75 - 0.25 * epoch as f64;
    Event::EpochFinished(EpochMetrics {
        epoch,
        lr: cosine_lr(epoch * STEPS_PER_EPOCH),
        train_loss,
        train_accuracy: 0.30 + 0.09 * epoch as f64,
        val_loss: train_loss + 0.08,
        val_accuracy: matrix.accuracy(),
        val_macro_f1: matrix.macro_f1(),
        val_recall: (0..7).map(|class| matrix.recall(class)).collect(),
        val_confusion: matrix,
        seconds: EPOCH_SECONDS,
        images_per_second: 128.0 / STEP_SECONDS,
    })
}

pub fn checkpoint(kind: CheckpointKind, epoch: usize) -> Event {
    let name = match kind {
        CheckpointKind::Last => "last",
        CheckpointKind::Best => "best",
    };
    Event::CheckpointSaved {
        kind,
        path: format!("runs/20261128-142501-resnet18/checkpoints/{name}.ckpt"),
        bytes: 134_234_112,
        epoch,
        step: 0,
    }
}

pub fn schedule_plan() -> Event {
    let total = EPOCHS * STEPS_PER_EPOCH;
    Event::SchedulePlan {
        name: ScheduleName::Cosine,
        current_lr: cosine_lr(0),
        plan: (0..=40)
            .map(|i| i * total / 40)
            .map(|step| (step, cosine_lr(step)))
            .collect(),
        epochs: EPOCHS,
        settings: Some(ScheduleConfig {
            name: ScheduleName::Cosine,
            ..ScheduleConfig::default()
        }),
    }
}

/// Three finished epochs and a fourth under way (step 100 of 224).
pub fn run_events() -> Vec<Event> {
    let mut events = vec![run_started(), schedule_plan()];
    for epoch in 1..=3 {
        for step in [56, 112, 168, 224] {
            let global = (epoch - 1) * STEPS_PER_EPOCH + step;
            let loss = 1.95 - 0.25 * epoch as f64 - 0.1 * step as f64 / STEPS_PER_EPOCH as f64;
            events.push(progress(epoch, step, loss, cosine_lr(global)));
        }
        events.push(Event::ValidationStarted { epoch });
        events.push(epoch_finished(epoch));
        events.push(Event::NewBest {
            epoch,
            val_accuracy: confusion(&RECALLS[epoch - 1]).accuracy(),
        });
        events.push(checkpoint(CheckpointKind::Best, epoch));
        events.push(checkpoint(CheckpointKind::Last, epoch));
        if epoch == 2 {
            events.push(Event::Warning {
                message: "disk nearly full: 512 MiB left under runs/".into(),
            });
        }
    }
    for step in [50, 100] {
        events.push(progress(
            4,
            step,
            1.02,
            cosine_lr(3 * STEPS_PER_EPOCH + step),
        ));
    }
    events
}

/// An app that has seen `run_events`, with a fixed model list and one queued model.
pub fn fixture_app(theme: Theme) -> App {
    let mut app = App::new(theme).with_model_names(model_names());
    for event in run_events() {
        app.state.apply(&event);
    }
    app.state.queue.push("densenet-small".into());
    app
}

pub fn model_names() -> Vec<String> {
    [
        "resnet18",
        "resnet34",
        "cifar-resnet20",
        "vgg13",
        "densenet121",
        "densenet-small",
    ]
    .map(String::from)
    .to_vec()
}
