//! The training engine: one thread, generic over the backend, talking only through
//! `Event`s (out, also appended to `events.jsonl`) and `Command`s (in, applied
//! between steps).
//!
//! Two things never end a run early by accident: a file the disk refuses is held
//! in memory and retried (`writes`), and a loss that stops being finite is caught
//! before anything non-finite is saved (`divergence`).

use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Int, Tensor};

use super::checkpoint::{CheckpointFile, PartialEpoch, TrainingState};
use super::config::TrainConfig;
use super::device_split::DeviceSplit;
use super::evaluate::{evaluate, Evaluation};
use super::parallel::{StepPosition, TimeoutHook, Topology};
use super::random::{epoch_permutation, step_rng};
use super::schedule::{Schedule, ScheduleName};
use super::step::{Inner, StepOutput, Trainer};
use super::summary::{FinalEvaluations, RunSummary};
use super::{model_from_bytes, TrainError};
use crate::data::{Dataset, Split};
use crate::run::{
    CheckpointKind, Command, EpochMetrics, Event, EventLog, PredictedSplit, RunDir, RunFile,
    RunQueue,
};

mod budget;
mod commands;
mod divergence;
mod files;
mod parallel;
mod validate;
mod writes;

pub use divergence::{Divergence, FINITE_CHECK_STEPS};
use validate::{validate_config, validate_topology};
use writes::Writes;

/// What the engine needs to start (or resume) a run.
pub struct EngineSetup {
    pub config: TrainConfig,
    /// Shared, so that queued runs reuse the data without a copy.
    pub dataset: Arc<Dataset>,
    pub run: RunDir,
    /// A checkpoint to continue from (`fer train --resume`).
    pub resume: Option<CheckpointFile>,
    /// Human-readable device name for the header.
    pub device_name: String,
    /// The queue the dashboard's `n` adds to (`runs/queue.ron`).
    pub queue: RunQueue,
    /// When the loss stops being finite, wait for a viewer to stop the run (a
    /// dashboard, where someone reads the account) rather than stop at once.
    pub wait_on_divergence: bool,
    /// How long the end of a run keeps retrying files the disk refused.
    pub final_write_retry: Duration,
    /// Replicas on several devices or processes (`--devices`, `--nodes`); `None` is
    /// one device.
    pub topology: Option<Topology>,
    /// What ends the process when a replica is lost (after the run's log has said
    /// why); `None` prints the reason and exits.
    pub on_collective_timeout: Option<TimeoutHook>,
}

/// How long the end of a run retries refused writes unless told otherwise.
pub const FINAL_WRITE_RETRY: Duration = Duration::from_secs(60);

impl EngineSetup {
    /// A fresh run (set `resume` to continue one) that stops at once if it diverges.
    pub fn new(
        config: TrainConfig,
        dataset: Arc<Dataset>,
        run: RunDir,
        device_name: String,
        queue: RunQueue,
    ) -> Self {
        Self {
            config,
            dataset,
            run,
            resume: None,
            device_name,
            queue,
            wait_on_divergence: false,
            final_write_retry: FINAL_WRITE_RETRY,
            topology: None,
            on_collective_timeout: None,
        }
    }
}

/// The engine's side of the channels.
pub struct EngineIo {
    pub events: Sender<Event>,
    pub commands: Receiver<Command>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub summary: RunSummary,
    /// Stopped by a command: whoever drives a queue does not start the next model.
    pub stopped: bool,
}

pub struct Engine<B: AutodiffBackend> {
    setup: EngineSetup,
    io: EngineIo,
    log: EventLog,
    trainer: Trainer<B>,
    /// The training split, on the device for the whole run.
    train_data: DeviceSplit<Inner<B>>,
    state: TrainingState,
    steps_per_epoch: usize,
    batch_size: usize,
    /// Device-side losses of the steps not read yet (one per step, so that a
    /// non-finite one is found to the step), and their running correct count.
    pending_losses: Vec<Tensor<Inner<B>, 1>>,
    pending_correct: Option<Tensor<Inner<B>, 1, Int>>,
    pending_images: usize,
    /// Whole files the disk refused, held until it takes them.
    writes: Writes,
    /// (epoch, step) of the newest `last.ckpt` on disk: where a diverged run resumes.
    saved_last: Option<(usize, usize)>,
    stop_requested: bool,
    /// The waiting models last announced with `QueueChanged`.
    shown_queue: Option<Vec<String>>,
    /// When the last `Progress` went out: kept across epochs, so that epochs shorter
    /// than `progress_interval_s` still report at that interval.
    last_progress: Instant,
    /// The other replicas, when there are any.
    parallel: Option<parallel::Parallel<B>>,
}

impl<B: AutodiffBackend> Engine<B> {
    pub fn new(setup: EngineSetup, io: EngineIo, device: B::Device) -> Result<Self, TrainError> {
        Self::with_devices(setup, io, vec![device])
    }

    /// An engine with one replica per device (`setup.topology` says how many, here
    /// and in other processes); the first device's is the engine's own.
    pub fn with_devices(
        mut setup: EngineSetup,
        io: EngineIo,
        devices: Vec<B::Device>,
    ) -> Result<Self, TrainError> {
        let config = setup.config.clone();
        validate_config(&config, &setup.dataset)?;
        let topology = setup.topology.clone().filter(Topology::is_parallel);
        if let Some(topology) = &topology {
            validate_topology(topology, &config, devices.len())?;
        }
        let device = devices
            .first()
            .cloned()
            .ok_or_else(|| TrainError::Config("no device to train on".into()))?;
        let batch_size = config.batch_size.min(setup.dataset.train.len());
        let steps_per_epoch = setup.dataset.train.len() / batch_size;
        let class_counts = setup.dataset.train.class_counts();
        let mut trainer = Trainer::new(&config, &class_counts, &device)?;
        let state = match setup.resume.take() {
            Some(checkpoint) => {
                trainer = trainer.restore(checkpoint.model, checkpoint.optimizer)?;
                if !trainer.weights_finite() {
                    return Err(TrainError::Checkpoint(
                        "the checkpoint's weights are not finite: the run had diverged when it was saved, so there is nothing to resume from in it".into(),
                    ));
                }
                resumed_state(checkpoint.state, &config)
            }
            None => fresh_state(&config, steps_per_epoch),
        };
        let (parallel, trainer, state) = match topology {
            Some(topology) => {
                let events = io.events.clone();
                let (parallel, trainer, state) =
                    parallel::start(&setup, topology, devices, trainer, state, events)?;
                (Some(parallel), trainer, state)
            }
            None => (None, trainer, state),
        };
        let saved_last = setup
            .run
            .checkpoint_path(CheckpointKind::Last)
            .is_file()
            .then_some((state.completed_epochs, state.step_in_epoch));
        let train_data = DeviceSplit::upload(&setup.dataset.train, &device);
        Ok(Self {
            log: EventLog::open(&setup.run)?,
            setup,
            io,
            trainer,
            train_data,
            state,
            steps_per_epoch,
            batch_size,
            pending_losses: Vec::new(),
            pending_correct: None,
            pending_images: 0,
            writes: Writes::default(),
            saved_last,
            stop_requested: false,
            shown_queue: None,
            last_progress: Instant::now(),
            parallel,
        })
    }

    /// Runs to the last epoch, or until a `Stop` command; always ends with an event
    /// saying how (`RunFinished` or `RunFailed`).
    pub fn run(&mut self) -> Result<Outcome, TrainError> {
        let result = self.run_epochs();
        let result = match self.leave_collective(result.is_ok()) {
            Ok(()) => result,
            Err(error) => result.and(Err(error)),
        };
        let result = match result {
            Err(TrainError::NonFinite(divergence)) => Err(self.stop_diverged(divergence)),
            other => other,
        };
        if let Err(error) = &result {
            self.emit(Event::RunFailed {
                error: error.to_string(),
            });
            // What was held for the other files is lost with the process; the events
            // get one more try, so that the log says how the run ended.
            let _ = self.log.flush();
        }
        result
    }

    /// Hands the channels back, for the next run of a queue.
    pub fn into_io(self) -> EngineIo {
        self.io
    }

    fn run_epochs(&mut self) -> Result<Outcome, TrainError> {
        self.announce();
        let started = Instant::now();
        while self.state.completed_epochs < self.state.config.epochs {
            let epoch = self.state.completed_epochs + 1;
            self.train_epoch(epoch)?;
            if self.stopping() {
                self.flush_pending()?;
                self.checkpoint(CheckpointKind::Last)?;
                self.save_final_weights()?;
                self.leave_collective(true)?;
                return self.finish(true, started);
            }
            self.end_epoch(epoch)?;
        }
        self.save_final_weights()?;
        self.leave_collective(true)?;
        self.finish(false, started)
    }

    fn announce(&mut self) {
        let dataset = &self.setup.dataset;
        let event = Event::RunStarted {
            run_id: self.setup.run.id(),
            run_dir: self.setup.run.path().display().to_string(),
            model: self.state.config.model.clone(),
            parameters: crate::model::parameter_count(self.trainer.model()),
            device: self.setup.device_name.clone(),
            data_source: dataset.source.clone(),
            train_images: dataset.train.len(),
            val_images: dataset.val.len(),
            test_images: dataset.test.len(),
            val_class_counts: dataset.val.class_counts().to_vec(),
            epochs: self.state.config.epochs,
            steps_per_epoch: self.steps_per_epoch,
            batch_size: self.batch_size,
            start_epoch: self.state.completed_epochs + 1,
            schedule: self.state.schedule.name(),
            notes: dataset.notes.clone(),
        };
        self.emit(event);
        self.emit_plan();
        self.refresh_queue();
    }

    fn train_epoch(&mut self, epoch: usize) -> Result<(), TrainError> {
        let config = &self.state.config;
        let order = epoch_permutation(config.seed, epoch, self.setup.dataset.train.len());
        let mut early_plan_start = None;
        while self.state.step_in_epoch < self.steps_per_epoch {
            self.apply_commands()?;
            if self.stopping() {
                return Ok(());
            }
            let step = self.state.step_in_epoch;
            let batch = &order[step * self.batch_size..(step + 1) * self.batch_size];
            let step_started = Instant::now();
            self.train_step(epoch, step, batch)?;
            self.state.partial.seconds += step_started.elapsed().as_secs_f64();
            self.state.step_in_epoch += 1;
            self.plan_early(&mut early_plan_start);
            if self.last_progress.elapsed().as_secs_f64() >= self.state.config.progress_interval_s {
                self.last_progress = Instant::now();
                self.emit_progress(epoch)?;
                self.retry_writes_now_and_then();
            } else if self.pending_losses.len() >= FINITE_CHECK_STEPS {
                self.flush_pending()?;
            }
        }
        self.flush_pending()
    }

    fn train_step(&mut self, epoch: usize, step: usize, batch: &[usize]) -> Result<(), TrainError> {
        let seed = self.state.config.seed;
        let lr = self.state.schedule.lr();
        let output = match &mut self.parallel {
            None => {
                let mut rng = step_rng(seed, epoch, step);
                self.trainer.step(&self.train_data, batch, lr, &mut rng)
            }
            Some(parallel) => {
                let position = StepPosition { seed, epoch, step };
                let stop = self.stop_requested;
                let output = parallel.step(
                    &mut self.trainer,
                    &self.train_data,
                    position,
                    batch,
                    lr,
                    stop,
                )?;
                self.stop_requested |= parallel.stop_agreed;
                output
            }
        };
        self.state.schedule.advance();
        self.accumulate(output, batch.len());
        Ok(())
    }

    fn accumulate(&mut self, output: StepOutput<B>, images: usize) {
        let StepOutput { loss_sum, correct } = output;
        self.pending_losses.push(loss_sum);
        self.pending_correct = Some(match self.pending_correct.take() {
            Some(sum) => sum + correct,
            None => correct,
        });
        self.pending_images += images;
    }

    fn emit_progress(&mut self, epoch: usize) -> Result<(), TrainError> {
        self.flush_pending()?;
        let partial = &self.state.partial;
        let event = Event::Progress {
            epoch,
            step: self.state.step_in_epoch,
            steps_per_epoch: self.steps_per_epoch,
            loss: partial.loss_sum / partial.images.max(1) as f64,
            lr: self.state.schedule.lr(),
            images_per_second: partial.images as f64 / partial.seconds.max(1e-9),
            elapsed_seconds: self.state.elapsed_seconds + partial.seconds,
        };
        self.emit(event);
        if let Some(rates) = self.parallel.as_mut().map(parallel::Parallel::take_rates) {
            self.emit(rates);
        }
        // `fer queue add` in another terminal changes the queue too.
        self.refresh_queue();
        Ok(())
    }

    fn end_epoch(&mut self, epoch: usize) -> Result<(), TrainError> {
        self.check_weights()?;
        self.emit(Event::ValidationStarted { epoch });
        let validation_started = Instant::now();
        let evaluation = self.trainer.evaluate(&self.setup.dataset.val);
        let validation_seconds = validation_started.elapsed().as_secs_f64();
        self.check_validation(&evaluation)?;
        let partial = std::mem::take(&mut self.state.partial);
        let Evaluation {
            confusion,
            loss: val_loss,
            probabilities,
        } = evaluation;
        let metrics = EpochMetrics {
            epoch,
            lr: self.state.schedule.lr(),
            train_loss: partial.loss_sum / partial.images.max(1) as f64,
            train_accuracy: partial.correct / partial.images.max(1) as f64,
            val_loss,
            val_accuracy: confusion.accuracy(),
            val_macro_f1: confusion.macro_f1(),
            val_recall: (0..confusion.num_classes())
                .map(|c| confusion.recall(c))
                .collect(),
            val_confusion: confusion,
            seconds: partial.seconds + validation_seconds,
            images_per_second: partial.images as f64 / partial.seconds.max(1e-9),
        };
        self.state.elapsed_seconds += metrics.seconds;
        self.state.completed_epochs = epoch;
        self.state.step_in_epoch = 0;
        self.state.schedule.end_epoch(metrics.val_accuracy);
        let is_best = self
            .state
            .best
            .is_none_or(|(_, best)| metrics.val_accuracy > best);
        if is_best {
            self.state.best = Some((epoch, metrics.val_accuracy));
        }
        self.state.history.push(metrics.clone());
        self.retry_writes();
        self.write_metrics();
        self.write_faces(epoch, &probabilities);
        self.emit(Event::EpochFinished(metrics.clone()));
        // Before the checkpoints, so that they carry the new plan.
        self.fit_time_budget(metrics.seconds, validation_seconds);
        if is_best {
            self.emit(Event::NewBest {
                epoch,
                val_accuracy: metrics.val_accuracy,
            });
            self.save_checkpoint(CheckpointKind::Best)?;
            self.save_predictions(PredictedSplit::Val, probabilities);
        }
        self.save_checkpoint(CheckpointKind::Last)?;
        if self.state.schedule.name() == ScheduleName::Plateau {
            self.emit_plan();
        }
        Ok(())
    }

    fn finish(&mut self, stopped: bool, started: Instant) -> Result<Outcome, TrainError> {
        let evaluated = self.evaluate_best()?;
        self.report_final(&evaluated);
        self.apply_commands_at_end()?;
        let summary = RunSummary::new(
            &self.setup,
            &self.state,
            crate::model::parameter_count(self.trainer.model()),
            &evaluated,
        );
        self.write_file(RunFile::Summary, summary.to_json()?, String::new(), None);
        self.settle_writes()?;
        self.emit(Event::RunFinished {
            best_epoch: summary.best_epoch,
            best_val_accuracy: summary.best_val_accuracy,
            test_accuracy: summary.test_accuracy,
            stopped,
            seconds: started.elapsed().as_secs_f64(),
        });
        self.log.flush()?;
        Ok(Outcome {
            summary,
            stopped: stopped || self.stop_requested,
        })
    }

    /// Emits the final evaluations and saves their predictions.
    fn report_final(&mut self, evaluated: &FinalEvaluations) {
        let epoch = evaluated.epoch;
        if let Some(val) = &evaluated.val {
            self.save_predictions(PredictedSplit::Val, val.probabilities.clone());
            self.emit(Event::BestValidated {
                epoch,
                tta: self.state.config.tta,
                accuracy: val.accuracy(),
                macro_f1: val.confusion.macro_f1(),
                loss: val.loss,
                confusion: val.confusion.clone(),
            });
        }
        if let Some(test) = &evaluated.test {
            self.save_predictions(PredictedSplit::Test, test.probabilities.clone());
            self.emit(Event::TestEvaluated {
                epoch,
                accuracy: test.accuracy(),
                macro_f1: test.confusion.macro_f1(),
                loss: test.loss,
                confusion: test.confusion.clone(),
            });
        }
    }

    /// The best-validation checkpoint evaluated with the reported TTA: on validation
    /// when the per-epoch validation used other views, and on the test split.
    fn evaluate_best(&self) -> Result<FinalEvaluations, TrainError> {
        let config = &self.state.config;
        let dataset = &self.setup.dataset;
        let revalidate = config.val_tta != config.tta;
        if self.state.best.is_none() || (!revalidate && dataset.test.is_empty()) {
            return Ok(FinalEvaluations::default());
        }
        // A run resumed into a directory without best.ckpt (copied elsewhere, or deleted)
        // falls back to the current weights rather than failing at the very end.
        let path = self.setup.run.checkpoint_path(CheckpointKind::Best);
        let (epoch, model) = match (path.is_file(), self.state.best) {
            (true, Some((best_epoch, _))) => {
                let best = CheckpointFile::load(&path)?;
                let device = self.trainer.augmenter().device();
                let model = model_from_bytes(self.trainer.model().valid(), best.model, &device)?;
                (best_epoch, model)
            }
            _ => (self.state.completed_epochs, self.trainer.model().valid()),
        };
        let evaluate_on = |split: &Split| {
            let augmenter = self.trainer.augmenter();
            evaluate(&model, split, augmenter, config.tta, config.eval_batch_size)
        };
        Ok(FinalEvaluations {
            epoch,
            val: revalidate.then(|| evaluate_on(&dataset.val)),
            test: (!dataset.test.is_empty()).then(|| evaluate_on(&dataset.test)),
        })
    }

    fn emit_plan(&mut self) {
        let event = Event::SchedulePlan {
            name: self.state.schedule.name(),
            current_lr: self.state.schedule.lr(),
            plan: self.state.schedule.plan(200),
            epochs: self.state.config.epochs,
            settings: Some(self.state.schedule.config().clone()),
        };
        self.emit(event);
    }

    /// Appends to `events.jsonl`, then forwards to the viewer; a viewer that went
    /// away does not stop training, nor does a disk that refuses the line (it is held).
    fn emit(&mut self, event: Event) {
        let logged = self.log.append(&event);
        let _ = self.io.events.send(event);
        self.note_write(RunFile::Events, logged.err());
    }
}

/// A checkpoint's state, with what `fer train --resume` may change: the run's
/// length, and the LR (which scales the schedule).
fn resumed_state(mut state: TrainingState, config: &TrainConfig) -> TrainingState {
    state.config.epochs = config.epochs;
    state.schedule.set_total_epochs(config.epochs);
    if config.lr != state.schedule.base_lr() {
        state.schedule.set_base_lr(config.lr);
    }
    state.config.lr = config.lr;
    state
}

fn fresh_state(config: &TrainConfig, steps_per_epoch: usize) -> TrainingState {
    TrainingState {
        config: config.clone(),
        completed_epochs: 0,
        step_in_epoch: 0,
        partial: PartialEpoch::default(),
        schedule: Schedule::new(
            config.schedule.clone(),
            config.lr,
            steps_per_epoch,
            config.epochs,
        ),
        history: Vec::new(),
        best: None,
        elapsed_seconds: 0.0,
    }
}
