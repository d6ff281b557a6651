//! `fer queue run --workers D1,D2,...`: one child `fer queue run --device D
//! --headless` per device, all sharing the queue (how they never take the same
//! entry is `super::queue`'s business). This process only relays: the children's
//! lines, each prefixed with the worker that said it, and the stop signals, so
//! that one Ctrl-C stops every worker as it stops a lone one (checkpoint first;
//! a second one quits at once).

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use anyhow::{Context, Result};

use super::{say, say_error, UserError};

/// How often the children are checked for having ended.
const POLL: Duration = Duration::from_millis(100);

/// Starts a worker per device, relays until all have ended, and fails if any did.
pub fn run(devices: &[String], runs_dir: &Path, study: Option<&str>) -> Result<()> {
    let exe = std::env::current_exe().context("finding the fer executable to start workers")?;
    let workers = Arc::new(Mutex::new(Workers::default()));
    relay_stop_signals(workers.clone());
    let mut relays = Vec::new();
    for (index, device) in devices.iter().enumerate() {
        let label = format!("{} {device}", index + 1);
        let command = worker_command(&exe, device, runs_dir, study);
        match spawn(command, &label) {
            Ok((child, streams)) => {
                say(format!("worker {label}: pid {}", child.id()));
                locked(&workers).add(label, child);
                relays.extend(streams);
            }
            Err(error) => {
                // The ones already started stop too, as if Ctrl-C had been pressed.
                locked(&workers).signal(STOP);
                wait_all(&workers);
                return Err(error.context(format!("starting worker {label}")));
            }
        }
    }
    wait_all(&workers);
    for relay in relays {
        // A relay ends with its pipe; one that panicked lost only lines.
        let _ = relay.join();
    }
    let workers = locked(&workers);
    workers.outcome()
}

/// `fer queue run --device D --headless` in the same runs directory (and study).
fn worker_command(exe: &Path, device: &str, runs_dir: &Path, study: Option<&str>) -> Command {
    let mut command = Command::new(exe);
    command
        .args([
            "queue",
            "run",
            "--headless",
            "--device",
            device,
            "--runs-dir",
        ])
        .arg(runs_dir);
    if let Some(study) = study {
        command.args(["--study", study]);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    detach_from_terminal_signals(&mut command);
    command
}

/// Starts the child and the threads that relay its stdout and stderr.
fn spawn(mut command: Command, label: &str) -> Result<(Child, Vec<JoinHandle<()>>)> {
    let mut child = command.spawn().context("running fer")?;
    match relay_output(&mut child, label) {
        Ok(relays) => Ok((child, relays)),
        Err(error) => {
            // Unrelayed, it would block on a full pipe, or train unseen.
            let _ = child.kill();
            let _ = child.wait();
            Err(error)
        }
    }
}

fn relay_output(child: &mut Child, label: &str) -> Result<Vec<JoinHandle<()>>> {
    let prefix = format!("[{label}] ");
    let mut relays = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        relays.push(relay_lines(stdout, prefix.clone(), false)?);
    }
    if let Some(stderr) = child.stderr.take() {
        relays.push(relay_lines(stderr, prefix, true)?);
    }
    Ok(relays)
}

/// Copies `stream`'s lines to this process's stdout (or stderr) behind `prefix`.
/// Reads to the end whatever the lines hold, so that a child never blocks on a
/// full pipe.
fn relay_lines(
    stream: impl Read + Send + 'static,
    prefix: String,
    to_stderr: bool,
) -> Result<JoinHandle<()>> {
    let relay = move || {
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(1..)) {
            let text = String::from_utf8_lossy(&line);
            let text = format!("{prefix}{}", text.trim_end_matches(['\r', '\n']));
            if to_stderr {
                say_error(text);
            } else {
                say(text);
            }
            line.clear();
        }
    };
    thread::Builder::new()
        .name("fer-worker-relay".into())
        .spawn(relay)
        .context("starting a thread to relay a worker's output")
}

/// The children, and the stop signals seen so far (replayed to a child started
/// after them, so that none misses a Ctrl-C pressed while the others started).
#[derive(Default)]
struct Workers {
    running: Vec<Worker>,
    signals_seen: Vec<i32>,
}

struct Worker {
    label: String,
    child: Child,
    status: Option<ExitStatus>,
}

impl Workers {
    fn add(&mut self, label: String, child: Child) {
        let worker = Worker {
            label,
            child,
            status: None,
        };
        for &signal in &self.signals_seen {
            send(&worker, signal);
        }
        self.running.push(worker);
    }

    /// Sends `signal` to every child that has not been reaped: its pid cannot
    /// belong to another process yet, since reaping happens under the same lock.
    fn signal(&mut self, signal: i32) {
        self.signals_seen.push(signal);
        for worker in self.running.iter().filter(|w| w.status.is_none()) {
            send(worker, signal);
        }
    }

    /// Reaps the children that ended; true once all have.
    fn poll(&mut self) -> bool {
        for worker in self.running.iter_mut().filter(|w| w.status.is_none()) {
            match worker.child.try_wait() {
                Ok(status) => worker.status = status,
                Err(error) => {
                    say_error(format!(
                        "worker {} cannot be watched: {error}",
                        worker.label
                    ));
                    // Counted as failed; `kill` reaps it if it still runs.
                    let _ = worker.child.kill();
                    worker.status = worker.child.wait().ok();
                }
            }
        }
        self.running.iter().all(|w| w.status.is_some())
    }

    /// Ok when every worker succeeded; else which failed, and how. Exit code 2
    /// only when each failure was the user's (a bad entry or device).
    fn outcome(&self) -> Result<()> {
        let failed: Vec<(&Worker, String)> = self
            .running
            .iter()
            .filter_map(|w| failure(w.status).map(|how| (w, how)))
            .collect();
        if failed.is_empty() {
            return Ok(());
        }
        let described: Vec<String> = failed
            .iter()
            .map(|(w, how)| format!("worker {} {how}", w.label))
            .collect();
        let message = format!(
            "{} of {} workers failed ({}); the queue keeps their runs to resume",
            failed.len(),
            self.running.len(),
            described.join(", ")
        );
        let users_fault = failed
            .iter()
            .all(|(w, _)| w.status.and_then(|s| s.code()) == Some(2));
        if users_fault {
            Err(UserError(message).into())
        } else {
            Err(anyhow::anyhow!(message))
        }
    }
}

/// How a worker failed; `None` when it succeeded.
fn failure(status: Option<ExitStatus>) -> Option<String> {
    let status = match status {
        Some(status) if status.success() => return None,
        Some(status) => status,
        None => return Some("could not be waited for".into()),
    };
    if let Some(code) = status.code() {
        return Some(format!("exited with code {code}"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return Some(format!("was killed by signal {signal}"));
        }
    }
    Some(format!("ended: {status}"))
}

fn locked(workers: &Mutex<Workers>) -> MutexGuard<'_, Workers> {
    // A panic elsewhere leaves the list as it was: still worth reaping.
    workers.lock().unwrap_or_else(PoisonError::into_inner)
}

fn wait_all(workers: &Mutex<Workers>) {
    while !locked(workers).poll() {
        thread::sleep(POLL);
    }
}

#[cfg(unix)]
const STOP: i32 = libc::SIGTERM;
#[cfg(not(unix))]
const STOP: i32 = 0;

#[cfg(unix)]
fn send(worker: &Worker, signal: i32) {
    let Ok(pid) = libc::pid_t::try_from(worker.child.id()) else {
        return;
    };
    // SAFETY: kill(2) only sends a signal; `pid` is our own unreaped child.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Without Unix signals the console's Ctrl-C reaches every child by itself.
#[cfg(not(unix))]
fn send(_worker: &Worker, _signal: i32) {}

/// The children get no signal from the terminal (their own process group): each
/// stop signal reaches them once, through `relay_stop_signals`, as the terminal
/// would deliver it to a lone worker. On Linux a child also gets SIGTERM if this
/// process dies without relaying (SIGKILL): it checkpoints and stops rather than
/// training on unseen.
#[cfg(unix)]
fn detach_from_terminal_signals(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
    // Tied to the thread that spawns: the main thread, which lives until the end.
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpid only asks for this process's id.
        let parent = unsafe { libc::getpid() };
        // SAFETY: between fork and exec the closure makes only async-signal-safe
        // system calls (prctl, getppid) and allocates nothing.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect. (No message:
                // allocating after fork could deadlock on the allocator's lock.)
                if libc::getppid() != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
}

#[cfg(not(unix))]
fn detach_from_terminal_signals(_command: &mut Command) {}

/// Relays SIGINT, SIGTERM and SIGHUP to every worker; this process itself ends
/// when they have.
#[cfg(unix)]
fn relay_stop_signals(workers: Arc<Mutex<Workers>>) {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;
    let mut incoming = match Signals::new([SIGINT, SIGTERM, SIGHUP]) {
        Ok(incoming) => incoming,
        Err(error) => {
            say_error(format!(
                "warning: Ctrl-C will not reach the workers: {error}"
            ));
            return;
        }
    };
    let relay = move || {
        for signal in incoming.forever() {
            locked(&workers).signal(signal);
        }
    };
    let spawned = thread::Builder::new()
        .name("fer-signals-workers".into())
        .spawn(relay);
    if let Err(error) = spawned {
        say_error(format!(
            "warning: Ctrl-C will not reach the workers: {error}"
        ));
    }
}

/// Ctrl-C reaches every child through the console; this process outlives it to
/// wait for them.
#[cfg(not(unix))]
fn relay_stop_signals(_workers: Arc<Mutex<Workers>>) {
    if let Err(error) = ctrlc::set_handler(|| {}) {
        say_error(format!(
            "warning: Ctrl-C may end fer before its workers: {error}"
        ));
    }
}
