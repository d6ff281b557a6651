//! Where this process's replicas stand among all of a run's replicas.

use std::time::Duration;

use burn::collective::{AllReduceStrategy, CollectiveConfig};

use crate::train::TrainError;

/// How long a collective call waits for the other replicas unless told otherwise:
/// longer than any validation pass or checkpoint of one node, so only a lost node
/// (or a leader paused that long) reaches it.
pub const DEFAULT_COLLECTIVE_TIMEOUT: Duration = Duration::from_secs(300);

/// The replicas of a data-parallel run.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    /// Replicas in this process, one per `--devices` entry.
    pub local_devices: usize,
    /// The other processes, when there are several (`--nodes`).
    pub nodes: Option<NodeTopology>,
    /// How long a collective call may wait before the run fails (`--collective-timeout`).
    pub timeout: Duration,
}

/// This process among several (`--nodes N --node-rank R ...`).
#[derive(Clone, Debug, PartialEq)]
pub struct NodeTopology {
    pub nodes: u32,
    pub rank: u32,
    /// `ws://HOST:PORT` of `fer orchestrator`.
    pub orchestrator: String,
    /// `ws://THIS_HOST:PORT`: where the other nodes reach this one (its port is
    /// opened for them).
    pub address: String,
}

impl Topology {
    /// One process with `devices` replicas.
    pub fn local(devices: usize) -> Self {
        Self {
            local_devices: devices,
            nodes: None,
            timeout: DEFAULT_COLLECTIVE_TIMEOUT,
        }
    }

    /// Replicas in all processes.
    pub fn peers(&self) -> usize {
        self.local_devices * self.node_count()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.as_ref().map_or(1, |nodes| nodes.nodes as usize)
    }

    pub fn node_rank(&self) -> usize {
        self.nodes.as_ref().map_or(0, |nodes| nodes.rank as usize)
    }

    /// The global index of this process's replica `local` (burn-collective's peer id).
    pub fn peer_index(&self, local: usize) -> usize {
        self.node_rank() * self.local_devices + local
    }

    /// Rank 0 writes the checkpoints and its first device drives the schedule.
    pub fn is_leader_node(&self) -> bool {
        self.node_rank() == 0
    }

    /// Whether anything needs synchronising at all.
    pub fn is_parallel(&self) -> bool {
        self.peers() > 1
    }

    /// What a run on this topology is called in its header: "2 × cuda:0",
    /// "2 × cuda:0, node 1 of 4".
    pub fn describe(&self, device: &str) -> String {
        let here = match self.local_devices {
            1 => device.to_string(),
            n => format!("{n} × {device}"),
        };
        match &self.nodes {
            None => here,
            Some(nodes) => format!("{here}, node {} of {}", nodes.rank, nodes.nodes),
        }
    }

    /// Checks what the flags can get wrong, before any device is touched.
    pub fn validate(&self, batch_size: usize) -> Result<(), TrainError> {
        let fail = |message: String| Err(TrainError::Config(message));
        if self.local_devices == 0 {
            return fail("--devices names no device".into());
        }
        if let Some(nodes) = &self.nodes {
            if nodes.nodes == 0 || nodes.rank >= nodes.nodes {
                return fail(format!(
                    "--node-rank {} is not below --nodes {}",
                    nodes.rank, nodes.nodes
                ));
            }
            data_port(&nodes.address)?;
            if !nodes.orchestrator.starts_with("ws://") {
                return fail(format!(
                    "--orchestrator {:?} should read ws://HOST:PORT (the address of `fer orchestrator`)",
                    nodes.orchestrator
                ));
            }
        }
        if !batch_size.is_multiple_of(self.peers()) {
            return fail(format!(
                "--batch-size {batch_size} is the global batch and must split evenly over the {} replicas (devices × nodes)",
                self.peers()
            ));
        }
        if self.timeout.is_zero() {
            return fail("--collective-timeout must be at least 1 second".into());
        }
        Ok(())
    }

    /// burn-collective's configuration for this process: a tree within it, a ring
    /// between nodes (its own recommendation).
    pub fn collective_config(&self) -> Result<CollectiveConfig, TrainError> {
        let config = CollectiveConfig::default()
            .with_num_devices(self.local_devices)
            .with_local_all_reduce_strategy(AllReduceStrategy::Tree(2));
        let Some(nodes) = &self.nodes else {
            return Ok(config);
        };
        let address = |text: &str| {
            text.parse()
                .map_err(|e| TrainError::Config(format!("address {text:?}: {e}")))
        };
        Ok(config
            .with_num_nodes(nodes.nodes)
            .with_global_address(address(&nodes.orchestrator)?)
            .with_node_address(address(&nodes.address)?)
            .with_data_service_port(data_port(&nodes.address)?)
            .with_global_all_reduce_strategy(AllReduceStrategy::Ring))
    }
}

/// The port of a `ws://HOST:PORT` address, where this node serves its tensors.
pub fn data_port(address: &str) -> Result<u16, TrainError> {
    let port = address
        .strip_prefix("ws://")
        .and_then(|rest| rest.trim_end_matches('/').rsplit_once(':'))
        .and_then(|(_, port)| port.parse::<u16>().ok());
    port.filter(|port| *port != 0).ok_or_else(|| {
        TrainError::Config(format!(
            "--node-address {address:?} should read ws://HOST:PORT, the address the other nodes reach this one at (its PORT is opened here)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_nodes(rank: u32) -> Topology {
        Topology {
            local_devices: 2,
            nodes: Some(NodeTopology {
                nodes: 2,
                rank,
                orchestrator: "ws://127.0.0.1:3000".into(),
                address: "ws://127.0.0.1:3001".into(),
            }),
            timeout: DEFAULT_COLLECTIVE_TIMEOUT,
        }
    }

    #[test]
    fn peers_are_numbered_node_by_node() {
        let topology = two_nodes(1);
        assert_eq!(topology.peers(), 4);
        assert_eq!(topology.peer_index(0), 2);
        assert_eq!(topology.peer_index(1), 3);
        assert!(!topology.is_leader_node());
        assert!(two_nodes(0).is_leader_node());
        assert!(!Topology::local(1).is_parallel());
    }

    #[test]
    fn flags_that_cannot_work_are_refused_with_what_to_change() {
        assert!(two_nodes(0).validate(64).is_ok());
        let message = |topology: Topology, batch| topology.validate(batch).unwrap_err().to_string();
        assert!(message(two_nodes(0), 66).contains("split evenly over the 4 replicas"));
        assert!(message(two_nodes(2), 64).contains("--node-rank 2"));
        let mut bad_address = two_nodes(0);
        bad_address.nodes.as_mut().unwrap().address = "127.0.0.1".into();
        assert!(message(bad_address, 64).contains("ws://HOST:PORT"));
    }

    #[test]
    fn the_header_names_the_devices_here_and_the_node() {
        assert_eq!(Topology::local(1).describe("cpu"), "cpu");
        assert_eq!(Topology::local(2).describe("cpu"), "2 × cpu");
        assert_eq!(two_nodes(1).describe("cuda:0"), "2 × cuda:0, node 1 of 2");
    }

    #[test]
    fn the_data_port_is_the_node_address_port() {
        assert_eq!(data_port("ws://10.0.0.2:3001").unwrap(), 3001);
        assert_eq!(data_port("ws://node-2:4000/").unwrap(), 4000);
        assert!(data_port("ws://node-2").is_err());
        assert!(data_port("http://node:1").is_err());
    }
}
