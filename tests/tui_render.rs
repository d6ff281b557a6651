//! The dashboard drawn into an in-memory terminal from a fixed run, compared
//! with reviewed snapshots (tests/snapshots/tui_render__*.snap).

mod tui_support;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fer::run::Event;
use fer::tui::app::ChartFocus;
use fer::tui::state::DashboardState;
use fer::tui::{view, App, Theme};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::Terminal;
use tui_support::*;

fn screen(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal.draw(|frame| view::draw(frame, app)).expect("draw");
    terminal
}

fn screen_text(app: &App, width: u16, height: u16) -> String {
    format!("{}", screen(app, width, height).backend())
}

/// A pane drawn on its own into a buffer, as plain lines.
fn pane(width: u16, height: u16, render: impl FnOnce(Rect, &mut Buffer)) -> (Buffer, String) {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    render(area, &mut buf);
    let text = buffer_lines(&buf).join("\n");
    (buf, text)
}

fn buffer_lines(buf: &Buffer) -> Vec<String> {
    let area = buf.area;
    (area.top()..area.bottom())
        .map(|y| {
            (area.left()..area.right())
                .map(|x| buf[(x, y)].symbol())
                .collect()
        })
        .collect()
}

fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn state() -> DashboardState {
    fixture_app(Theme::colour()).state
}

fn assert_ascii_only(text: &str) {
    let odd: Vec<char> = text.chars().filter(|c| !c.is_ascii()).collect();
    assert!(odd.is_empty(), "non-ASCII characters {odd:?} in:\n{text}");
}

#[test]
fn dashboard_at_120x40_shows_every_pane() {
    let text = screen_text(&fixture_app(Theme::colour()), 120, 40);
    for title in [
        "Progress",
        "Loss",
        "Accuracy",
        "LR",
        "Val recall",
        "Confusion",
        "Log",
        "Queue",
    ] {
        assert!(text.contains(title), "missing {title}");
    }
    insta::assert_snapshot!("dashboard_120x40", text);
}

#[test]
fn dashboard_at_80x24_keeps_the_essentials() {
    let text = screen_text(&fixture_app(Theme::colour()), 80, 24);
    for title in ["Progress", "Loss", "Val recall", "Confusion"] {
        assert!(text.contains(title), "missing {title}");
    }
    insta::assert_snapshot!("dashboard_80x24", text);
}

#[test]
fn ascii_dashboard_has_no_colour_and_no_unicode() {
    let app = fixture_app(Theme::ascii());
    let terminal = screen(&app, 120, 40);
    let text = format!("{}", terminal.backend());
    assert_ascii_only(&text);
    let buffer = terminal.backend().buffer();
    assert!(buffer
        .content()
        .iter()
        .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset));
    insta::assert_snapshot!("dashboard_120x40_ascii", text);
}

#[test]
fn too_small_terminal_says_so_instead_of_drawing() {
    let text = screen_text(&fixture_app(Theme::colour()), 40, 10);
    assert!(text.contains("terminal too small (need 60x16)"));
    insta::assert_snapshot!("too_small_40x10", text);
}

#[test]
fn smallest_supported_size_draws_without_panicking() {
    for (width, height) in [(60, 16), (61, 17), (99, 31), (100, 32), (200, 60)] {
        let text = screen_text(&fixture_app(Theme::ascii()), width, height);
        assert!(text.contains("Progress"), "{width}x{height}");
    }
}

#[test]
fn empty_state_draws_a_waiting_dashboard() {
    let app = App::new(Theme::colour()).with_model_names(model_names());
    let text = screen_text(&app, 120, 40);
    assert!(text.contains("waiting for the run to start"));
    assert!(text.contains("WAITING"));
}

#[test]
fn header_pane() {
    let (_, text) = pane(120, 1, |area, buf| {
        view::render_header(&state(), area, buf, &Theme::colour())
    });
    assert!(text.contains("resnet18 (11,171,271 params)") && text.contains("RUNNING"));
    insta::assert_snapshot!("pane_header", text);
}

#[test]
fn progress_pane() {
    let (_, text) = pane(100, 4, |area, buf| {
        view::render_progress(&state(), area, buf, &Theme::ascii())
    });
    assert!(
        text.contains("epoch 4/10") && text.contains("step 100/224") && text.contains("320 img/s")
    );
    assert!(
        text.contains("ETA 10m55s"),
        "six epochs and 124/224 of one at 100 s each"
    );
    insta::assert_snapshot!("pane_progress", text);
}

#[test]
fn progress_pane_splits_the_speed_over_the_replicas() {
    let mut state = state();
    state.apply(&Event::ReplicaRates {
        images_per_second: vec![161.4, 158.7],
        all_reduce_share: 0.087,
    });
    let (_, text) = pane(120, 4, |area, buf| {
        view::render_progress(&state, area, buf, &Theme::ascii())
    });
    assert!(
        text.contains("320 img/s (161+159, all-reduce 8.7%)"),
        "{text}"
    );
}

#[test]
fn chart_panes() {
    for (focus, name) in [
        (ChartFocus::Loss, "loss"),
        (ChartFocus::Accuracy, "accuracy"),
        (ChartFocus::LearningRate, "lr"),
    ] {
        let (_, text) = pane(64, 14, |area, buf| {
            view::render_chart(focus, &state(), area, buf, &Theme::colour())
        });
        insta::assert_snapshot!(format!("pane_chart_{name}"), text);
    }
}

#[test]
fn ascii_charts_use_ascii_markers() {
    let app = fixture_app(Theme::ascii());
    let (_, text) = pane(64, 14, |area, buf| view::render(&app, area, buf));
    assert_ascii_only(&text);
    let (_, loss) = pane(64, 14, |area, buf| {
        view::render_chart(ChartFocus::Loss, &app.state, area, buf, &Theme::ascii())
    });
    assert!(
        loss.contains('*') && loss.contains('o'),
        "train and val markers:\n{loss}"
    );
}

#[test]
fn per_class_pane() {
    let (_, text) = pane(66, 10, |area, buf| {
        view::render_per_class(&state(), area, buf, &Theme::ascii())
    });
    assert!(text.contains("Happy") && text.contains("895"));
    insta::assert_snapshot!("pane_per_class", text);
}

#[test]
fn confusion_pane_in_colour_marks_and_shades_the_diagonal() {
    let (buf, text) = pane(53, 10, |area, buf| {
        view::render_confusion(&state(), area, buf, &Theme::colour())
    });
    let happy_row = text
        .lines()
        .find(|line| line.contains("Happy"))
        .expect("Happy row");
    assert!(happy_row.contains("[82]"), "{happy_row}");
    let (x, y) = find(&buf, "[82]").expect("diagonal cell");
    assert!(buf[(x, y)].modifier.contains(Modifier::BOLD));
    assert_ne!(buf[(x, y)].bg, Color::Reset);
    insta::assert_snapshot!("pane_confusion_colour", text);
}

#[test]
fn confusion_pane_in_ascii_is_plain_and_readable() {
    let (buf, text) = pane(53, 10, |area, buf| {
        view::render_confusion(&state(), area, buf, &Theme::ascii())
    });
    assert_ascii_only(&text);
    assert!(buf
        .content()
        .iter()
        .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset));
    for (class, recall) in [("Angry", "[45]"), ("Disgust", "[13]"), ("Happy", "[82]")] {
        let row = text
            .lines()
            .find(|line| line.contains(class))
            .expect("class row");
        assert!(row.contains(recall), "{row}");
    }
    insta::assert_snapshot!("pane_confusion_ascii", text);
}

#[test]
fn log_and_queue_panes() {
    let (_, log) = pane(90, 8, |area, buf| {
        view::render_log(&state(), area, buf, &Theme::ascii())
    });
    assert!(log.contains("checkpoint (last) saved"));
    insta::assert_snapshot!("pane_log", log);
    let (_, queue) = pane(30, 8, |area, buf| {
        view::render_queue(&state(), area, buf, &Theme::ascii())
    });
    assert!(queue.contains("> 1. densenet-small"));
    insta::assert_snapshot!("pane_queue", queue);
}

#[test]
fn help_overlay_lists_every_key() {
    let mut app = fixture_app(Theme::colour());
    press(&mut app, KeyCode::Char('?'));
    let text = screen_text(&app, 120, 40);
    for (keys, _) in fer::tui::app::KEY_HELP {
        assert!(text.contains(keys), "help lacks {keys}");
    }
    insta::assert_snapshot!("overlay_help", text);
}

#[test]
fn a_watchers_help_says_quitting_leaves_the_run_going() {
    let mut app = fixture_app(Theme::ascii()).with_watching(true);
    press(&mut app, KeyCode::Char('?'));
    let text = screen_text(&app, 120, 40);
    assert!(text.contains(fer::tui::app::WATCHER_QUIT_HELP), "{text}");
    assert!(!text.contains("save a checkpoint and quit"), "{text}");
}

#[test]
fn schedule_picker_overlay() {
    let mut app = fixture_app(Theme::ascii());
    press(&mut app, KeyCode::Char('s'));
    press(&mut app, KeyCode::Down);
    let text = screen_text(&app, 80, 24);
    assert!(
        text.contains("> one-cycle  pct_start 0.15, div_factor 25"),
        "{text}"
    );
    assert!(text.contains("cosine     min_lr 0  (current)"), "{text}");
    insta::assert_snapshot!("overlay_schedule_picker", text);
}

#[test]
fn model_picker_overlay() {
    let mut app = fixture_app(Theme::ascii());
    press(&mut app, KeyCode::Char('n'));
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("> resnet18") && text.contains("densenet-small"));
    insta::assert_snapshot!("overlay_model_picker", text);
}

#[test]
fn quit_confirmation_overlay() {
    let mut app = fixture_app(Theme::ascii());
    press(&mut app, KeyCode::Char('q'));
    let text = screen_text(&app, 80, 24);
    assert!(text.contains("Save a checkpoint and quit? y/n"));
    insta::assert_snapshot!("overlay_confirm_quit", text);
}

#[test]
fn theme_detection_respects_no_color_and_colour_depth() {
    let detect = Theme::from_environment;
    assert_eq!(
        detect(false, None, Some("truecolor"), Some("xterm")),
        Theme::colour()
    );
    assert_eq!(
        detect(false, None, None, Some("xterm-256color")),
        Theme::colour()
    );
    assert_eq!(
        detect(false, Some("1"), Some("truecolor"), Some("xterm-256color")),
        Theme::ascii()
    );
    assert_eq!(
        detect(false, Some(""), None, Some("xterm-256color")),
        Theme::colour(),
        "empty NO_COLOR is unset"
    );
    assert_eq!(detect(true, None, Some("truecolor"), None), Theme::ascii());
    assert_eq!(
        detect(false, None, None, Some("linux")),
        Theme::ascii(),
        "16 colours"
    );
}

/// Top-left corner of the first occurrence of `needle` in `buf`.
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    buffer_lines(buf).iter().enumerate().find_map(|(y, line)| {
        let byte = line.find(needle)?;
        Some((line[..byte].chars().count() as u16, y as u16))
    })
}

#[test]
fn the_header_marks_files_the_disk_refused() {
    for theme in [Theme::colour(), Theme::ascii()] {
        let mut app = fixture_app(theme);
        app.state.apply(&fer::run::Event::WriteFailed {
            file: "checkpoints/last.ckpt".into(),
            error: "No space left on device (os error 28)".into(),
        });
        let text = screen_text(&app, 80, 24);
        let header = text.lines().next().unwrap_or_default().to_string();
        assert!(
            header.contains("not saved: checkpoints/last.ckpt"),
            "{header}"
        );
        app.state.apply(&fer::run::Event::WriteRecovered {
            file: "checkpoints/last.ckpt".into(),
        });
        assert!(!screen_text(&app, 80, 24).contains("not saved"));
    }
}
