//! The impure edge: raw mode and the alternate screen, a panic hook that puts
//! the terminal back first, and the loop that feeds events and keys to `App`.

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Once;
use std::time::{Duration, Instant};

use crossterm::event::{self as terminal_event, Event as TerminalEvent};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use crate::run::Event;
use ratatui_image::picker::Picker;

use crate::tui::app::{Action, App};
use crate::tui::faces::{graphics_from_environment, FaceDrawing};
use crate::tui::state::LogLevel;
use crate::tui::view;

/// How long to wait for a key before looking at the event channel again.
pub(crate) const INPUT_POLL: Duration = Duration::from_millis(50);
/// At most ten frames a second.
const MIN_FRAME_INTERVAL: Duration = Duration::from_millis(100);
/// While the clock runs, redraw this often even without events (elapsed, ETA).
const CLOCK_REDRAW: Duration = Duration::from_secs(1);

/// True while the dashboard owns the terminal, so the panic hook knows to restore it.
static TERMINAL_TAKEN: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// Owns the terminal while alive; `Drop` restores it on every exit path.
pub(crate) struct TerminalGuard {
    pub(crate) terminal: Terminal<CrosstermBackend<TerminalOutput>>,
}

/// stdout for the dashboard, where writes to a terminal that hung up (EIO) are
/// dropped: ratatui's `Terminal` reports a failure to show the cursor on drop with
/// `eprintln!`, which panics when stderr is the same dead terminal, and a panic then
/// would end the process before the run's last checkpoint is written. The hang-up
/// itself is noticed on the input side ([`wait_for_input`]).
pub(crate) struct TerminalOutput(Stdout);

impl TerminalOutput {
    fn forgive_hang_up<T>(result: io::Result<T>, instead: T) -> io::Result<T> {
        match result {
            #[cfg(unix)]
            Err(error) if error.raw_os_error() == Some(libc::EIO) => Ok(instead),
            other => other,
        }
    }
}

impl Write for TerminalOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Self::forgive_hang_up(self.0.write(buf), buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Self::forgive_hang_up(self.0.flush(), ())
    }
}

impl TerminalGuard {
    pub(crate) fn enter() -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        TERMINAL_TAKEN.store(true, Ordering::SeqCst);
        // From here on, an error drops nothing that restores: do it by hand.
        let entered = execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)
            .and_then(|()| Terminal::new(CrosstermBackend::new(TerminalOutput(io::stdout()))));
        match entered {
            Ok(terminal) => Ok(Self { terminal }),
            Err(error) => {
                restore_terminal();
                Err(error)
            }
        }
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Leaves raw mode and the alternate screen; does nothing if not taken (so it is
/// safe from any thread, e.g. before a process ends on a lost replica).
pub fn restore_terminal() {
    if TERMINAL_TAKEN.swap(false, Ordering::SeqCst) {
        let _ = disable_raw_mode();
        let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
    }
}

/// Restores the terminal before the default hook prints the panic, so the
/// message lands on a normal screen.
fn install_panic_hook() {
    PANIC_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(crate::run::ENGINE_THREAD) {
                restore_terminal();
            }
            previous(info);
        }));
    });
}

/// Runs the dashboard until the user quits: folds engine events from `events`,
/// turns keys into actions passed to `on_action` (`Action::Quit` included, as
/// the last one), redraws when something changed. An action that could not be
/// carried out (`Err(why)`) becomes a warning in the log. A finished or failed
/// run stays on screen until `q`, or until the terminal hangs up (then it returns
/// after `Action::Quit`, as if `q` had been confirmed). Nothing is printed while the dashboard is up;
/// the final `App` comes back, for a summary on the normal screen.
pub fn run_dashboard(
    mut app: App,
    events: &Receiver<Event>,
    mut on_action: impl FnMut(Action) -> Result<(), String>,
) -> io::Result<App> {
    let mut guard = TerminalGuard::enter()?;
    if app.faces_need_drawing() {
        app.set_face_drawing(FaceDrawing::Picture(face_picker()));
    }
    let mut stream_open = true;
    let mut dirty = true;
    let mut last_draw: Option<Instant> = None;
    loop {
        if stream_open {
            let (received, still_open) = drain_events(&mut app, events);
            dirty |= received;
            stream_open = still_open;
        }
        let now = Instant::now();
        app.state.tick(now);
        let since_draw = last_draw.map(|at| now.duration_since(at));
        let clock_due =
            app.state.clock.is_running() && since_draw.is_none_or(|d| d >= CLOCK_REDRAW);
        if (dirty || clock_due) && since_draw.is_none_or(|d| d >= MIN_FRAME_INTERVAL) {
            app.prepare_faces();
            guard.terminal.draw(|frame| view::draw(frame, &app))?;
            last_draw = Some(now);
            dirty = false;
        }
        if wait_for_input(INPUT_POLL) == Input::HungUp {
            // An SSH link or tmux server gone: nobody can press q any more.
            let _ = on_action(Action::Quit);
            drop(guard);
            return Ok(app);
        }
        // Zero timeout: the wait above already slept, and the key (or a resize
        // signal crossterm noted meanwhile) is ready now or not at all.
        if !terminal_event::poll(Duration::ZERO)? {
            continue;
        }
        match terminal_event::read()? {
            TerminalEvent::Key(key) => {
                dirty = true;
                for action in app.handle_key(key) {
                    let quit = action == Action::Quit;
                    if let Err(why) = on_action(action) {
                        app.state.log(LogLevel::Warning, why);
                    }
                    if quit {
                        drop(guard);
                        return Ok(app);
                    }
                }
            }
            TerminalEvent::Resize(..) => {
                guard.terminal.autoresize()?;
                dirty = true;
            }
            _ => {}
        }
    }
}

/// How this terminal draws faces: `FER_GRAPHICS` when set, else graphics (kitty,
/// sixel, iTerm2) when the environment names a terminal that has them, else
/// half-blocks. The terminal is never queried: ratatui-image's query reads stdin on
/// a thread that swallowed keys and, once the terminal hung up, left the process
/// spinning (seen in tmux).
fn face_picker() -> Picker {
    let mut picker = Picker::halfblocks();
    if let Some(protocol) = graphics_from_environment(|name| std::env::var(name).ok()) {
        picker.set_protocol_type(protocol);
    }
    picker
}

/// What the keyboard side of the terminal has for us.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Input {
    Ready,
    Idle,
    HungUp,
}

/// Waits up to `timeout` for input on stdin (the tty crossterm reads when stdin is
/// one, as the dashboard requires). crossterm's own poll spins forever on a tty
/// that hung up (its read loop never leaves on end-of-file), so a hang-up has to
/// be seen here, before crossterm reads.
#[cfg(unix)]
pub(crate) fn wait_for_input(timeout: Duration) -> Input {
    let mut stdin = libc::pollfd {
        fd: libc::STDIN_FILENO,
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: one valid `pollfd`, alive for the duration of the call.
    let ready = unsafe { libc::poll(&mut stdin, 1, millis) };
    if ready > 0 && stdin.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        Input::HungUp
    } else if ready == 0 {
        Input::Idle
    } else {
        // Readable, or interrupted by a signal (a resize): let crossterm look.
        Input::Ready
    }
}

#[cfg(not(unix))]
pub(crate) fn wait_for_input(timeout: Duration) -> Input {
    match terminal_event::poll(timeout) {
        Ok(false) => Input::Idle,
        _ => Input::Ready,
    }
}

/// Folds every waiting event; returns (anything received, channel still open).
fn drain_events(app: &mut App, events: &Receiver<Event>) -> (bool, bool) {
    let mut received = false;
    loop {
        match events.try_recv() {
            Ok(event) => {
                app.apply_at(&event, Instant::now());
                received = true;
            }
            Err(TryRecvError::Empty) => return (received, true),
            Err(TryRecvError::Disconnected) => {
                app.state.stream_closed();
                return (true, false);
            }
        }
    }
}
