//! The engine's side of a data-parallel run (`--devices`, `--nodes`; see
//! `train::parallel`): the engine's trainer is replica 0 of its process, the
//! workers are the others, and rank 0's replica 0 leads.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use burn::tensor::backend::AutodiffBackend;

use super::{Engine, EngineSetup};
use crate::run::{Command, Event, EventLog};
use crate::train::checkpoint::{CheckpointFile, TrainingState};
use crate::train::device_split::DeviceSplit;
use crate::train::parallel::{
    train_shard, Collective, ReplicaRates, StepAsk, StepControl, StepPosition, TimeoutHook,
    Topology, Watch, WorkerPlan, Workers,
};
use crate::train::step::{Inner, StepOutput, Trainer};
use crate::train::TrainError;

pub(super) struct Parallel<B: AutodiffBackend> {
    collective: Collective<Inner<B>>,
    workers: Workers,
    topology: Topology,
    /// Replica 0's own rates, and the seconds of its steps and of their all-reduces
    /// since the last progress event.
    own: ReplicaRates,
    step_seconds: f64,
    sync_seconds: f64,
    /// Every replica has seen a stop: the run may end after this step.
    pub(super) stop_agreed: bool,
}

/// Starts the other replicas of this process and registers the engine's; then every
/// replica, in every process, takes the leader's weights, optimizer and position.
pub(super) fn start<B: AutodiffBackend>(
    setup: &EngineSetup,
    topology: Topology,
    devices: Vec<B::Device>,
    trainer: Trainer<B>,
    state: TrainingState,
    events: Sender<Event>,
) -> Result<(Parallel<B>, Trainer<B>, TrainingState), TrainError> {
    let hook = timeout_hook(setup, events);
    let watch = Watch::start(topology.local_devices, topology.timeout, hook);
    let mut devices = devices.into_iter();
    let device = devices
        .next()
        .ok_or_else(|| TrainError::Config("--devices names no device".into()))?;
    let plan = WorkerPlan {
        config: setup.config.clone(),
        dataset: Arc::clone(&setup.dataset),
        topology: topology.clone(),
        watch: watch.clone(),
    };
    let workers = Workers::spawn::<B>(devices.collect(), &plan)?;
    let collective = Collective::<Inner<B>>::register(&topology, 0, device.clone(), watch)?;
    let leader_bytes = match collective.index() {
        0 => Some(
            CheckpointFile {
                state,
                model: trainer.model_bytes()?,
                optimizer: trainer.optimizer_bytes()?,
            }
            .encode()?,
        ),
        _ => None,
    };
    let bytes = collective.share_bytes(leader_bytes.as_deref(), &device)?;
    let checkpoint = CheckpointFile::decode(&bytes, "the leader's state".as_ref())?;
    let trainer = trainer.restore(checkpoint.model, checkpoint.optimizer)?;
    let parallel = Parallel {
        collective,
        workers,
        topology,
        own: ReplicaRates::default(),
        step_seconds: 0.0,
        sync_seconds: 0.0,
        stop_agreed: false,
    };
    Ok((parallel, trainer, checkpoint.state))
}

/// Before the process ends for a lost replica: the run's log says why, the viewer
/// hears it, then the caller's hook (the CLI restores the terminal and exits).
fn timeout_hook(setup: &EngineSetup, events: Sender<Event>) -> TimeoutHook {
    let run = setup.run.clone();
    let events = Mutex::new(events);
    let then = setup.on_collective_timeout.clone();
    Arc::new(move |message: &str| {
        let failed = Event::RunFailed {
            error: message.to_string(),
        };
        if let Ok(mut log) = EventLog::open(&run) {
            let _ = log.append(&failed);
            let _ = log.flush();
        }
        if let Ok(events) = events.lock() {
            let _ = events.send(failed);
        }
        match &then {
            Some(hook) => hook(message),
            None => {
                eprintln!("error: {message}");
                std::process::exit(1);
            }
        }
    })
}

impl<B: AutodiffBackend> Parallel<B> {
    /// Trains one global batch on every replica; the outputs are the whole batch's.
    pub(super) fn step(
        &mut self,
        trainer: &mut Trainer<B>,
        data: &DeviceSplit<Inner<B>>,
        position: StepPosition,
        batch: &[usize],
        lr: f64,
        stop: bool,
    ) -> Result<StepOutput<B>, TrainError> {
        // Without other nodes this process decides the step alone: its LR and stop
        // need no reading back from the averaged buffer.
        let settled = self
            .topology
            .nodes
            .is_none()
            .then_some(StepControl { lr, stop });
        let ask = StepAsk {
            leader_lr: None,
            stop,
            settled,
        };
        self.workers.step(batch, position, ask);
        let ask = StepAsk {
            leader_lr: (self.collective.index() == 0).then_some(lr),
            ..ask
        };
        let (synced, images, seconds) =
            train_shard(trainer, data, &self.collective, batch, position, ask)?;
        self.own.add(images, seconds - synced.sync_seconds);
        self.step_seconds += seconds;
        self.sync_seconds += synced.sync_seconds;
        self.stop_agreed |= synced.control.stop;
        Ok(synced.output)
    }

    /// Images per second of each replica of this process, and the all-reduce's share
    /// of replica 0's step time, since the last call.
    pub(super) fn take_rates(&mut self) -> Event {
        let mut rates = vec![std::mem::take(&mut self.own)];
        rates.extend(self.workers.take_rates());
        let share = self.sync_seconds / self.step_seconds.max(1e-9);
        (self.step_seconds, self.sync_seconds) = (0.0, 0.0);
        Event::ReplicaRates {
            images_per_second: rates.iter().map(ReplicaRates::images_per_second).collect(),
            all_reduce_share: share,
        }
    }

    pub(super) fn is_leader_node(&self) -> bool {
        self.topology.is_leader_node()
    }

    /// After the last step: every replica leaves the collective.
    pub(super) fn finish(self) -> Result<(), TrainError> {
        let watch = self.collective.watch().clone();
        self.workers.release();
        let left = self.collective.finish();
        self.workers.join();
        watch.disarm();
        left
    }

    /// The run failed here: the other replicas wait for steps that will not come.
    pub(super) fn abandon(self) {
        self.collective.watch().disarm();
    }
}

impl<B: AutodiffBackend> Engine<B> {
    /// True once a stop may end the run here: at once on one device, after the
    /// step that told every replica otherwise.
    pub(super) fn stopping(&self) -> bool {
        self.stop_requested && self.parallel.as_ref().is_none_or(|p| p.stop_agreed)
    }

    /// Only rank 0 writes checkpoints: the others hold the same weights.
    pub(super) fn writes_checkpoints(&self) -> bool {
        self.parallel.as_ref().is_none_or(Parallel::is_leader_node)
    }

    /// Commands that only rank 0 of a multi-node run carries out: its LR is every
    /// replica's, and it writes the checkpoints.
    pub(super) fn refused_on_this_node(&self, command: &Command) -> Option<&'static str> {
        let follower = self.parallel.as_ref().is_some_and(|p| !p.is_leader_node());
        match command {
            Command::SetLr { .. } | Command::SetSchedule { .. } if follower => {
                Some("rank 0 drives the schedule of a multi-node run: steer it there")
            }
            Command::CheckpointNow if follower => {
                Some("rank 0 writes the checkpoints of a multi-node run: ask it there")
            }
            _ => None,
        }
    }

    /// Leaves the collective once the steps are over (before the test split, which
    /// each process evaluates alone).
    pub(super) fn leave_collective(&mut self, succeeded: bool) -> Result<(), TrainError> {
        match (self.parallel.take(), succeeded) {
            (Some(parallel), true) => parallel.finish(),
            (Some(parallel), false) => {
                parallel.abandon();
                Ok(())
            }
            (None, _) => Ok(()),
        }
    }
}
