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
pub use flat::{synchronize, StepControl};
pub use topology::{data_port, NodeTopology, Topology, DEFAULT_COLLECTIVE_TIMEOUT};
pub use watchdog::{TimeoutHook, Watch};
pub use workers::{ReplicaRates, WorkerPlan, Workers};

use super::random::replica_rng;

/// Replica `peer`'s part of a global batch: an even slice, in order.
pub fn shard(batch: &[usize], peers: usize, peer: usize) -> &[usize] {
    let size = batch.len() / peers;
    &batch[peer * size..(peer + 1) * size]
}

/// The random draws of replica `peer` at a step (replica 0 draws what one device would).
pub fn shard_rng(seed: u64, epoch: usize, step: usize, peer: usize) -> rand::rngs::StdRng {
    replica_rng(seed, epoch, step, peer)
}
