//! `fer ctl RUN <command>`: steer a live run through its control channel and wait
//! for the answer in its `events.jsonl`.

use std::time::Duration;

use anyhow::Result;

use super::args::{CtlAction, CtlArgs};
use super::UserError;
use fer::run::control::send_and_wait;
use fer::run::schedule::{ScheduleConfig, ScheduleName};
use fer::run::{Command, Event, RunDir};

pub fn run(args: CtlArgs) -> Result<()> {
    let run = RunDir::open(&args.run)?;
    let command = match &args.action {
        CtlAction::Schedule { name, settings } if !settings.is_empty() => {
            let current = current_settings(&run)?;
            schedule_with(*name, current, settings)?
        }
        action => command_for(action)?,
    };
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
        CtlAction::Schedule { name, .. } => Command::SetSchedule {
            name: *name,
            settings: None,
        },
        CtlAction::Lr { value } if value.is_finite() && *value > 0.0 => {
            Command::SetLr { lr: *value }
        }
        CtlAction::Lr { value } => {
            return Err(UserError(format!(
                "the LR must be a finite number > 0, not {value}"
            )))
        }
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

/// The run's schedule settings as its latest plan announced them.
fn current_settings(run: &RunDir) -> Result<ScheduleConfig> {
    let settings = run
        .read_events()?
        .into_iter()
        .rev()
        .find_map(|event| match event {
            Event::SchedulePlan { settings, .. } => settings,
            _ => None,
        });
    settings.ok_or_else(|| {
        UserError(format!(
            "{} has not announced its schedule settings yet (or was started by an older fer): switch without --set",
            run.path().display()
        ))
        .into()
    })
}

/// `--set key=value` pairs written over `current`, checked here.
fn schedule_with(
    name: ScheduleName,
    current: ScheduleConfig,
    pairs: &[String],
) -> Result<Command, UserError> {
    let mut settings = ScheduleConfig { name, ..current };
    for pair in pairs {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            UserError(format!(
                "--set takes KEY=VALUE (like min_lr=1e-4), not `{pair}`"
            ))
        })?;
        let known = name.settings();
        let setting = known
            .iter()
            .find(|setting| setting.key() == key.trim())
            .ok_or_else(|| {
                let keys: Vec<&str> = known.iter().map(|setting| setting.key()).collect();
                UserError(match keys.is_empty() {
                    true => format!("the {} schedule has no settings", command_name(name)),
                    false => format!(
                        "{} has no setting `{key}`; it has: {}",
                        command_name(name),
                        keys.join(", ")
                    ),
                })
            })?;
        let value: f64 = value
            .trim()
            .parse()
            .map_err(|_| UserError(format!("--set {pair}: `{value}` is not a number")))?;
        settings
            .set(*setting, value)
            .map_err(|error| UserError(error.to_string()))?;
    }
    Ok(Command::SetSchedule {
        name,
        settings: Some(settings),
    })
}

fn command_name(name: ScheduleName) -> String {
    clap::ValueEnum::to_possible_value(&name)
        .map(|value| value.get_name().to_string())
        .unwrap_or_default()
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
        assert_eq!(
            command_for(&CtlAction::Lr { value: 0.02 }).unwrap(),
            Command::SetLr { lr: 0.02 }
        );
        assert!(command_for(&CtlAction::Lr { value: 0.0 }).is_err());
        assert!(command_for(&CtlAction::Lr { value: f64::NAN }).is_err());
    }

    #[test]
    fn schedule_settings_are_named_checked_and_kept_otherwise() {
        let current = ScheduleConfig {
            min_lr: 1e-3,
            gamma: 0.5,
            ..ScheduleConfig::default()
        };
        let command = schedule_with(
            ScheduleName::Step,
            current.clone(),
            &["step_epochs=3".to_string()],
        )
        .unwrap();
        let Command::SetSchedule {
            settings: Some(settings),
            ..
        } = command
        else {
            panic!("{command:?}");
        };
        assert_eq!((settings.step_epochs, settings.gamma), (3, 0.5));
        assert_eq!(settings.name, ScheduleName::Step);
        let unknown = schedule_with(ScheduleName::Cosine, current.clone(), &["gamma=2".into()]);
        assert!(unknown.unwrap_err().0.contains("min_lr"));
        let invalid = schedule_with(ScheduleName::Cosine, current.clone(), &["min_lr=-1".into()]);
        assert!(invalid.unwrap_err().0.contains("min_lr"));
        assert!(schedule_with(ScheduleName::Cosine, current, &["min_lr".into()]).is_err());
    }
}
