//! `fer eval`: a run's checkpoint, or an ensemble of runs, on the validation or test
//! split.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::args::{EvalArgs, SplitName};
use super::{load_dataset, UserError};
use fer::data::{Split, EMOTIONS};
use fer::device::{self, BackendTask, Device};
use fer::metrics::{confusion_table, per_class_table};
use fer::run::{CheckpointKind, RunDir};
use fer::train::checkpoint::CheckpointFile;
use fer::train::ensemble;
use fer::train::evaluate::{evaluate_checkpoint, Evaluation};
use fer::train::{TrainConfig, TrainError, Tta};

pub fn run(args: EvalArgs) -> Result<()> {
    let paths: Vec<PathBuf> = args.run.iter().chain(&args.runs).cloned().collect();
    let members = paths
        .iter()
        .map(|path| Member::load(path, &args))
        .collect::<Result<Vec<_>>>()?;
    let Some(first) = members.first() else {
        return Err(UserError("name a run: --run RUN, or --runs RUN RUN...".into()).into());
    };
    let tta = args.tta.unwrap_or(first.config.tta);
    let data_path = args.data.clone().or_else(|| first.config.data.clone());
    let (name, split, source) = load_split(data_path.as_deref(), &first.config, args.split)?;
    let device = device::resolve(args.device.parse()?)?;
    let checkpoint = if args.last { "last" } else { "best" };
    println!(
        "{} on the {name} split of {source}: {} images, TTA {tta:?}",
        if members.len() > 1 {
            format!(
                "an ensemble of {} runs ({checkpoint} checkpoints)",
                members.len()
            )
        } else {
            format!("{} ({checkpoint} checkpoint)", first.run.id())
        },
        split.len(),
    );
    let mut evaluations = Vec::with_capacity(members.len());
    for member in members {
        let id = member.run.id();
        let (model, epoch) = (member.config.model.clone(), member.epoch);
        let evaluation = member.evaluate(tta, &split, device)?;
        println!(
            "  {id} ({model}, epoch {epoch}): accuracy {:.2}%  loss {:.4}",
            100.0 * evaluation.accuracy(),
            evaluation.loss
        );
        evaluations.push(evaluation);
    }
    let result = if evaluations.len() == 1 {
        evaluations.remove(0)
    } else {
        let refs: Vec<&Evaluation> = evaluations.iter().collect();
        let mean = ensemble::average(&refs, &split.labels)?;
        let best = refs.iter().map(|e| e.accuracy()).fold(0.0, f64::max);
        println!(
            "ensemble: accuracy {:.2}%  loss {:.4}  ({:+.2} points against the best member)",
            100.0 * mean.accuracy(),
            mean.loss,
            100.0 * (mean.accuracy() - best)
        );
        mean
    };
    println!();
    println!("{}", per_class_table(&result.confusion, &EMOTIONS));
    println!("{}", confusion_table(&result.confusion, &EMOTIONS));
    Ok(())
}

/// The split to evaluate on, its name for messages, and the data's source.
fn load_split(
    data: Option<&Path>,
    config: &TrainConfig,
    which: SplitName,
) -> Result<(&'static str, Split, String)> {
    let mut dataset = load_dataset(data, config.skip_bad_rows, config.seed)?;
    let (name, split) = match which {
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
    Ok((name, split, dataset.source))
}

/// One run's checkpoint, ready to evaluate.
struct Member {
    run: RunDir,
    config: TrainConfig,
    model_bytes: Vec<u8>,
    epoch: usize,
}

impl Member {
    fn load(path: &Path, args: &EvalArgs) -> Result<Self> {
        let run = RunDir::open(path)?;
        let kind = if args.last {
            CheckpointKind::Last
        } else {
            CheckpointKind::Best
        };
        let checkpoint = CheckpointFile::load(&run.checkpoint_path(kind))?;
        Ok(Self {
            run,
            config: checkpoint.state.config.clone(),
            epoch: checkpoint.state.completed_epochs,
            model_bytes: checkpoint.model,
        })
    }

    fn evaluate(self, tta: Tta, split: &Split, device: Device) -> Result<Evaluation> {
        let mut config = self.config;
        config.tta = tta;
        let task = EvalTask {
            config,
            model_bytes: self.model_bytes,
            split,
        };
        Ok(device::dispatch(device, task)?)
    }
}

struct EvalTask<'a> {
    config: TrainConfig,
    model_bytes: Vec<u8>,
    split: &'a Split,
}

impl BackendTask for EvalTask<'_> {
    type Output = Result<Evaluation, TrainError>;

    fn run<B: burn::tensor::backend::AutodiffBackend>(
        self,
        device: B::Device,
        _name: String,
    ) -> Self::Output {
        evaluate_checkpoint::<B::InnerBackend>(&self.config, self.model_bytes, self.split, &device)
    }
}
