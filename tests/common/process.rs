//! Driving the real binary: a `fer` child whose output lines arrive on a channel
//! (and which is killed if the test fails before it ends), `fer ctl`, small data
//! and a quick configuration for live runs.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use fer::data::Split;
use fer::run::{Event, RunDir};
use fer::train::{TrainConfig, Tta};

pub const FER: &str = env!("CARGO_BIN_EXE_fer");

/// A running `fer`; its stdout and stderr lines are collected as they come.
pub struct Fer {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    status: Option<ExitStatus>,
}

impl Fer {
    pub fn spawn(args: &[&str]) -> Self {
        let mut child = Command::new(FER)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the fer binary starts");
        let (sender, lines) = mpsc::channel();
        forward_lines(child.stdout.take().expect("stdout"), sender.clone(), "");
        forward_lines(child.stderr.take().expect("stderr"), sender, "stderr: ");
        Self {
            child,
            lines,
            seen: Vec::new(),
            status: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything printed so far.
    pub fn output(&mut self) -> String {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen.join("\n")
    }

    /// Waits for a line containing `needle`; panics with the output after `timeout`.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        if let Some(line) = self.seen.iter().find(|line| line.contains(needle)) {
            return line.clone();
        }
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line with {needle:?} within {timeout:?}; output so far:\n{}",
            self.output()
        )
    }

    /// Waits for the process to end; panics (and kills it) after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                self.status = Some(status);
                // Let the reader threads deliver the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if Instant::now() > deadline {
                panic!(
                    "fer did not exit within {timeout:?}; output so far:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Sends a signal by name (`USR1`, `TERM`) with the `kill` utility.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} {}", self.pid());
    }
}

impl Drop for Fer {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn forward_lines(stream: impl Read + Send + 'static, lines: Sender<String>, prefix: &'static str) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if lines.send(format!("{prefix}{line}")).is_err() {
                return;
            }
        }
    });
}

/// Runs `fer` to completion (a short command such as `fer ctl`).
pub fn fer(args: &[&str]) -> Output {
    Command::new(FER)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the fer binary runs")
}

/// `fer ctl RUN <args...>`.
pub fn ctl(run: &Path, args: &[&str]) -> Output {
    let run = run.to_str().expect("utf-8 path");
    fer(&[&["ctl", run], args].concat())
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Polls `check` every 50 ms; panics with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The events recorded so far in a run directory.
/// The run's events, after checking that they end with a stopped run.
pub fn stopped_run_events(run: &Path) -> Vec<Event> {
    let recorded = events(run);
    assert!(
        matches!(
            recorded.last(),
            Some(Event::RunFinished { stopped: true, .. })
        ),
        "{recorded:?}"
    );
    recorded
}

pub fn events(run: &Path) -> Vec<Event> {
    RunDir::open(run)
        .and_then(|run| run.read_events())
        .unwrap_or_default()
}

/// The run directories under `runs`, oldest first.
pub fn run_dirs(runs: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(runs)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// The first run directory under `runs` whose engine is listening (its `engine.pid`
/// is there). A command sent now is applied before the run's first step, so pausing
/// here cannot lose a race against a run that trains faster than a line is printed.
pub fn wait_for_live_run(runs: &Path, timeout: Duration) -> PathBuf {
    let live = || {
        run_dirs(runs)
            .into_iter()
            .find(|run| run.join("engine.pid").is_file())
    };
    wait_until("a run's engine.pid", timeout, || live().is_some());
    live().expect("a live run")
}

/// A Kaggle-format CSV of real faces from the bundled sample.
pub fn write_small_csv(dir: &Path, train: usize, val: usize, test: usize) -> PathBuf {
    let sample = fer::data::bundled_sample().expect("the bundled sample loads");
    let mut text = String::from("emotion,pixels,Usage\n");
    let mut add = |split: &Split, range: std::ops::Range<usize>, usage: &str| {
        for index in range {
            let index = index % split.len();
            let pixels: Vec<String> = split.image(index).iter().map(|p| p.to_string()).collect();
            text.push_str(&format!(
                "{},{},{usage}\n",
                split.labels[index],
                pixels.join(" ")
            ));
        }
    };
    add(&sample.train, 0..train, "Training");
    add(&sample.val, 0..val, "PublicTest");
    add(&sample.val, val..val + test, "PrivateTest");
    let path = dir.join("small.csv");
    std::fs::write(&path, text).expect("write the CSV");
    path
}

/// A `config.ron` for live tests: resnet8 on `data`, batches of 32, no TTA and a
/// progress line every 0.3 s (so a test sees one soon after the start).
pub fn write_quick_config(dir: &Path, data: &Path) -> PathBuf {
    let config = TrainConfig {
        model: "resnet8".into(),
        data: Some(data.to_path_buf()),
        batch_size: 32,
        eval_batch_size: 64,
        tta: Tta::None,
        progress_interval_s: 0.3,
        ..TrainConfig::default()
    };
    let path = dir.join("quick.ron");
    let text = ron::ser::to_string_pretty(&config, ron::ser::PrettyConfig::default()).expect("ron");
    std::fs::write(&path, text).expect("write the config");
    path
}

/// `fer train` headless with the quick config, in `runs`.
pub fn spawn_quick_training(config: &Path, runs: &Path, epochs: usize) -> Fer {
    let epochs = epochs.to_string();
    Fer::spawn(&[
        "train",
        "--config",
        config.to_str().expect("utf-8 path"),
        "--epochs",
        &epochs,
        "--runs-dir",
        runs.to_str().expect("utf-8 path"),
        "--headless",
    ])
}

/// `fer train --headless` of resnet8 for one epoch (batches of 32, no TTA) on a small
/// CSV of `train` sample faces (32 validation, 16 test) written into `dir`; the run's
/// directory (under `dir/runs`) comes back.
pub fn train_small_run(dir: &Path, train: usize) -> PathBuf {
    let csv = write_small_csv(dir, train, 32, 16);
    let runs = dir.join("runs");
    let output = fer(&[
        "train",
        "--epochs",
        "1",
        "--data",
        csv.to_str().unwrap_or_default(),
        "--model",
        "resnet8",
        "--batch-size",
        "32",
        "--tta",
        "none",
        "--runs-dir",
        runs.to_str().unwrap_or_default(),
        "--headless",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    run_dirs(&runs).pop().expect("a run directory")
}
