//! Keys into actions: each key's command, pickers, read-only mode, quitting.

mod tui_support;

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use fer::run::schedule::{ScheduleConfig, ScheduleName};
use fer::run::{CheckpointKind, Command, Event};
use fer::tui::app::{Action, ChartFocus, Overlay};
use fer::tui::{App, RunStatus, Theme};
use tui_support::*;

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn char_key(c: char) -> KeyEvent {
    key(KeyCode::Char(c))
}

fn ctrl_c() -> KeyEvent {
    KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
}

fn last_log(app: &App) -> String {
    app.state
        .log
        .last(1)
        .next()
        .map(|line| line.text.clone())
        .unwrap_or_default()
}

#[test]
fn pause_key_sends_pause_or_resume_by_status() {
    let mut app = fixture_app(Theme::ascii());
    assert_eq!(
        app.handle_key(char_key('p')),
        vec![Action::Send(Command::Pause)]
    );
    app.state.apply(&Event::Paused {
        epoch: 4,
        step: 100,
    });
    assert_eq!(
        app.handle_key(char_key(' ')),
        vec![Action::Send(Command::Resume)]
    );
}

#[test]
fn checkpoint_key_shows_checkpointing_until_saved() {
    let mut app = fixture_app(Theme::ascii());
    assert_eq!(
        app.handle_key(char_key('c')),
        vec![Action::Send(Command::CheckpointNow)]
    );
    assert_eq!(app.state.status(), RunStatus::Checkpointing);
    app.state.apply(&checkpoint(CheckpointKind::Last, 3));
    assert_eq!(app.state.status(), RunStatus::Running);
}

#[test]
fn schedule_picker_navigates_applies_and_cancels() {
    let mut app = fixture_app(Theme::ascii());
    assert!(app.handle_key(char_key('s')).is_empty());
    assert_eq!(
        app.ui().overlay,
        Overlay::SchedulePicker { selected: 2 },
        "opens on the current schedule"
    );
    app.handle_key(key(KeyCode::Down));
    app.handle_key(char_key('j'));
    app.handle_key(char_key('j'));
    assert_eq!(
        app.ui().overlay,
        Overlay::SchedulePicker { selected: 4 },
        "stops at the last entry"
    );
    app.handle_key(char_key('k'));
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty());
    let Overlay::ScheduleEditor(editor) = &app.ui().overlay else {
        panic!("enter opens the settings: {:?}", app.ui().overlay);
    };
    assert_eq!(editor.name(), ScheduleName::OneCycle);
    assert_eq!(editor.input.text, "0.15", "pct_start, as the run has it");
    // Edit pct_start, then div_factor: typed over, moved with down, applied with enter.
    app.handle_key(key(KeyCode::Backspace));
    app.handle_key(char_key('3'));
    app.handle_key(key(KeyCode::Down));
    for _ in 0..2 {
        app.handle_key(key(KeyCode::Backspace));
    }
    app.handle_key(char_key('1'));
    app.handle_key(char_key('0'));
    let actions = app.handle_key(key(KeyCode::Enter));
    let expected = ScheduleConfig {
        name: ScheduleName::OneCycle,
        pct_start: 0.13,
        div_factor: 10.0,
        ..ScheduleConfig::default()
    };
    assert_eq!(
        actions,
        vec![Action::Send(Command::SetSchedule {
            name: ScheduleName::OneCycle,
            settings: Some(expected),
        })]
    );
    assert_eq!(app.ui().overlay, Overlay::None);
    // A schedule without settings applies at once.
    app.handle_key(char_key('s'));
    for _ in 0..4 {
        app.handle_key(char_key('k'));
    }
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        vec![Action::Send(Command::SetSchedule {
            name: ScheduleName::Constant,
            settings: None,
        })]
    );
    app.handle_key(char_key('s'));
    assert!(app.handle_key(key(KeyCode::Esc)).is_empty());
    assert_eq!(app.ui().overlay, Overlay::None);
}

#[test]
fn an_invalid_setting_is_named_and_not_sent() {
    let mut app = fixture_app(Theme::ascii());
    app.handle_key(char_key('s'));
    app.handle_key(char_key('k'));
    assert!(
        app.handle_key(key(KeyCode::Enter)).is_empty(),
        "step's settings open"
    );
    for _ in 0..2 {
        app.handle_key(key(KeyCode::Backspace));
    }
    app.handle_key(char_key('0'));
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty());
    let Overlay::ScheduleEditor(editor) = &app.ui().overlay else {
        panic!("the editor stays open: {:?}", app.ui().overlay);
    };
    assert!(
        editor
            .input
            .error
            .as_deref()
            .unwrap_or("")
            .contains("step_epochs"),
        "{editor:?}"
    );
}

#[test]
fn l_sets_the_learning_rate() {
    let mut app = fixture_app(Theme::ascii());
    assert!(app.handle_key(char_key('l')).is_empty());
    for c in "2.5e-3".chars() {
        app.handle_key(char_key(c));
    }
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        vec![Action::Send(Command::SetLr { lr: 2.5e-3 })]
    );
    assert_eq!(app.ui().overlay, Overlay::None);
    app.handle_key(char_key('l'));
    app.handle_key(char_key('-'));
    app.handle_key(char_key('1'));
    assert!(app.handle_key(key(KeyCode::Enter)).is_empty());
    assert!(
        matches!(&app.ui().overlay, Overlay::LrInput(input) if input.error.is_some()),
        "a negative LR is refused in place"
    );
    app.handle_key(key(KeyCode::Esc));
    assert_eq!(app.ui().overlay, Overlay::None);
}

#[test]
fn model_picker_and_d_ask_the_engine_which_owns_the_queue() {
    let mut app = fixture_app(Theme::ascii());
    app.handle_key(char_key('n'));
    app.handle_key(key(KeyCode::Down));
    assert_eq!(
        app.handle_key(key(KeyCode::Enter)),
        vec![Action::Send(Command::QueueModel {
            model: "resnet34".into()
        })]
    );
    assert_eq!(
        app.state.queue,
        vec!["densenet-small".to_string()],
        "the pane waits for the engine's QueueChanged"
    );
    app.state.apply(&Event::QueueChanged {
        queue: vec!["densenet-small".into(), "resnet34".into()],
    });
    app.handle_key(key(KeyCode::Down));
    assert_eq!(app.state.queue_selected, 1);
    assert_eq!(
        app.handle_key(char_key('d')),
        vec![Action::Send(Command::RemoveQueued { index: 1 })]
    );
    app.state.apply(&Event::QueueChanged {
        queue: vec!["densenet-small".into()],
    });
    assert_eq!(app.state.queue_selected, 0, "the highlight stays in range");
    app.state.apply(&Event::QueueChanged { queue: Vec::new() });
    assert!(
        app.handle_key(char_key('d')).is_empty(),
        "nothing left to remove"
    );
}

#[test]
fn tab_and_v_cycle_the_large_chart_and_help_toggles() {
    let mut app = fixture_app(Theme::ascii());
    assert_eq!(app.ui().large_chart, ChartFocus::Loss);
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.ui().large_chart, ChartFocus::Accuracy);
    app.handle_key(char_key('v'));
    assert_eq!(app.ui().large_chart, ChartFocus::LearningRate);
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(app.ui().large_chart, ChartFocus::Loss);
    app.handle_key(char_key('?'));
    assert_eq!(app.ui().overlay, Overlay::Help);
    assert!(
        app.handle_key(char_key('p')).is_empty(),
        "keys go to the overlay"
    );
    assert_eq!(app.ui().overlay, Overlay::None);
}

#[test]
fn quit_needs_confirmation_and_then_stops_with_a_checkpoint() {
    let mut app = fixture_app(Theme::ascii());
    assert!(app.handle_key(char_key('q')).is_empty());
    assert_eq!(app.ui().overlay, Overlay::ConfirmQuit);
    assert!(app.handle_key(char_key('n')).is_empty());
    assert_eq!(app.ui().overlay, Overlay::None);
    assert!(app.handle_key(ctrl_c()).is_empty());
    assert_eq!(
        app.handle_key(char_key('y')),
        vec![Action::Send(Command::Stop), Action::Quit]
    );
    let mut twice = fixture_app(Theme::ascii());
    twice.handle_key(ctrl_c());
    assert_eq!(
        twice.handle_key(ctrl_c()),
        vec![Action::Send(Command::Stop), Action::Quit]
    );
}

#[test]
fn read_only_ignores_steering_keys_with_a_note() {
    let mut app = fixture_app(Theme::ascii()).with_read_only(true);
    for c in ['p', ' ', 'c', 's', 'n', 'd'] {
        assert!(app.handle_key(char_key(c)).is_empty(), "key {c:?}");
        assert_eq!(app.ui().overlay, Overlay::None);
        assert_eq!(last_log(&app), "read-only: start with --control to steer");
    }
    assert_eq!(app.state.status(), RunStatus::Running);
    app.handle_key(key(KeyCode::Tab));
    assert_eq!(
        app.ui().large_chart,
        ChartFocus::Accuracy,
        "looking around still works"
    );
    assert_eq!(
        app.handle_key(char_key('q')),
        vec![Action::Quit],
        "a watcher leaves without stopping"
    );
}

#[test]
fn a_finished_run_quits_at_once_and_cannot_be_steered() {
    let mut app = fixture_app(Theme::ascii());
    app.state.apply(&Event::RunFinished {
        best_epoch: 3,
        best_val_accuracy: 0.55,
        test_accuracy: None,
        stopped: true,
        seconds: 400.0,
    });
    assert!(app.handle_key(char_key('p')).is_empty());
    assert_eq!(last_log(&app), "the run is over: nothing to steer");
    assert_eq!(app.handle_key(char_key('q')), vec![Action::Quit]);
}

#[test]
fn key_releases_are_ignored() {
    let mut app = fixture_app(Theme::ascii());
    let mut release = char_key('p');
    release.kind = KeyEventKind::Release;
    assert!(app.handle_key(release).is_empty());
}
