//! `fer eval`: a run's checkpoint on the validation or test split.

use anyhow::Result;

use super::args::{EvalArgs, SplitName};
use super::{load_dataset, UserError};
use fer::data::EMOTIONS;
use fer::device::{self, BackendTask};
use fer::metrics::{confusion_table, per_class_table};
use fer::run::{CheckpointKind, RunDir};
use fer::train::checkpoint::CheckpointFile;
use fer::train::evaluate::{evaluate_checkpoint, Evaluation};
use fer::train::TrainError;

pub fn run(args: EvalArgs) -> Result<()> {
    let run = RunDir::open(&args.run)?;
    let kind = if args.last {
        CheckpointKind::Last
    } else {
        CheckpointKind::Best
    };
    let checkpoint = CheckpointFile::load(&run.checkpoint_path(kind))?;
    let mut config = checkpoint.state.config.clone();
    if let Some(tta) = args.tta {
        config.tta = tta;
    }
    let data_path = args.data.clone().or_else(|| config.data.clone());
    let mut dataset = load_dataset(data_path.as_deref(), config.skip_bad_rows, config.seed)?;
    let (name, split) = match args.split {
        SplitName::Val => ("validation", std::mem::take(&mut dataset.val)),
        SplitName::Test => ("test", std::mem::take(&mut dataset.test)),
    };
    if split.is_empty() {
        return Err(UserError(format!(
            "{} has no {name} rows (PrivateTest is the test split)",
            dataset.source
        ))
        .into());
    }
    let device = device::resolve(args.device.parse()?)?;
    let task = EvalTask {
        checkpoint,
        config,
        split,
    };
    let evaluation = device::dispatch(device, task)?;
    println!(
        "{} ({} checkpoint, epoch {}) on the {name} split of {}: {} images, TTA {:?}",
        run.id(),
        if args.last { "last" } else { "best" },
        evaluation.1,
        dataset.source,
        evaluation.0.confusion.total(),
        evaluation.2
    );
    println!(
        "accuracy {:.2}%  loss {:.4}\n",
        100.0 * evaluation.0.accuracy(),
        evaluation.0.loss
    );
    println!("{}", per_class_table(&evaluation.0.confusion, &EMOTIONS));
    println!("{}", confusion_table(&evaluation.0.confusion, &EMOTIONS));
    Ok(())
}

struct EvalTask {
    checkpoint: CheckpointFile,
    config: fer::train::TrainConfig,
    split: fer::data::Split,
}

impl BackendTask for EvalTask {
    type Output = Result<(Evaluation, usize, fer::train::Tta), TrainError>;

    fn run<B: burn::tensor::backend::AutodiffBackend>(
        self,
        device: B::Device,
        _name: String,
    ) -> Self::Output {
        let epoch = self.checkpoint.state.completed_epochs;
        let evaluation = evaluate_checkpoint::<B::InnerBackend>(
            &self.config,
            self.checkpoint.model,
            &self.split,
            &device,
        )?;
        Ok((evaluation, epoch, self.config.tta))
    }
}
