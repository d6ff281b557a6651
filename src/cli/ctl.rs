//! `fer ctl RUN <command>`: steer a live run through its control channel and wait
//! for the answer in its `events.jsonl`.

use std::time::Duration;

use anyhow::Result;

use super::args::{CtlAction, CtlArgs};
use super::UserError;
use fer::run::control::send_and_wait;
use fer::run::{Command, RunDir};

pub fn run(args: CtlArgs) -> Result<()> {
    let run = RunDir::open(&args.run)?;
    let command = command_for(&args.action)?;
    let timeout = timeout(args.timeout)?;
    send_and_wait(&run, &command, timeout)?;
    println!("{}: applied `{command}`", run.path().display());
    Ok(())
}

/// The engine command for an action, checked as far as it can be here.
fn command_for(action: &CtlAction) -> Result<Command, UserError> {
    Ok(match action {
        CtlAction::Pause => Command::Pause,
        CtlAction::Resume => Command::Resume,
        CtlAction::Checkpoint => Command::CheckpointNow,
        CtlAction::Schedule { name } => Command::SetSchedule { name: *name },
        CtlAction::Queue { model } => Command::QueueModel {
            model: fer::model::canonical_name(model)
                .map_err(|e| UserError(e.to_string()))?
                .to_string(),
        },
        CtlAction::Unqueue { position } => match position.checked_sub(1) {
            Some(index) => Command::RemoveQueued { index },
            None => {
                return Err(UserError(
                    "queue positions start at 1 (as the queue pane shows them)".into(),
                ))
            }
        },
        CtlAction::Stop => Command::Stop,
    })
}

fn timeout(seconds: f64) -> Result<Duration, UserError> {
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|timeout| !timeout.is_zero())
        .ok_or_else(|| {
            UserError(format!(
                "--timeout must be a positive number of seconds, not {seconds}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_map_to_commands_and_bad_input_is_refused_here() {
        let queue = CtlAction::Queue {
            model: "ResNet8".into(),
        };
        assert_eq!(
            command_for(&queue).unwrap(),
            Command::QueueModel {
                model: "resnet8".into()
            }
        );
        let unknown = CtlAction::Queue {
            model: "resnet9000".into(),
        };
        assert!(command_for(&unknown).unwrap_err().0.contains("resnet18"));
        assert_eq!(
            command_for(&CtlAction::Unqueue { position: 2 }).unwrap(),
            Command::RemoveQueued { index: 1 }
        );
        assert!(command_for(&CtlAction::Unqueue { position: 0 }).is_err());
        assert!(timeout(0.0).is_err() && timeout(-1.0).is_err() && timeout(f64::NAN).is_err());
        assert_eq!(timeout(1.5).unwrap(), Duration::from_millis(1500));
    }
}
