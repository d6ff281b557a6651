//! Study files: a named list of runs sharing a base configuration, e.g.
//! `experiments/seed-study.ron`. `fer study FILE` queues them and runs them.

use std::path::Path;

use serde::Deserialize;

use super::overrides::{ron_options, ConfigOverrides};
use super::RunError;

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Study {
    /// Names the study's entries in `queue.ron` (a study that is already queued
    /// continues rather than starting again) and titles its report.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Settings every run starts from.
    #[serde(default)]
    pub base: ConfigOverrides,
    /// Each run's own settings (at least a model), over the base.
    pub runs: Vec<ConfigOverrides>,
}

impl Study {
    pub fn load(path: &Path) -> Result<Self, RunError> {
        let text = std::fs::read_to_string(path).map_err(|e| RunError::io(path, e))?;
        let study: Study = ron_options()
            .from_str(&text)
            .map_err(|e| RunError::bad_file(path, e))?;
        if study.runs.is_empty() {
            return Err(RunError::bad_file(path, "the study lists no runs"));
        }
        if study.name.trim().is_empty() {
            return Err(RunError::bad_file(path, "the study needs a name"));
        }
        Ok(study)
    }

    /// Each run's settings: `top` (the command line) over the run's over the base.
    pub fn run_settings(&self, top: &ConfigOverrides) -> Vec<ConfigOverrides> {
        self.runs
            .iter()
            .map(|run| top.over(&run.over(&self.base)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_inherit_the_base_and_the_command_line_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("study.ron");
        std::fs::write(
            &path,
            r#"Study(
                name: "depth",
                base: (epochs: 30, lr: 0.1, schedule: "cosine"),
                runs: [(model: "resnet20"), (model: "resnet32", lr: 0.05)],
            )"#,
        )
        .unwrap();
        let study = Study::load(&path).unwrap();
        let top = ConfigOverrides {
            minutes: Some(20.0),
            ..ConfigOverrides::default()
        };
        let runs = study.run_settings(&top);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].lr, Some(0.1));
        assert_eq!(runs[1].lr, Some(0.05));
        assert_eq!(runs[1].epochs, Some(30));
        assert!(runs.iter().all(|run| run.minutes == Some(20.0)));
    }

    #[test]
    fn mistakes_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.ron");
        std::fs::write(&path, r#"Study(name: "x", runs: [(modle: "resnet20")])"#).unwrap();
        let error = Study::load(&path).unwrap_err().to_string();
        assert!(
            error.contains("bad.ron") && error.contains("modle"),
            "{error}"
        );
        std::fs::write(&path, r#"Study(name: "x", runs: [])"#).unwrap();
        let error = Study::load(&path).unwrap_err().to_string();
        assert!(error.contains("no runs"), "{error}");
    }
}
