//! The faces pane: the validation faces behind a confusion cell, read from the
//! run's faces.json and drawn from the data set's pixels (half-blocks in colour,
//! shades of ASCII without), with the cursor keys over the matrix.

mod tui_support;

use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use fer::data::{bundled_sample, NUM_CLASSES};
use fer::run::{Command, RunDir, ValidationFaces};
use fer::tui::app::{Action, Overlay};
use fer::tui::faces::FaceImages;
use fer::tui::{view, App, Theme};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;
use ratatui::Terminal;
use tui_support::*;

/// A run directory whose faces.json puts the sample's validation faces in cells by
/// a fixed rule: image i is predicted class (label + i) % 3 == 0 ? label : Neutral,
/// with a confidence that falls with i.
fn run_with_faces(root: &std::path::Path) -> (RunDir, FaceImages, ValidationFaces) {
    let val = bundled_sample().expect("the bundled sample").val;
    let probabilities: Vec<[f32; NUM_CLASSES]> = val
        .labels
        .iter()
        .enumerate()
        .map(|(index, &label)| {
            let predicted = if index % 3 == 0 {
                usize::from(label)
            } else {
                6
            };
            let confidence = 0.95 - 0.5 * index as f32 / val.len() as f32;
            let mut probs = [(1.0 - confidence) / 6.0; NUM_CLASSES];
            probs[predicted] = confidence;
            probs
        })
        .collect();
    let record = ValidationFaces::from_predictions(4, &val.labels, &probabilities);
    let run = RunDir::create(root, "resnet8").unwrap();
    std::fs::write(run.faces_path(), record.to_json()).unwrap();
    let images = FaceImages::default();
    images.set(Ok(Arc::new(val)));
    (run, images, record)
}

fn press(app: &mut App, code: KeyCode) -> Vec<Action> {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn draw(app: &mut App, width: u16, height: u16) -> Buffer {
    app.prepare_faces();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::draw(frame, app)).unwrap();
    terminal.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    let area = buf.area;
    (area.top()..area.bottom())
        .map(|y| {
            (area.left()..area.right())
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each half-block cell as two grey digits (upper, lower), 0 dark to 9 bright:
/// the picture itself, which the symbols alone do not show.
fn grey_map(buf: &Buffer, area: Rect) -> String {
    let digit = |colour: Color| match colour {
        Color::Rgb(r, g, b) => {
            let grey = (u32::from(r) + u32::from(g) + u32::from(b)) / 3;
            char::from_digit(grey * 9 / 255, 10).unwrap_or('?')
        }
        _ => '.',
    };
    (area.top()..area.bottom())
        .map(|y| {
            (area.left()..area.right())
                .map(|x| {
                    let cell = &buf[(x, y)];
                    // '▄' swaps which colour is on top.
                    let (upper, lower) = match cell.symbol() {
                        "▄" => (cell.bg, cell.fg),
                        " " => (cell.bg, cell.bg),
                        _ => (cell.fg, cell.bg),
                    };
                    format!("{}{}", digit(upper), digit(lower))
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn f_opens_the_faces_of_the_selected_cell_surest_first() {
    let root = tempfile::tempdir().unwrap();
    let (run, images, record) = run_with_faces(root.path());
    let mut app = fixture_app(Theme::ascii()).with_faces(Some(run.path().into()), images);
    assert!(press(&mut app, KeyCode::Char('f')).is_empty());
    assert!(app.faces().visible);
    // Down 4 (Sad), right 6 (Neutral): the cell most images of this record fall in.
    for _ in 0..4 {
        press(&mut app, KeyCode::Char('j'));
    }
    for _ in 0..9 {
        press(&mut app, KeyCode::Right);
    }
    assert_eq!(
        app.faces().cursor,
        (4, 6),
        "the cursor stays inside the matrix"
    );
    let buf = draw(&mut app, 120, 40);
    let screen = text(&buf);
    let cell = record.cell(4, 6).unwrap();
    assert!(
        screen.contains(&format!(
            "Faces: Sad -> Neutral ({} of {} shown, val epoch 4",
            cell.faces.len().min(cell.count),
            cell.count
        )),
        "{screen}"
    );
    let surest = format!("{:.0}%", 100.0 * cell.faces[0].probability);
    assert!(screen.contains(&surest), "{screen}");
    assert!(
        screen.contains(">"),
        "the selected cell is marked in the matrix"
    );
    insta::assert_snapshot!("faces_pane_ascii_120x40", screen);
}

#[test]
fn faces_are_half_blocks_of_the_datasets_pixels_in_colour() {
    let root = tempfile::tempdir().unwrap();
    let (run, images, _) = run_with_faces(root.path());
    let mut app = fixture_app(Theme::colour()).with_faces(Some(run.path().into()), images);
    press(&mut app, KeyCode::Char('f'));
    for _ in 0..3 {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Char('l'));
    press(&mut app, KeyCode::Char('l'));
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(app.faces().cursor, (3, 3), "Happy -> Happy");
    let buf = draw(&mut app, 120, 40);
    // The first tile sits inside the pane's border, below the progress rows.
    let first_tile = Rect::new(1, 6, 12, 6);
    let map = grey_map(&buf, first_tile);
    let shades: std::collections::BTreeSet<char> =
        map.chars().filter(char::is_ascii_digit).collect();
    assert!(shades.len() >= 4, "a face, not a flat block:\n{map}");
    insta::assert_snapshot!("faces_pane_halfblocks_first_tile", map);
    insta::assert_snapshot!("faces_pane_colour_120x40", text(&buf));
}

#[test]
fn with_faces_open_l_moves_and_capital_l_sets_the_lr() {
    let mut app = fixture_app(Theme::ascii());
    press(&mut app, KeyCode::Char('f'));
    press(&mut app, KeyCode::Char('l'));
    assert_eq!(app.faces().cursor, (0, 1));
    assert_eq!(app.ui().overlay, Overlay::None);
    press(&mut app, KeyCode::Char('L'));
    assert!(matches!(app.ui().overlay, Overlay::LrInput(_)));
    press(&mut app, KeyCode::Char('1'));
    assert_eq!(
        press(&mut app, KeyCode::Enter),
        vec![Action::Send(Command::SetLr { lr: 1.0 })]
    );
    press(&mut app, KeyCode::Char('f'));
    assert!(!app.faces().visible);
}

#[test]
fn the_pane_says_why_it_has_no_faces() {
    let root = tempfile::tempdir().unwrap();
    let run = RunDir::create(root.path(), "resnet8").unwrap();
    let images = FaceImages::default();
    let mut app = fixture_app(Theme::ascii()).with_faces(Some(run.path().into()), images.clone());
    press(&mut app, KeyCode::Char('f'));
    assert!(text(&draw(&mut app, 120, 40)).contains("loading the data set"));
    images.set(Ok(Arc::new(bundled_sample().unwrap().val)));
    assert!(text(&draw(&mut app, 120, 40)).contains("after the first validation"));
    // A data set that is not the run's is named, not shown wrongly.
    let (_, _, record) = run_with_faces(root.path());
    let mut fewer = record.clone();
    fewer.images += 1;
    std::fs::write(run.faces_path(), fewer.to_json()).unwrap();
    app.apply_at(&epoch_finished(1), std::time::Instant::now());
    assert!(text(&draw(&mut app, 120, 40)).contains("not the run's data"));
}
