//! Data-parallel training: one model replica per device, in this process (`--devices`)
//! and in other processes or machines (`--nodes`), through burn-collective.
//!
//! Every replica trains its share of the global batch; then one all-reduce (mean)
//! carries everything the replicas must agree on (see [`flat`]): the gradients, the
//! BatchNorm running statistics, the step's loss and correct count, the learning rate
//! of the leader (rank 0's first device) and whether anyone asked to stop. Each replica
//! then takes the same optimizer step, so all stay identical. A watchdog turns a
//! collective call that never returns (a node lost) into a named failure.

mod collective;
mod flat;
mod topology;
mod watchdog;
mod workers;

pub use collective::Collective;
pub use flat::{synchronize, StepAsk, StepControl};
pub use topology::{data_port, NodeTopology, Topology, DEFAULT_COLLECTIVE_TIMEOUT};
pub use watchdog::{TimeoutHook, Watch};
pub use workers::{ReplicaRates, WorkerPlan, Workers};

use std::time::Instant;

use burn::tensor::backend::AutodiffBackend;

use super::device_split::DeviceSplit;
use super::random::replica_rng;
use super::step::{Inner, SyncedStep, Trainer};
use super::TrainError;

/// Replica `peer`'s part of a global batch: an even slice, in order.
fn shard(batch: &[usize], peers: usize, peer: usize) -> &[usize] {
    let size = batch.len() / peers;
    &batch[peer * size..(peer + 1) * size]
}

/// Where a step is in the run: what its random draws are seeded from.
#[derive(Clone, Copy, Debug)]
pub struct StepPosition {
    pub seed: u64,
    pub epoch: usize,
    pub step: usize,
}

/// One replica's part of a data-parallel step, the same on the engine's replica and
/// the workers: its shard of the global `batch`, with its own draws, trained and
/// agreed on. Also returns the shard's size and the step's seconds (the agreement,
/// waiting for the slowest replica, included).
pub fn train_shard<B: AutodiffBackend>(
    trainer: &mut Trainer<B>,
    data: &DeviceSplit<Inner<B>>,
    collective: &Collective<Inner<B>>,
    batch: &[usize],
    position: StepPosition,
    ask: StepAsk,
) -> Result<(SyncedStep<B>, usize, f64), TrainError> {
    let peer = collective.index();
    let shard = shard(batch, collective.peers(), peer);
    let mut rng = replica_rng(position.seed, position.epoch, position.step, peer);
    let started = Instant::now();
    let synced = trainer.step_synced(data, shard, &mut rng, collective, ask)?;
    Ok((synced, shard.len(), started.elapsed().as_secs_f64()))
}
