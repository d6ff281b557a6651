//! One replica's handle on burn-collective: registered once, every call watched.

use std::marker::PhantomData;

use burn::collective::{self, PeerId, ReduceOperation};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData, TensorPrimitive};

use super::{Topology, Watch};
use crate::train::TrainError;

/// Replica `local` of this process, registered with the others. `B` is the inner
/// (non-autodiff) backend, as burn-collective wants.
pub struct Collective<B: Backend> {
    peer: PeerId,
    local: usize,
    peers: usize,
    watch: Watch,
    _backend: PhantomData<B>,
}

fn failed(what: &str, error: impl std::fmt::Debug) -> TrainError {
    TrainError::ReplicaLost(format!(
        "the {what} with the other replicas failed ({error:?}): a node or device was lost or stopped. {RESTART}"
    ))
}

/// What to do after a lost replica, said by every message about one.
pub const RESTART: &str =
    "Start every node again; `fer train --resume RUN` on rank 0 continues from its last checkpoint";

impl<B: Backend> Collective<B> {
    /// Registers replica `local` on `device`; returns once every replica of the run
    /// (all nodes) has registered.
    pub fn register(
        topology: &Topology,
        local: usize,
        device: B::Device,
        watch: Watch,
    ) -> Result<Self, TrainError> {
        let peer = PeerId::from(topology.peer_index(local) as u32);
        let config = topology.collective_config()?;
        watch
            .wait(local, "registering with the other replicas", || {
                collective::register::<B>(peer, device, config)
            })
            .map_err(|e| failed("registration", e))?;
        Ok(Self {
            peer,
            local,
            peers: topology.peers(),
            watch,
            _backend: PhantomData,
        })
    }

    /// Replicas in the whole run.
    pub fn peers(&self) -> usize {
        self.peers
    }

    /// This replica's global index: 0 is the leader.
    pub fn index(&self) -> usize {
        self.peer.0 as usize
    }

    pub fn watch(&self) -> &Watch {
        &self.watch
    }

    /// The element-wise mean of `tensor` over every replica.
    pub fn mean(&self, tensor: Tensor<B, 1>) -> Result<Tensor<B, 1>, TrainError> {
        self.all_reduce(tensor, ReduceOperation::Mean, "all-reducing a step")
    }

    /// `tensor` combined element-wise over every replica by `operation`; `what` names
    /// the wait for the watchdog.
    fn all_reduce(
        &self,
        tensor: Tensor<B, 1>,
        operation: ReduceOperation,
        what: &'static str,
    ) -> Result<Tensor<B, 1>, TrainError> {
        let primitive = tensor.into_primitive().tensor();
        let reduced = self
            .watch
            .wait(self.local, what, || {
                collective::all_reduce::<B>(self.peer, primitive, operation)
            })
            .map_err(|e| failed("all-reduce", e))?;
        Ok(Tensor::from_primitive(TensorPrimitive::Float(reduced)))
    }

    /// The leader's bytes (a checkpoint) on every replica: the leader passes them.
    /// burn-collective 0.21 has no broadcast between nodes: this is a sum to which
    /// only the leader brings anything (adding zeros is exact), first of the length,
    /// then of the bytes, three to a float.
    pub fn share_bytes(
        &self,
        leader: Option<&[u8]>,
        device: &B::Device,
    ) -> Result<Vec<u8>, TrainError> {
        let what = "receiving the leader's weights";
        let damaged = || TrainError::Device("the leader's state arrived damaged".into());
        let floats = leader.map(bytes_to_floats);
        let length = floats.as_ref().map_or(0, Vec::len) as u64;
        // Split below 2^24, where floats are exact; as long as the number of replicas,
        // since burn's ring all-reduce splits a tensor into that many slices.
        let mut header = vec![0.0; self.peers.max(2)];
        header[..2].copy_from_slice(&[(length >> 24) as f32, (length & 0xFF_FFFF) as f32]);
        let header = read_floats(self.all_reduce(
            floats_tensor(header, device),
            ReduceOperation::Sum,
            what,
        )?);
        let length = match header.as_deref() {
            Some([high, low, ..]) => ((*high as u64) << 24 | *low as u64) as usize,
            _ => return Err(damaged()),
        };
        let words = floats.unwrap_or_else(|| vec![0.0; length]);
        if words.len() != length {
            return Err(damaged());
        }
        let received = self.all_reduce(floats_tensor(words, device), ReduceOperation::Sum, what)?;
        read_floats(received)
            .and_then(|floats| floats_to_bytes(&floats))
            .ok_or_else(damaged)
    }

    /// Unregisters, so that the next run of this process registers afresh.
    pub fn finish(self) -> Result<(), TrainError> {
        let peer = self.peer;
        self.watch
            .wait(self.local, "leaving the collective", || {
                collective::finish_collective::<B>(peer)
            })
            .map_err(|e| failed("finish", e))
    }
}

fn floats_tensor<B: Backend>(floats: Vec<f32>, device: &B::Device) -> Tensor<B, 1> {
    let length = floats.len();
    Tensor::from_data(TensorData::new(floats, [length]), device)
}

fn read_floats<B: Backend>(tensor: Tensor<B, 1>) -> Option<Vec<f32>> {
    tensor.into_data().to_vec::<f32>().ok()
}

/// Bytes as floats (three per float, exact below 2^24), led by the length, so that a
/// checkpoint travels through a float broadcast.
pub fn bytes_to_floats(bytes: &[u8]) -> Vec<f32> {
    let length = bytes.len() as u64;
    let mut floats = vec![(length >> 24) as f32, (length & 0xFF_FFFF) as f32];
    floats.extend(bytes.chunks(3).map(|chunk| {
        let mut word = [0u8; 4];
        word[..chunk.len()].copy_from_slice(chunk);
        u32::from_le_bytes(word) as f32
    }));
    floats
}

/// The inverse of [`bytes_to_floats`]; `None` when the floats are not such bytes.
pub fn floats_to_bytes(floats: &[f32]) -> Option<Vec<u8>> {
    let [high, low, words @ ..] = floats else {
        return None;
    };
    let length = ((*high as u64) << 24 | *low as u64) as usize;
    if words.len() != length.div_ceil(3) {
        return None;
    }
    let mut bytes = Vec::with_capacity(words.len() * 3);
    for word in words {
        let value = *word as u32;
        if value as f32 != *word || value > 0xFF_FFFF {
            return None;
        }
        bytes.extend_from_slice(&value.to_le_bytes()[..3]);
    }
    bytes.truncate(length);
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_survive_the_trip_through_floats() {
        for length in [0, 1, 2, 3, 4, 1000] {
            let bytes: Vec<u8> = (0..length).map(|i| (i * 37 % 256) as u8).collect();
            let floats = bytes_to_floats(&bytes);
            assert_eq!(floats_to_bytes(&floats).as_deref(), Some(&bytes[..]));
        }
        assert_eq!(floats_to_bytes(&[0.0, 5.0, 1.0]), None);
        assert_eq!(floats_to_bytes(&[0.0, 1.0, 0.5]), None);
    }
}
