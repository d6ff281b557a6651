//! The control channel of a live run, all inside its run directory:
//!
//! - `engine.pid`: the PID of the process training the run; written when the run
//!   starts, removed when it ends cleanly.
//! - `control/`: a mailbox. Each command is one JSON file `<nanos>-<pid>.json`
//!   (the `Command` as in `events.jsonl`), written under a dot-name first and
//!   renamed in, so the listener never reads half a file. The listener reads,
//!   deletes and forwards them in name order (the nanos are zero-padded).
//! - `events.jsonl`: the answers, `CommandApplied` or `CommandRejected`.
//!
//! `send_and_wait` is the client side (`fer ctl`, `fer watch --control`);
//! `ControlListener` the server side, on its own thread, so a paused engine
//! (blocked on its command channel) still hears `resume`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::dir::{write_atomic, RunDir};
use super::error::RunError;
use super::events::{Command, Event};
use super::tail::EventTail;

pub const PID_FILE: &str = "engine.pid";
pub const CONTROL_DIR: &str = "control";
/// How often the listener looks into `control/` and a client into `events.jsonl`.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

impl RunDir {
    /// `engine.pid`: which process trains this run right now.
    pub fn pid_path(&self) -> PathBuf {
        self.path().join(PID_FILE)
    }

    /// `control/`: command files waiting for the engine.
    pub fn control_dir(&self) -> PathBuf {
        self.path().join(CONTROL_DIR)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no live run in {run}: {why}")]
    NotLive { run: PathBuf, why: String },
    #[error("{run}: no answer to `{command}` within {seconds} s (is the run stuck?)")]
    NoAnswer {
        run: PathBuf,
        command: String,
        seconds: f64,
    },
    #[error("{run}: `{command}` was rejected: {reason}")]
    Rejected {
        run: PathBuf,
        command: String,
        reason: String,
    },
    #[error("{run}: the run ended before it applied `{command}`")]
    Ended { run: PathBuf, command: String },
    #[error(transparent)]
    Run(#[from] RunError),
}

impl ControlError {
    /// A run that is not there, not answering or refusing is the user's to fix.
    pub fn is_user_error(&self) -> bool {
        match self {
            ControlError::Run(error) => error.is_user_error(),
            _ => true,
        }
    }
}

/// The PID of the live process training `run`, or why there is none.
pub fn live_engine(run: &RunDir) -> Result<u32, ControlError> {
    let not_live = |why: String| ControlError::NotLive {
        run: run.path().to_path_buf(),
        why,
    };
    let text = match std::fs::read_to_string(run.pid_path()) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_live(format!(
                "no {PID_FILE} (the run has ended, or was never started)"
            )))
        }
        Err(e) => return Err(RunError::io(&run.pid_path(), e).into()),
    };
    let pid: u32 = text.trim().parse().map_err(|_| {
        not_live(format!(
            "{PID_FILE} holds {:?}, not a process id",
            text.trim()
        ))
    })?;
    if process_alive(pid) {
        Ok(pid)
    } else {
        Err(not_live(format!(
            "process {pid} from {PID_FILE} is gone (crashed or killed?)"
        )))
    }
}

/// Whether `pid` is a running process (a zombie is not).
#[cfg(target_os = "linux")]
pub fn process_alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (name) S ...`: the state follows the last parenthesis (names may hold some).
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// Whether `pid` is a running process: `kill -0` asks without signalling.
#[cfg(all(unix, not(target_os = "linux")))]
pub fn process_alive(pid: u32) -> bool {
    std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Without a cheap check, a PID file counts as live; the answer's timeout decides.
#[cfg(not(unix))]
pub fn process_alive(_pid: u32) -> bool {
    true
}

/// Drops `command` into the run's mailbox; returns the file's path.
pub fn post_command(run: &RunDir, command: &Command) -> Result<PathBuf, ControlError> {
    let dir = run.control_dir();
    std::fs::create_dir_all(&dir).map_err(|e| RunError::io(&dir, e))?;
    let name = format!("{:020}-{}.json", unique_nanos(), std::process::id());
    let json = serde_json::to_vec(command).map_err(RunError::Json)?;
    let hidden = dir.join(format!(".{name}"));
    write_atomic(&hidden, &json)?;
    let path = dir.join(name);
    std::fs::rename(&hidden, &path).map_err(|e| RunError::io(&path, e))?;
    Ok(path)
}

/// Nanoseconds since the epoch, strictly increasing within this process, so two
/// commands posted in one tick neither share a file name nor swap places.
fn unique_nanos() -> u128 {
    static LAST: Mutex<u128> = Mutex::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    *last = now.max(*last + 1);
    *last
}

/// A command file read from the mailbox (already deleted).
#[derive(Debug, PartialEq)]
pub enum Posted {
    Command(Command),
    /// Not a command: the file's name and what is wrong with it.
    Invalid {
        file: String,
        problem: String,
    },
}

/// Reads and deletes every command file, oldest first. Files still being written
/// (dot-names) are left alone.
pub fn take_commands(run: &RunDir) -> Result<Vec<Posted>, RunError> {
    let dir = run.control_dir();
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(RunError::io(&dir, e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json") && !name.starts_with('.'))
        .collect();
    names.sort();
    let mut posted = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        let Ok(bytes) = std::fs::read(&path) else {
            continue; // taken by someone else in between
        };
        std::fs::remove_file(&path).map_err(|e| RunError::io(&path, e))?;
        posted.push(match serde_json::from_slice(&bytes) {
            Ok(command) => Posted::Command(command),
            Err(e) => Posted::Invalid {
                file: name,
                problem: e.to_string(),
            },
        });
    }
    Ok(posted)
}

/// Sends `command` to the live run and waits for its answer in `events.jsonl`:
/// the matching `CommandApplied` (returned), or `CommandRejected`, the end of the
/// run, the death of its process or the timeout (errors). Never waits longer
/// than `timeout` plus one poll.
pub fn send_and_wait(
    run: &RunDir,
    command: &Command,
    timeout: Duration,
) -> Result<Event, ControlError> {
    let pid = live_engine(run)?;
    let mut tail =
        EventTail::from_offset(&run.events_path(), EventTail::file_len(&run.events_path()));
    let posted = post_command(run, command)?;
    let started = Instant::now();
    let outcome = wait_for_answer(run, command, pid, &mut tail, started, timeout);
    if outcome.is_err() {
        // Unread, it would reach whichever process trains this run next.
        let _ = std::fs::remove_file(&posted);
    }
    outcome
}

fn wait_for_answer(
    run: &RunDir,
    command: &Command,
    pid: u32,
    tail: &mut EventTail,
    started: Instant,
    timeout: Duration,
) -> Result<Event, ControlError> {
    let path = || run.path().to_path_buf();
    loop {
        // Look at the process before reading, so an answer written just before it
        // exited is still read.
        let alive = process_alive(pid);
        for event in tail.read_new()? {
            match event {
                Event::CommandApplied {
                    command: ref applied,
                } if applied == command => return Ok(event),
                Event::CommandRejected {
                    command: rejected,
                    reason,
                } if rejected == *command => {
                    return Err(ControlError::Rejected {
                        run: path(),
                        command: command.to_string(),
                        reason,
                    })
                }
                _ => {}
            }
        }
        if !alive {
            return Err(ControlError::Ended {
                run: path(),
                command: command.to_string(),
            });
        }
        if started.elapsed() >= timeout {
            let seconds = timeout.as_secs_f64();
            return Err(ControlError::NoAnswer {
                run: path(),
                command: command.to_string(),
                seconds,
            });
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// The server side for one run: writes `engine.pid`, forwards command files into
/// the engine's channel, and on drop stops and removes `engine.pid`.
pub struct ControlListener {
    pid_path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ControlListener {
    /// Starts listening for `run`. Command files left from an earlier process are
    /// discarded (their sender has given up on them); bad files are reported
    /// through `notices` as warnings.
    pub fn start(
        run: &RunDir,
        commands: Sender<Command>,
        notices: Sender<Event>,
    ) -> Result<Self, RunError> {
        let dir = run.control_dir();
        std::fs::create_dir_all(&dir).map_err(|e| RunError::io(&dir, e))?;
        let stale = take_commands(run)?.len();
        if stale > 0 {
            let message = format!(
                "discarded {stale} command file(s) left in {} by an earlier process",
                dir.display()
            );
            let _ = notices.send(Event::Warning { message });
        }
        let pid_path = run.pid_path();
        write_atomic(&pid_path, format!("{}\n", std::process::id()).as_bytes())?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (run, stop) = (run.clone(), stop.clone());
            thread::Builder::new()
                .name("fer-control".into())
                .spawn(move || listen(&run, &commands, &notices, &stop))
                .map_err(|e| RunError::io(&dir, e))?
        };
        Ok(Self {
            pid_path,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for ControlListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        let _ = std::fs::remove_file(&self.pid_path);
    }
}

fn listen(run: &RunDir, commands: &Sender<Command>, notices: &Sender<Event>, stop: &AtomicBool) {
    let mut failing = false;
    while !stop.load(Ordering::SeqCst) {
        match take_commands(run) {
            Ok(posted) => {
                failing = false;
                for item in posted {
                    let sent = match item {
                        Posted::Command(command) => commands.send(command).is_ok(),
                        Posted::Invalid { file, problem } => {
                            let message = format!(
                                "{CONTROL_DIR}/{file} is not a command ({problem}); deleted it"
                            );
                            notices.send(Event::Warning { message }).is_ok()
                        }
                    };
                    if !sent {
                        return;
                    }
                }
            }
            // Said once, not ten times a second.
            Err(error) if !failing => {
                failing = true;
                let _ = notices.send(Event::Warning {
                    message: format!("control channel: {error}"),
                });
            }
            Err(_) => {}
        }
        thread::sleep(POLL_INTERVAL);
    }
}

#[cfg(test)]
#[path = "control_tests.rs"]
mod tests;
