//! `fer runs`: the board drawn into an in-memory terminal (snapshots in
//! tests/snapshots/board__*.snap), its keys, and the plain table of the binary.

mod common;

use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fer::metrics::ConfusionMatrix;
use fer::run::listing::{EpochPoint, Listing, RunOverview, RunState};
use fer::run::schedule::ScheduleName;
use fer::run::{Command, EpochMetrics, Event, EventLog, RunDir};
use fer::tui::board::{view, BoardAction, BoardOverlay, BoardState, SortKey};
use fer::tui::{Action, App, Theme};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn history(accuracies: &[f64]) -> Vec<EpochPoint> {
    accuracies
        .iter()
        .enumerate()
        .map(|(index, &val_accuracy)| EpochPoint {
            epoch: index + 1,
            val_accuracy,
            train_loss: 1.9 - 0.12 * index as f64,
        })
        .collect()
}

fn run(id: &str, model: &str, state: RunState, accuracies: &[f64]) -> RunOverview {
    let queued = state == RunState::Queued;
    RunOverview {
        id: id.into(),
        path: (!queued).then(|| PathBuf::from("runs").join(id)),
        model: model.into(),
        state,
        epoch: accuracies.len(),
        epochs: if queued { 0 } else { 10 },
        best_val_accuracy: accuracies.iter().copied().reduce(f64::max),
        test_accuracy: (state == RunState::Finished).then_some(0.612),
        images_per_second: (!queued).then_some(412.0),
        elapsed_seconds: (!queued).then_some(95.0 * accuracies.len() as f64),
        history: history(accuracies),
        note: None,
    }
}

/// Five runs, one of each kind, plus a queued one.
fn fixture() -> BoardState {
    let runs = vec![
        run(
            "20261128-142501-resnet18",
            "resnet18",
            RunState::Finished,
            &[0.31, 0.42, 0.50, 0.55, 0.58, 0.60, 0.61, 0.63, 0.62, 0.64],
        ),
        run(
            "20261129-090000-resnet8",
            "resnet8",
            RunState::Running,
            &[0.25, 0.33, 0.37],
        ),
        run(
            "20261129-100000-vgg11",
            "vgg11",
            RunState::Paused,
            &[0.28, 0.30],
        ),
        run(
            "20261129-110000-resnet20",
            "resnet20",
            RunState::Crashed,
            &[0.22],
        ),
        run("queued #4", "resnet32", RunState::Queued, &[]),
    ];
    BoardState::new(
        PathBuf::from("runs"),
        Listing {
            runs,
            notes: Vec::new(),
        },
    )
}

fn screen(state: &BoardState, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test backend");
    terminal
        .draw(|frame| view::draw(frame, state, &Theme::ascii()))
        .expect("draw");
    format!("{}", terminal.backend())
}

fn press(state: &mut BoardState, code: KeyCode) -> Vec<BoardAction> {
    state.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ids(state: &BoardState) -> Vec<String> {
    state.visible().iter().map(|run| run.id.clone()).collect()
}

#[test]
fn the_board_lists_every_run_with_its_state_selection_and_marks() {
    let mut state = fixture();
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Char(' ')); // marks the running one, moves to vgg11
    let text = screen(&state, 120, 14);
    assert!(text.is_ascii(), "{text}");
    for word in ["finished", "running", "paused", "crashed", "queued", "61.2"] {
        assert!(text.contains(word), "missing {word}:\n{text}");
    }
    assert!(text.contains(">  20261129-100000-vgg11"), "{text}");
    assert!(text.contains(" * 20261129-090000-resnet8"), "{text}");
    insta::assert_snapshot!("board_120x14_ascii", text);
}

#[test]
fn the_compare_overlay_draws_both_runs_curves_with_a_legend() {
    let mut state = fixture();
    press(&mut state, KeyCode::Char(' '));
    press(&mut state, KeyCode::Char('c'));
    assert_eq!(state.overlay, BoardOverlay::None, "one mark is not enough");
    assert!(state.status.contains("mark two runs"), "{}", state.status);
    press(&mut state, KeyCode::Char(' '));
    press(&mut state, KeyCode::Char('c'));
    assert_eq!(
        state.overlay,
        BoardOverlay::Compare {
            first: "20261128-142501-resnet18".into(),
            second: "20261129-090000-resnet8".into(),
        }
    );
    let text = screen(&state, 120, 24);
    for word in [
        "Val accuracy %",
        "Train loss",
        "20261128-142501-resnet18",
        "20261129-090000-resnet8",
    ] {
        assert!(text.contains(word), "missing {word}:\n{text}");
    }
    insta::assert_snapshot!("board_compare_ascii", text);
    press(&mut state, KeyCode::Char('z'));
    assert_eq!(state.overlay, BoardOverlay::None);
}

#[test]
fn sort_and_filters_change_the_rows_and_keep_the_selection() {
    let mut state = fixture();
    press(&mut state, KeyCode::Down);
    assert_eq!(state.selected.as_deref(), Some("20261129-090000-resnet8"));
    press(&mut state, KeyCode::Char('o')); // model
    assert_eq!(state.sort, SortKey::Model);
    assert_eq!(ids(&state)[0], "20261128-142501-resnet18");
    assert_eq!(ids(&state)[4], "20261129-100000-vgg11");
    press(&mut state, KeyCode::Char('o')); // state
    press(&mut state, KeyCode::Char('o')); // best val: highest first, queued (none) last
    assert_eq!(state.sort, SortKey::BestVal);
    assert_eq!(
        ids(&state),
        [
            "20261128-142501-resnet18",
            "20261129-090000-resnet8",
            "20261129-100000-vgg11",
            "20261129-110000-resnet20",
            "queued #4"
        ]
    );
    press(&mut state, KeyCode::Char('O'));
    assert_eq!(ids(&state)[0], "queued #4");
    assert_eq!(state.selected.as_deref(), Some("20261129-090000-resnet8"));

    press(&mut state, KeyCode::Char('f')); // live
    assert_eq!(ids(&state).len(), 2);
    press(&mut state, KeyCode::Char('f')); // finished
    assert_eq!(ids(&state), ["20261128-142501-resnet18"]);
    assert_eq!(state.selected.as_deref(), Some("20261128-142501-resnet18"));
    press(&mut state, KeyCode::Char('f')); // failed/crashed
    assert_eq!(ids(&state), ["20261129-110000-resnet20"]);
    press(&mut state, KeyCode::Char('f')); // all
    assert_eq!(ids(&state).len(), 5);

    press(&mut state, KeyCode::Char('/'));
    for c in "RESNET2".chars() {
        press(&mut state, KeyCode::Char(c));
    }
    press(&mut state, KeyCode::Backspace);
    press(&mut state, KeyCode::Char('2'));
    press(&mut state, KeyCode::Enter);
    assert_eq!(state.filter, "RESNET2");
    assert_eq!(ids(&state), ["20261129-110000-resnet20"]);
    // Keys act on the board again, not the filter.
    press(&mut state, KeyCode::Char('j'));
    assert_eq!(state.filter, "RESNET2");
    press(&mut state, KeyCode::Esc);
    assert!(state.filter.is_empty());
    assert_eq!(ids(&state).len(), 5);
    press(&mut state, KeyCode::Char('/'));
    press(&mut state, KeyCode::Char('v'));
    press(&mut state, KeyCode::Esc);
    assert!(state.filter.is_empty() && state.overlay == BoardOverlay::None);
}

#[test]
fn stop_is_sent_only_after_y_and_only_to_a_live_run() {
    let mut state = fixture();
    // The finished run: nothing to steer, and the status line says why.
    for key in ['p', 's', 'x'] {
        assert!(press(&mut state, KeyCode::Char(key)).is_empty());
        assert!(
            state.status.contains("nothing to steer"),
            "{}",
            state.status
        );
        assert_eq!(state.overlay, BoardOverlay::None);
    }
    press(&mut state, KeyCode::Down); // running
    let path = PathBuf::from("runs/20261129-090000-resnet8");
    assert!(press(&mut state, KeyCode::Char('x')).is_empty());
    assert!(matches!(state.overlay, BoardOverlay::ConfirmStop { .. }));
    assert!(press(&mut state, KeyCode::Char('n')).is_empty());
    assert_eq!(state.overlay, BoardOverlay::None);
    press(&mut state, KeyCode::Char('x'));
    assert!(screen(&state, 100, 14).contains("Stop 20261129-090000-resnet8? y/n"));
    assert!(
        press(&mut state, KeyCode::Char('j')).is_empty(),
        "other keys wait"
    );
    assert_eq!(
        press(&mut state, KeyCode::Char('y')),
        [BoardAction::Send {
            id: "20261129-090000-resnet8".into(),
            path: path.clone(),
            command: Command::Stop,
        }]
    );
    let sent = |actions: Vec<BoardAction>| match actions.as_slice() {
        [BoardAction::Send { command, .. }] => command.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(sent(press(&mut state, KeyCode::Char('p'))), Command::Pause);
    assert_eq!(
        sent(press(&mut state, KeyCode::Char('s'))),
        Command::CheckpointNow
    );
    press(&mut state, KeyCode::Down); // paused
    assert_eq!(sent(press(&mut state, KeyCode::Char('p'))), Command::Resume);
    assert_eq!(
        press(&mut state, KeyCode::Enter),
        [BoardAction::Open {
            path: PathBuf::from("runs/20261129-100000-vgg11"),
            control: true,
        }]
    );
    press(&mut state, KeyCode::Up);
    press(&mut state, KeyCode::Up); // finished: opened read-only
    assert_eq!(
        press(&mut state, KeyCode::Enter),
        [BoardAction::Open {
            path: PathBuf::from("runs/20261128-142501-resnet18"),
            control: false,
        }]
    );
    assert_eq!(press(&mut state, KeyCode::Char('q')), [BoardAction::Quit]);
}

#[test]
fn marks_choose_what_the_report_covers() {
    let mut state = fixture();
    assert_eq!(
        press(&mut state, KeyCode::Char('r')),
        [BoardAction::Report {
            runs: vec![PathBuf::from("runs/20261128-142501-resnet18")]
        }],
        "nothing marked: the selected run"
    );
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Char(' ')); // resnet8, then the selection moves on
    press(&mut state, KeyCode::Down);
    press(&mut state, KeyCode::Char(' ')); // resnet20
    press(&mut state, KeyCode::Char(' ')); // the queued one: no directory to report
    assert_eq!(state.marked.len(), 3);
    assert_eq!(
        press(&mut state, KeyCode::Char('r')),
        [BoardAction::Report {
            runs: vec![
                PathBuf::from("runs/20261129-090000-resnet8"),
                PathBuf::from("runs/20261129-110000-resnet20"),
            ]
        }]
    );
    press(&mut state, KeyCode::Char(' ')); // unmarks the queued one (still selected at the end)
    assert_eq!(state.marked.len(), 2);
}

#[test]
fn esc_leaves_a_dashboard_opened_from_the_board_only() {
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    let mut from_board = App::new(Theme::ascii())
        .with_watching(true)
        .with_escape_leaves(true);
    assert_eq!(from_board.handle_key(esc), [Action::Quit]);
    let mut watcher = App::new(Theme::ascii()).with_watching(true);
    assert!(watcher.handle_key(esc).is_empty());
    // With an overlay open, Esc closes it first.
    from_board.handle_key(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::NONE));
    assert!(from_board.handle_key(esc).is_empty());
    assert_eq!(from_board.handle_key(esc), [Action::Quit]);
}

fn write_run(root: &Path, name: &str, events: &[Event]) {
    let path = root.join(name);
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join("config.ron"), "()").unwrap();
    let mut log = EventLog::open(&RunDir::open(&path).unwrap()).unwrap();
    for event in events {
        log.append(event).unwrap();
    }
}

fn started(model: &str) -> Event {
    Event::RunStarted {
        run_id: "x".into(),
        run_dir: "x".into(),
        model: model.into(),
        parameters: 1,
        device: "cpu".into(),
        data_source: "sample".into(),
        train_images: 10,
        val_images: 10,
        test_images: 10,
        val_class_counts: vec![1; 7],
        epochs: 3,
        steps_per_epoch: 3,
        batch_size: 4,
        start_epoch: 1,
        schedule: ScheduleName::Constant,
        notes: Vec::new(),
    }
}

fn epoch(epoch: usize, val_accuracy: f64) -> Event {
    Event::EpochFinished(EpochMetrics {
        epoch,
        lr: 0.1,
        train_loss: 1.5,
        train_accuracy: 0.3,
        val_loss: 1.6,
        val_accuracy,
        val_macro_f1: 0.2,
        val_recall: vec![0.5; 7],
        val_confusion: ConfusionMatrix::new(7),
        seconds: 12.0,
        images_per_second: 300.0,
    })
}

#[test]
fn piped_fer_runs_prints_one_line_per_run_with_its_state() {
    use common::process::{fer, stderr, stdout};
    let root = tempfile::tempdir().unwrap();
    let runs = root.path().join("runs");
    write_run(
        &runs,
        "20261201-100000-resnet8",
        &[
            started("resnet8"),
            epoch(1, 0.3),
            epoch(2, 0.4),
            epoch(3, 0.3),
            Event::RunFinished {
                best_epoch: 2,
                best_val_accuracy: 0.4,
                test_accuracy: Some(0.39),
                stopped: false,
                seconds: 40.0,
            },
        ],
    );
    write_run(
        &runs,
        "20261201-110000-resnet20",
        &[started("resnet20"), epoch(1, 0.2)],
    );
    let output = fer(&["runs", "--runs-dir", runs.to_str().unwrap(), "--ascii"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "a header and one line per run:\n{text}");
    assert!(
        lines[0].starts_with("id") && lines[0].contains("state"),
        "{text}"
    );
    assert!(
        lines[1].contains("20261201-100000-resnet8")
            && lines[1].contains("finished")
            && lines[1].contains("3/3")
            && lines[1].contains("40.0")
            && lines[1].contains("39.0")
            && lines[1].ends_with("_@_"),
        "{text}"
    );
    assert!(
        lines[2].contains("resnet20") && lines[2].contains("crashed"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no escape codes: {text:?}");

    let empty = root.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let output = fer(&["runs", "--runs-dir", empty.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).contains("no runs"), "{}", stdout(&output));

    let output = fer(&[
        "runs",
        "--runs-dir",
        root.path().join("nope").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert_eq!(message.trim().lines().count(), 1, "{message}");
    assert!(message.contains("nope"), "{message}");
}
