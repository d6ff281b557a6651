//! Several processes, one run (`--nodes`), over 127.0.0.1: `fer orchestrator` and
//! two `fer train` nodes end with identical weights; a node lost mid-run stops the
//! other with a message that says so, and the run resumes from rank 0's checkpoint.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use burn::backend::Flex;
use common::numeric::model_floats;
use common::process::{ctl, events, run_dirs, stderr, write_small_csv, Fer};
use fer::run::{CheckpointKind, Event, RunDir};
use fer::train::checkpoint::CheckpointFile;

/// Long enough for a slow CI machine to train the few steps, short of a hang.
const RUN_LIMIT: Duration = Duration::from_secs(240);

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

struct Cluster {
    orchestrator: Fer,
    address: String,
    data: PathBuf,
}

impl Cluster {
    fn start(dir: &Path) -> Self {
        let port = free_port();
        let mut orchestrator = Fer::spawn(&["orchestrator", "--port", &port.to_string()]);
        orchestrator.wait_for_line("orchestrator listening", Duration::from_secs(30));
        Self {
            orchestrator,
            address: format!("ws://127.0.0.1:{port}"),
            data: write_small_csv(dir, 256, 64, 16),
        }
    }

    /// `fer train --nodes 2 --node-rank RANK` of resnet8 on the small CSV.
    fn node(&self, rank: u32, runs: &Path, epochs: usize, extra: &[&str]) -> Fer {
        let node_address = format!("ws://127.0.0.1:{}", free_port());
        let (rank, epochs) = (rank.to_string(), epochs.to_string());
        let mut args = vec![
            "train",
            "--data",
            self.data.to_str().expect("utf-8"),
            "--model",
            "resnet8",
            "--batch-size",
            "32",
            "--tta",
            "none",
            "--epochs",
            &epochs,
            "--nodes",
            "2",
            "--node-rank",
            &rank,
            "--orchestrator",
            &self.address,
            "--node-address",
            &node_address,
            "--runs-dir",
            runs.to_str().expect("utf-8"),
            "--headless",
        ];
        args.extend_from_slice(extra);
        Fer::spawn(&args)
    }
}

/// Every float of a checkpoint's model, in the model's order.
fn checkpoint_floats(run: &Path) -> Vec<f32> {
    let run = RunDir::open(run).expect("run directory");
    let checkpoint = CheckpointFile::load(&run.checkpoint_path(CheckpointKind::Last))
        .expect("the node's last checkpoint");
    let device = Default::default();
    let model = fer::model::build::<Flex>(&checkpoint.state.config.model, &device).unwrap();
    let model = fer::train::model_from_bytes(model, checkpoint.model, &device).unwrap();
    model_floats(&model)
}

fn only_run(runs: &Path) -> PathBuf {
    let mut dirs = run_dirs(runs);
    assert_eq!(dirs.len(), 1, "one run directory in {}", runs.display());
    dirs.pop().expect("a run")
}

#[test]
fn two_nodes_over_loopback_end_with_identical_weights() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(dir.path());
    let (runs0, runs1) = (dir.path().join("node0"), dir.path().join("node1"));
    let mut node1 = cluster.node(1, &runs1, 2, &[]);
    let mut node0 = cluster.node(0, &runs0, 2, &[]);
    for (rank, node) in [(0, &mut node0), (1, &mut node1)] {
        let status = node.wait_exit(RUN_LIMIT);
        assert!(status.success(), "node {rank} failed:\n{}", node.output());
    }
    let (run0, run1) = (only_run(&runs0), only_run(&runs1));
    let (weights0, weights1) = (checkpoint_floats(&run0), checkpoint_floats(&run1));
    assert!(!weights0.is_empty());
    assert_eq!(weights0, weights1, "the nodes' final weights differ");
    // Rank 0 wrote the run's checkpoints; the other node only its final weights.
    assert!(RunDir::open(&run0)
        .unwrap()
        .checkpoint_path(CheckpointKind::Best)
        .is_file());
    assert!(!RunDir::open(&run1)
        .unwrap()
        .checkpoint_path(CheckpointKind::Best)
        .is_file());
    // Both trained the global batch: 256 images of batches of 32, 8 steps an epoch.
    for run in [&run0, &run1] {
        let epochs: Vec<_> = events(run)
            .into_iter()
            .filter_map(|event| match event {
                Event::EpochFinished(metrics) => Some(metrics.train_loss),
                _ => None,
            })
            .collect();
        assert_eq!(epochs.len(), 2, "{}", run.display());
    }
    drop(cluster.orchestrator);
}

#[test]
fn a_lost_node_stops_the_other_with_what_happened_and_the_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = Cluster::start(dir.path());
    let (runs0, runs1) = (dir.path().join("node0"), dir.path().join("node1"));
    let timeout = ["--collective-timeout", "5"];
    let mut node1 = cluster.node(1, &runs1, 30, &timeout);
    let mut node0 = cluster.node(0, &runs0, 30, &timeout);
    node0.wait_for_line("checkpoint saved", RUN_LIMIT);
    // Rank 0's LR is every replica's: another node says so rather than ignore it.
    let refused = ctl(&only_run(&runs1), &["lr", "0.01"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("rank 0 drives the schedule"),
        "{}",
        stderr(&refused)
    );
    node1.signal("KILL");
    let _ = node1.wait_exit(Duration::from_secs(30));
    let status = node0.wait_exit(Duration::from_secs(120));
    assert_eq!(status.code(), Some(1), "{}", node0.output());
    // burn-collective notices the closed connection (else the watchdog would, after
    // the 5 s: tests of `Watch` cover that message).
    let said_lost = |text: &str| {
        (text.contains("was lost") || text.contains("--collective-timeout 5"))
            && text.contains("--resume RUN")
    };
    let output = node0.output();
    assert!(said_lost(&output), "{output}");
    let run0 = only_run(&runs0);
    let last = events(&run0).pop();
    assert!(
        matches!(&last, Some(Event::RunFailed { error }) if said_lost(error)),
        "the log ends with {last:?}"
    );
    drop(cluster);

    // Every node again, rank 0 resuming: the run goes on from its checkpoint.
    let cluster = Cluster::start(dir.path());
    let resumed_epoch = CheckpointFile::load(
        &RunDir::open(&run0)
            .unwrap()
            .checkpoint_path(CheckpointKind::Last),
    )
    .unwrap()
    .state
    .completed_epochs;
    let runs1 = dir.path().join("node1-again");
    let extend = ["--epochs", "3"];
    let mut node1 = cluster.node(1, &runs1, 3, &[]);
    let args = resume_args(&cluster, &run0, &extend);
    let mut node0 = Fer::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>());
    for (rank, node) in [(0, &mut node0), (1, &mut node1)] {
        let status = node.wait_exit(RUN_LIMIT);
        assert!(status.success(), "node {rank} failed:\n{}", node.output());
    }
    let started = events(&run0)
        .into_iter()
        .rev()
        .find_map(|event| match event {
            Event::RunStarted { start_epoch, .. } => Some(start_epoch),
            _ => None,
        });
    assert_eq!(started, Some(resumed_epoch + 1));
    assert_eq!(
        checkpoint_floats(&run0),
        checkpoint_floats(&only_run(&runs1)),
        "after the resume the nodes' weights differ"
    );
}

fn resume_args<'a>(cluster: &'a Cluster, run: &'a Path, extra: &[&'a str]) -> Vec<String> {
    let node_address = format!("ws://127.0.0.1:{}", free_port());
    let mut args: Vec<String> = [
        "train",
        "--resume",
        run.to_str().expect("utf-8"),
        "--nodes",
        "2",
        "--node-rank",
        "0",
        "--orchestrator",
        &cluster.address,
        "--node-address",
        &node_address,
        "--headless",
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect();
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args
}
