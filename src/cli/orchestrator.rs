//! `fer orchestrator`: burn-collective's global orchestrator, where the nodes of a
//! multi-node run register (they then exchange tensors directly).

use std::net::TcpListener;

use anyhow::{Context, Result};

use super::args::OrchestratorArgs;
use super::UserError;

pub fn run(args: OrchestratorArgs) -> Result<()> {
    // burn-collective only logs a port it cannot take, and returns: say it here.
    TcpListener::bind(("0.0.0.0", args.port))
        .map_err(|e| UserError(format!("port {} cannot be listened on: {e}", args.port)))?;
    println!(
        "orchestrator listening on port {} (ws://THIS_HOST:{}); Ctrl-C stops it",
        args.port, args.port
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the orchestrator's runtime")?;
    runtime.block_on(burn_collective::start_global_orchestrator(args.port));
    Ok(())
}
