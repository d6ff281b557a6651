//! `fer study FILE`: queue a study's runs (once), train them, write the report.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::args::StudyArgs;
use super::queue::checked;
use super::session::{Session, SessionPlan};
use super::{say, UserError};
use fer::run::overrides::ConfigOverrides;
use fer::run::{QueueState, RunQueue, Study};

pub fn run(args: StudyArgs) -> Result<()> {
    let study = Study::load(&args.file)?;
    let queue = RunQueue::in_dir(&args.runs_dir);
    enqueue(&study, &queue, &args)?;
    let plan = SessionPlan {
        first: None,
        runs_dir: args.runs_dir.clone(),
        queue: queue.clone(),
        study: Some(study.name.clone()),
        device: None,
        wait_on_divergence: false,
    };
    Session::start(plan, args.view)?.follow()?;

    let entries = queue.read()?;
    let runs: Vec<&fer::run::QueuedRun> = entries.of_study(&study.name).collect();
    let done: Vec<PathBuf> = runs
        .iter()
        .filter_map(|run| match &run.state {
            QueueState::Done { run } => Some(run.clone()),
            _ => None,
        })
        .collect();
    if done.len() < runs.len() {
        say(format!(
            "study {}: {} of {} runs done; `fer study {}` continues it",
            study.name,
            done.len(),
            runs.len(),
            args.file.display()
        ));
        return Ok(());
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.runs_dir.join(format!("{}-report", study.name)));
    write_report(&study, &done, &out)
}

/// Adds the study's runs to the queue, unless it is queued already (then it
/// continues: nothing is added, and settings given now apply only to new studies).
fn enqueue(study: &Study, queue: &RunQueue, args: &StudyArgs) -> Result<()> {
    let queued = queue.read()?.of_study(&study.name).count();
    if queued > 0 {
        say(format!(
            "study {} is in {} already ({queued} runs): continuing it",
            study.name,
            queue.path().display()
        ));
        return Ok(());
    }
    let top = ConfigOverrides {
        minutes: args.minutes_per_run,
        data: args.data.clone(),
        ..ConfigOverrides::default()
    };
    let mut runs = Vec::new();
    for (index, settings) in study.run_settings(&top).into_iter().enumerate() {
        if settings.model.is_none() {
            return Err(UserError(format!(
                "{}: run {} names no model",
                args.file.display(),
                index + 1
            ))
            .into());
        }
        let (_, settings) = checked(None, settings)?;
        runs.push(settings);
    }
    let count = runs.len();
    queue.update(|entries| {
        for settings in runs {
            entries.push(None, settings, Some(study.name.clone()));
        }
        Ok::<_, anyhow::Error>(())
    })?;
    say(format!(
        "study {}: {count} runs queued in {}",
        study.name,
        queue.path().display()
    ));
    Ok(())
}

fn write_report(study: &Study, runs: &[PathBuf], out: &Path) -> Result<()> {
    let title = format!("Study {}", study.name);
    let report = fer::report::write_report(runs, out, &title)?;
    for warning in &report.warnings {
        say(format!("report: {warning}"));
    }
    say(format!(
        "study {}: report in {}",
        study.name,
        out.join("report.md").display()
    ));
    Ok(())
}
