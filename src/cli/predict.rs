//! `fer predict`: the top-3 emotions of images or CSV rows, from a run's best checkpoint.

use std::path::Path;

use anyhow::Result;

use super::args::PredictArgs;
use fer::data::{self, Split, EMOTIONS, NUM_CLASSES};
use fer::device::{self, BackendTask};
use fer::run::{CheckpointKind, RunDir};
use fer::train::checkpoint::CheckpointFile;
use fer::train::evaluate::evaluate_checkpoint;
use fer::train::TrainError;

pub fn run(args: PredictArgs) -> Result<()> {
    let run = RunDir::open(&args.run)?;
    let checkpoint = CheckpointFile::load(&run.checkpoint_path(CheckpointKind::Best))?;
    let mut names = Vec::new();
    let mut split = Split::default();
    for input in &args.inputs {
        if is_table(input) {
            add_csv_rows(input, &mut split, &mut names)?;
        } else {
            split.push(&data::load_image(input)?, 0);
            names.push(input.display().to_string());
        }
    }
    let device = device::resolve(args.device.parse()?)?;
    let task = PredictTask { checkpoint, split };
    for (name, probabilities) in names.iter().zip(device::dispatch(device, task)?) {
        println!("{name}: {}", top_three(&probabilities));
    }
    Ok(())
}

fn is_table(path: &Path) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    name.ends_with(".csv") || name.ends_with(".csv.gz")
}

fn add_csv_rows(path: &Path, split: &mut Split, names: &mut Vec<String>) -> Result<()> {
    let options = data::LoadOptions {
        val_fraction: 0.0,
        ..Default::default()
    };
    let dataset = data::load(path, &options)?;
    for (split_name, rows) in [
        ("train", &dataset.train),
        ("val", &dataset.val),
        ("test", &dataset.test),
    ] {
        for index in 0..rows.len() {
            split.push(rows.image(index), rows.labels[index]);
            names.push(format!(
                "{}[{split_name} {index}] (label {})",
                path.display(),
                EMOTIONS[rows.labels[index] as usize]
            ));
        }
    }
    Ok(())
}

/// `Happy 81.2%, Neutral 9.0%, Sad 4.1%`.
pub fn top_three(probabilities: &[f32; NUM_CLASSES]) -> String {
    let mut ranked: Vec<usize> = (0..NUM_CLASSES).collect();
    ranked.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    ranked[..3]
        .iter()
        .map(|&class| format!("{} {:.1}%", EMOTIONS[class], 100.0 * probabilities[class]))
        .collect::<Vec<_>>()
        .join(", ")
}

struct PredictTask {
    checkpoint: CheckpointFile,
    split: Split,
}

impl BackendTask for PredictTask {
    type Output = Result<Vec<[f32; NUM_CLASSES]>, TrainError>;

    fn run<B: burn::tensor::backend::AutodiffBackend>(
        self,
        device: B::Device,
        _name: String,
    ) -> Self::Output {
        let config = &self.checkpoint.state.config;
        let evaluation = evaluate_checkpoint::<B::InnerBackend>(
            config,
            self.checkpoint.model,
            &self.split,
            &device,
        )?;
        Ok(evaluation.probabilities)
    }
}
