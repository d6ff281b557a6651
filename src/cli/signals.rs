//! Signals become engine commands, on a thread of their own:
//! - SIGUSR1: checkpoint now, keep training;
//! - SIGTERM, SIGHUP: checkpoint and stop (repeats are ignored: a hang-up often
//!   arrives twice, from the terminal multiplexer and from the kernel);
//! - Ctrl-C (SIGINT): checkpoint and stop; a second Ctrl-C quits at once.
//!
//! Unix goes through `signal-hook`, which says which signal came; elsewhere the
//! `ctrlc` crate turns Ctrl-C into the same stop.

use std::io::Write;
use std::sync::mpsc::Sender;

use fer::run::Command;

const STOP_NOTICE: &str =
    "stopping after the current step (checkpoint first); press Ctrl-C again to quit now";

/// What one more stop signal means, given the ones before it.
#[derive(Debug, Default)]
struct StopSignals {
    stop_sent: bool,
    interrupted: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Reaction {
    Stop,
    Ignore,
    QuitNow,
}

impl StopSignals {
    fn on_signal(&mut self, interrupt: bool) -> Reaction {
        if interrupt && self.interrupted {
            return Reaction::QuitNow;
        }
        self.interrupted |= interrupt;
        if std::mem::replace(&mut self.stop_sent, true) {
            Reaction::Ignore
        } else {
            Reaction::Stop
        }
    }
}

/// Sends the stop; `print_notice` when nothing else owns the screen (with the
/// dashboard up, the engine's answer shows in its log). After a hang-up stderr is
/// gone, so a failed write must not panic.
fn react(reaction: Reaction, commands: &Sender<Command>, print_notice: bool) {
    match reaction {
        Reaction::QuitNow => std::process::exit(130),
        Reaction::Ignore => {}
        Reaction::Stop => {
            let _ = commands.send(Command::Stop);
            if print_notice {
                let _ = writeln!(std::io::stderr(), "{STOP_NOTICE}");
            }
        }
    }
}

#[cfg(unix)]
pub fn install_stop_handler(commands: Sender<Command>, print_notice: bool) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut state = StopSignals::default();
    listen(&[SIGINT, SIGTERM, SIGHUP], "stop", move |signal| {
        react(state.on_signal(signal == SIGINT), &commands, print_notice);
        true
    });
}

#[cfg(not(unix))]
pub fn install_stop_handler(commands: Sender<Command>, print_notice: bool) {
    let mut state = StopSignals::default();
    let result = ctrlc::set_handler(move || {
        react(state.on_signal(true), &commands, print_notice);
    });
    if let Err(error) = result {
        eprintln!("warning: Ctrl-C will not checkpoint: {error}");
    }
}

/// SIGUSR1: a checkpoint now, applied between two steps like the `c` key.
/// Installed before the run's `engine.pid` appears: SIGUSR1's default is to end
/// the process.
#[cfg(unix)]
pub fn install_checkpoint_handler(commands: Sender<Command>) {
    use signal_hook::consts::SIGUSR1;
    listen(&[SIGUSR1], "checkpoint", move |_| {
        commands.send(Command::CheckpointNow).is_ok()
    });
}

#[cfg(not(unix))]
pub fn install_checkpoint_handler(_commands: Sender<Command>) {}

/// Calls `handle` with each of `signals` as it arrives, on a thread, until `handle`
/// returns false; `purpose` names what is lost if the handler cannot be installed.
#[cfg(unix)]
fn listen(signals: &[i32], purpose: &str, mut handle: impl FnMut(i32) -> bool + Send + 'static) {
    use signal_hook::iterator::Signals;
    let mut incoming = match Signals::new(signals) {
        Ok(incoming) => incoming,
        Err(error) => {
            eprintln!("warning: signals will not {purpose}: {error}");
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name(format!("fer-signals-{purpose}"))
        .spawn(move || {
            for signal in incoming.forever() {
                if !handle(signal) {
                    return;
                }
            }
        });
    if let Err(error) = spawned {
        eprintln!("warning: signals will not {purpose}: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hang_up_twice_stops_once_and_never_quits() {
        let mut state = StopSignals::default();
        assert_eq!(state.on_signal(false), Reaction::Stop);
        assert_eq!(state.on_signal(false), Reaction::Ignore);
        assert_eq!(state.on_signal(false), Reaction::Ignore);
    }

    #[test]
    fn a_second_ctrl_c_quits_at_once() {
        let mut state = StopSignals::default();
        assert_eq!(state.on_signal(true), Reaction::Stop);
        assert_eq!(state.on_signal(true), Reaction::QuitNow);
    }

    #[test]
    fn ctrl_c_after_a_termination_request_stops_once_then_quits() {
        let mut state = StopSignals::default();
        assert_eq!(state.on_signal(false), Reaction::Stop);
        assert_eq!(state.on_signal(true), Reaction::Ignore);
        assert_eq!(state.on_signal(true), Reaction::QuitNow);
    }
}
