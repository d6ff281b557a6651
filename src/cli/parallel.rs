//! `fer train --devices/--nodes`: the devices of this process and where it stands
//! among the others.

use std::time::Duration;

use anyhow::Result;

use super::args::ParallelArgs;
use super::UserError;
use fer::device::{self, Device};
use fer::train::parallel::{NodeTopology, TimeoutHook, Topology};

/// The devices to train on (`--devices`, else `device`), and the topology when there
/// is more than one replica in the run.
pub fn devices_and_topology(
    args: &ParallelArgs,
    device: &str,
) -> Result<(Vec<Device>, Option<Topology>)> {
    let names: Vec<&str> = match args.devices.is_empty() {
        true => vec![device],
        false => args.devices.iter().map(String::as_str).collect(),
    };
    let devices = names
        .iter()
        .map(|name| Ok(device::resolve(name.parse()?)?))
        .collect::<Result<Vec<Device>>>()?;
    let nodes = match (
        args.nodes,
        args.node_rank,
        &args.orchestrator,
        &args.node_address,
    ) {
        (Some(nodes), Some(rank), Some(orchestrator), Some(address)) => Some(NodeTopology {
            nodes,
            rank,
            orchestrator: orchestrator.clone(),
            address: address.clone(),
        }),
        (None, ..) => None,
        _ => {
            return Err(UserError(
                "--nodes needs --node-rank, --orchestrator and --node-address".into(),
            )
            .into())
        }
    };
    if nodes.is_some() {
        quiet_collective_logs();
    }
    let topology = Topology {
        local_devices: devices.len(),
        nodes,
        timeout: Duration::from_secs(args.collective_timeout),
    };
    Ok((devices, topology.is_parallel().then_some(topology)))
}

/// A lost replica ends the process: the dashboard's terminal is given back first,
/// then the reason is printed (the run's log already has it).
pub fn exit_on_lost_replica() -> TimeoutHook {
    std::sync::Arc::new(|message: &str| {
        fer::tui::terminal::restore_terminal();
        super::say_error(format!("error: {message}"));
        std::process::exit(1);
    })
}

/// Warnings and errors of burn-communication on stderr, not its per-transfer INFO
/// lines on stdout (it installs those itself when no subscriber exists).
fn quiet_collective_logs() {
    use std::io::IsTerminal;
    use tracing_subscriber::filter::LevelFilter;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_filter(LevelFilter::WARN);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}
