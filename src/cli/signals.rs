//! Signals become engine commands. Ctrl-C, SIGTERM and SIGHUP go through the
//! `ctrlc` crate (its `termination` feature covers all three): checkpoint and stop.
//! SIGUSR1 goes through `signal-hook`: checkpoint now, keep training.

use std::sync::mpsc::Sender;

use fer::run::Command;

/// The first Ctrl-C / SIGTERM asks the engine to checkpoint and stop; a second one
/// quits at once. `print_notice` when nothing else owns the screen (with the
/// dashboard up the engine's answer shows in its log).
pub fn install_stop_handler(commands: Sender<Command>, print_notice: bool) {
    let mut asked = false;
    let result = ctrlc::set_handler(move || {
        if asked {
            std::process::exit(130);
        }
        asked = true;
        if print_notice {
            eprintln!("stopping after the current step (checkpoint first); press Ctrl-C again to quit now");
        }
        let _ = commands.send(Command::Stop);
    });
    if let Err(error) = result {
        eprintln!("warning: Ctrl-C and SIGTERM will not checkpoint: {error}");
    }
}

/// SIGUSR1: a checkpoint now, applied between two steps like the `c` key.
/// Installed before the run's `engine.pid` appears: SIGUSR1's default is to end
/// the process.
#[cfg(unix)]
pub fn install_checkpoint_handler(commands: Sender<Command>) {
    use signal_hook::consts::SIGUSR1;
    use signal_hook::iterator::Signals;

    let mut signals = match Signals::new([SIGUSR1]) {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("warning: SIGUSR1 will not checkpoint: {error}");
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("fer-signals".into())
        .spawn(move || {
            for _ in signals.forever() {
                if commands.send(Command::CheckpointNow).is_err() {
                    return;
                }
            }
        });
    if let Err(error) = spawned {
        eprintln!("warning: SIGUSR1 will not checkpoint: {error}");
    }
}

#[cfg(not(unix))]
pub fn install_checkpoint_handler(_commands: Sender<Command>) {}
