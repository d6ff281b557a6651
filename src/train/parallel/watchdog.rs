//! burn-collective waits for every peer without a limit: a node that is gone leaves
//! the others blocked in the call for ever. Every collective call goes through a
//! [`Watch`]; a thread sees a call that has waited longer than the timeout (or a
//! replica that failed) and hands the reason to the [`TimeoutHook`], which ends the
//! process: the blocked call cannot be unwound.

use std::sync::{Arc, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use super::collective::RESTART;

/// What ends a run whose replicas cannot go on: called once, from the watchdog's
/// thread, with the whole message. The CLI's restores the terminal and exits.
pub type TimeoutHook = Arc<dyn Fn(&str) + Send + Sync>;

#[derive(Default)]
struct Waits {
    /// Per replica: since when, and in what, it waits for the others.
    waiting: Vec<Option<(Instant, &'static str)>>,
    /// A replica's own error, which leaves the others waiting for it.
    failed: Option<String>,
    disarmed: bool,
}

/// Shared by the replicas of one process; dropping every clone stops the watchdog.
#[derive(Clone)]
pub struct Watch {
    waits: Arc<Mutex<Waits>>,
}

impl Watch {
    /// Starts the watchdog thread for `replicas` replicas.
    pub fn start(replicas: usize, timeout: Duration, hook: TimeoutHook) -> Self {
        let waits = Arc::new(Mutex::new(Waits {
            waiting: vec![None; replicas],
            ..Waits::default()
        }));
        let watched = Arc::downgrade(&waits);
        // Without a thread the run trains unwatched: a lost node would then hang it,
        // which is what the watchdog is for, but not a reason to refuse the run.
        let _ = thread::Builder::new()
            .name("fer-collective-watchdog".into())
            .spawn(move || watch(watched, timeout, hook));
        Self { waits }
    }

    /// Runs the collective call `call` of replica `replica`, watched.
    pub fn wait<T>(&self, replica: usize, what: &'static str, call: impl FnOnce() -> T) -> T {
        self.set(replica, Some((Instant::now(), what)));
        let result = call();
        self.set(replica, None);
        result
    }

    /// A replica failed on its own: the others would wait for it until the timeout.
    pub fn fail(&self, message: String) {
        if let Ok(mut waits) = self.waits.lock() {
            waits.failed.get_or_insert(message);
        }
    }

    /// The run ends without the replicas (an error elsewhere): what they wait for
    /// will not come, and that is not the message to leave.
    pub fn disarm(&self) {
        if let Ok(mut waits) = self.waits.lock() {
            waits.disarmed = true;
        }
    }

    fn set(&self, replica: usize, value: Option<(Instant, &'static str)>) {
        if let Ok(mut waits) = self.waits.lock() {
            if let Some(slot) = waits.waiting.get_mut(replica) {
                *slot = value;
            }
        }
    }
}

fn watch(waits: Weak<Mutex<Waits>>, timeout: Duration, hook: TimeoutHook) {
    let tick = (timeout / 10).clamp(Duration::from_millis(50), Duration::from_secs(1));
    loop {
        thread::sleep(tick);
        let Some(waits) = waits.upgrade() else { return };
        let Ok(waits) = waits.lock() else { return };
        if waits.disarmed {
            return;
        }
        if let Some(message) = verdict(&waits, timeout) {
            drop(waits);
            hook(&message);
            return;
        }
    }
}

fn verdict(waits: &Waits, timeout: Duration) -> Option<String> {
    if let Some(failed) = &waits.failed {
        return Some(format!("a replica failed: {failed}"));
    }
    let (replica, (_, what)) = waits
        .waiting
        .iter()
        .enumerate()
        .filter_map(|(replica, wait)| wait.map(|wait| (replica, wait)))
        .find(|(_, (since, _))| since.elapsed() >= timeout)?;
    Some(format!(
        "replica {replica} waited {} s for the other replicas while {what} (--collective-timeout {}): a node or device was lost, or the leader was paused that long. {RESTART}",
        timeout.as_secs(),
        timeout.as_secs()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn watched(timeout: Duration) -> (Watch, mpsc::Receiver<String>) {
        let (sender, messages) = mpsc::channel();
        let sender = Mutex::new(sender);
        let hook: TimeoutHook = Arc::new(move |message: &str| {
            let _ = sender.lock().map(|s| s.send(message.to_string()));
        });
        (Watch::start(2, timeout, hook), messages)
    }

    #[test]
    fn a_call_that_waits_past_the_timeout_is_named() {
        let (watch, messages) = watched(Duration::from_millis(100));
        let clone = watch.clone();
        thread::spawn(move || {
            clone.wait(1, "all-reducing a step", || {
                thread::sleep(Duration::from_secs(5))
            })
        });
        let message = messages.recv_timeout(Duration::from_secs(4)).unwrap();
        assert!(message.contains("replica 1"), "{message}");
        assert!(message.contains("all-reducing a step"), "{message}");
        assert!(message.contains("--collective-timeout"), "{message}");
    }

    #[test]
    fn calls_that_return_in_time_and_a_disarmed_watch_say_nothing() {
        let (watch, messages) = watched(Duration::from_millis(200));
        for _ in 0..5 {
            watch.wait(0, "a quick call", || {
                thread::sleep(Duration::from_millis(20))
            });
        }
        assert!(messages.recv_timeout(Duration::from_millis(500)).is_err());
        let clone = watch.clone();
        watch.disarm();
        thread::spawn(move || clone.wait(0, "waiting", || thread::sleep(Duration::from_secs(2))));
        assert!(messages.recv_timeout(Duration::from_millis(800)).is_err());
    }

    #[test]
    fn a_failed_replica_is_reported_at_once() {
        let (watch, messages) = watched(Duration::from_secs(60));
        watch.fail("out of memory on cuda:1".into());
        let message = messages.recv_timeout(Duration::from_secs(10)).unwrap();
        assert!(message.contains("out of memory on cuda:1"), "{message}");
    }
}
