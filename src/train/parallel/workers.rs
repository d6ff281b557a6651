//! The replicas after the first, one thread each: each holds its model, optimizer and
//! a copy of the training split on its device, and trains its shard of every step
//! the engine hands it. The engine's own trainer is replica 0.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

use burn::tensor::backend::AutodiffBackend;

use super::{train_shard, Collective, StepAsk, StepPosition, Topology, Watch};
use crate::data::Dataset;
use crate::train::checkpoint::CheckpointFile;
use crate::train::device_split::DeviceSplit;
use crate::train::step::{Inner, Trainer};
use crate::train::{TrainConfig, TrainError};

/// One step for every replica: the global batch and where it is in the run.
enum Job {
    Step {
        batch: Arc<[usize]>,
        position: StepPosition,
        ask: StepAsk,
    },
    Finish,
}

/// Images trained and seconds spent on them (waiting for the others left out), per
/// replica since the last read.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ReplicaRates {
    pub images: usize,
    pub compute_seconds: f64,
}

impl ReplicaRates {
    pub fn add(&mut self, images: usize, compute_seconds: f64) {
        self.images += images;
        self.compute_seconds += compute_seconds;
    }

    pub fn images_per_second(&self) -> f64 {
        self.images as f64 / self.compute_seconds.max(1e-9)
    }
}

/// What every worker starts from.
pub struct WorkerPlan {
    pub config: TrainConfig,
    pub dataset: Arc<Dataset>,
    pub topology: Topology,
    pub watch: Watch,
}

pub struct Workers {
    jobs: Vec<Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
    rates: Vec<Arc<Mutex<ReplicaRates>>>,
}

impl Workers {
    /// Starts replicas 1.. on `devices`; they register and wait for the leader's state.
    pub fn spawn<B: AutodiffBackend>(
        devices: Vec<B::Device>,
        plan: &WorkerPlan,
    ) -> Result<Self, TrainError> {
        let mut workers = Workers {
            jobs: Vec::new(),
            threads: Vec::new(),
            rates: Vec::new(),
        };
        for (index, device) in devices.into_iter().enumerate() {
            let local = index + 1;
            let (sender, jobs) = mpsc::channel();
            let rates = Arc::new(Mutex::new(ReplicaRates::default()));
            let replica = Replica {
                local,
                config: plan.config.clone(),
                dataset: Arc::clone(&plan.dataset),
                topology: plan.topology.clone(),
                watch: plan.watch.clone(),
                rates: Arc::clone(&rates),
            };
            let thread = thread::Builder::new()
                .name(format!("fer-replica-{local}"))
                .spawn(move || replica.run::<B>(device, jobs))
                .map_err(|e| TrainError::Device(format!("starting replica {local}: {e}")))?;
            workers.jobs.push(sender);
            workers.threads.push(thread);
            workers.rates.push(rates);
        }
        Ok(workers)
    }

    /// Hands every worker the step; they train their shards while the engine trains its own.
    /// `ask` is what every worker brings to the step's agreement (no leader's LR).
    pub fn step(&self, batch: &[usize], position: StepPosition, ask: StepAsk) {
        let batch: Arc<[usize]> = batch.into();
        for jobs in &self.jobs {
            let job = Job::Step {
                batch: Arc::clone(&batch),
                position,
                ask,
            };
            // A worker that is gone has told the watchdog why.
            let _ = jobs.send(job);
        }
    }

    /// Each worker's rates since the last call.
    pub fn take_rates(&self) -> Vec<ReplicaRates> {
        self.rates
            .iter()
            .map(|rates| {
                rates
                    .lock()
                    .map(|mut r| std::mem::take(&mut *r))
                    .unwrap_or_default()
            })
            .collect()
    }

    /// Tells the workers the steps are over: they leave the collective (with the
    /// engine's replica, which is why this does not wait for them).
    pub fn release(&self) {
        for jobs in &self.jobs {
            let _ = jobs.send(Job::Finish);
        }
    }

    /// Waits for the released workers.
    pub fn join(self) {
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}

struct Replica {
    local: usize,
    config: TrainConfig,
    dataset: Arc<Dataset>,
    topology: Topology,
    watch: Watch,
    rates: Arc<Mutex<ReplicaRates>>,
}

impl Replica {
    fn run<B: AutodiffBackend>(self, device: B::Device, jobs: Receiver<Job>) {
        let watch = self.watch.clone();
        let local = self.local;
        if let Err(error) = self.train::<B>(device, jobs) {
            watch.fail(format!("replica {local}: {error}"));
        }
    }

    fn train<B: AutodiffBackend>(
        self,
        device: B::Device,
        jobs: Receiver<Job>,
    ) -> Result<(), TrainError> {
        let collective = Collective::<Inner<B>>::register(
            &self.topology,
            self.local,
            device.clone(),
            self.watch,
        )?;
        let class_counts = self.dataset.train.class_counts();
        let trainer = Trainer::<B>::new(&self.config, &class_counts, &device)?;
        let bytes = collective.share_bytes(None, &device)?;
        let checkpoint = CheckpointFile::decode(&bytes, "the leader's state".as_ref())?;
        let mut trainer = trainer.restore(checkpoint.model, checkpoint.optimizer)?;
        let data = DeviceSplit::upload(&self.dataset.train, &device);
        while let Ok(Job::Step {
            batch,
            position,
            ask,
        }) = jobs.recv()
        {
            let (synced, images, seconds) =
                train_shard(&mut trainer, &data, &collective, &batch, position, ask)?;
            if let Ok(mut rates) = self.rates.lock() {
                rates.add(images, seconds - synced.sync_seconds);
            }
        }
        collective.finish()
    }
}
