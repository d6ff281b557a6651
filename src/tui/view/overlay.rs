//! Boxes drawn over the dashboard: help, the schedule and model pickers, and
//! the quit confirmation.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Widget};

use super::centered;
use crate::run::schedule::{format_setting, ScheduleConfig};
use crate::tui::app::ScheduleEditor;
use crate::tui::app::{App, Overlay, KEY_HELP, QUIT_KEYS, READ_ONLY_NOTE, WATCHER_QUIT_HELP};
use crate::tui::labels::{all_schedules, learning_rate, schedule_label};
use crate::tui::state::LogLevel;
use crate::tui::theme::Theme;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let theme = app.theme();
    match &app.ui().overlay {
        Overlay::None => {}
        Overlay::Help => render_help(app, area, buf, theme),
        Overlay::SchedulePicker { selected } => {
            let items = schedule_items(app);
            render_picker(
                "Schedule (enter choose, esc cancel)",
                &items,
                *selected,
                area,
                buf,
                theme,
            );
        }
        Overlay::ScheduleEditor(editor) => {
            let lines = editor_lines(editor, theme);
            let title = format!(
                "{} settings (up/down move, enter apply, esc cancel)",
                schedule_label(editor.name())
            );
            render_box(&title, lines, 56, area, buf, theme);
        }
        Overlay::LrInput(input) => {
            let now = learning_rate(app.state.progress.lr);
            let mut lines = vec![
                Line::raw(format!("LR now {now}; new LR: {}_", input.text)),
                Line::styled(
                    "from the next step on; the schedule goes on rescaled",
                    theme.dim(),
                ),
            ];
            if let Some(error) = &input.error {
                lines.push(Line::styled(
                    error.clone(),
                    theme.log_level(LogLevel::Error),
                ));
            }
            render_box(
                "Learning rate (enter apply, esc cancel)",
                lines,
                56,
                area,
                buf,
                theme,
            );
        }
        Overlay::ModelPicker { selected } => {
            render_picker(
                "Queue a model (enter add, esc cancel)",
                app.model_names(),
                *selected,
                area,
                buf,
                theme,
            );
        }
        Overlay::ConfirmQuit => {
            let lines = vec![
                Line::raw("Save a checkpoint and quit? y/n"),
                Line::styled("(training stops after the current step)", theme.dim()),
            ];
            render_box("Quit", lines, 46, area, buf, theme);
        }
    }
}

/// Each schedule with the settings it would start with; the current one marked.
fn schedule_items(app: &App) -> Vec<String> {
    let current = app.state.schedule;
    let settings = app.state.schedule_settings.clone().unwrap_or_default();
    all_schedules()
        .iter()
        .map(|&name| {
            let marker = if Some(name) == current {
                "  (current)"
            } else {
                ""
            };
            let described = ScheduleConfig {
                name,
                ..settings.clone()
            }
            .describe_settings();
            format!("{:<10} {described}{marker}", schedule_label(name))
        })
        .collect()
}

/// One line per setting: key, value (the selected one as typed), meaning.
fn editor_lines<'a>(editor: &ScheduleEditor, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines: Vec<Line> = editor
        .name()
        .settings()
        .iter()
        .enumerate()
        .map(|(index, &setting)| {
            if index == editor.field {
                let text = format!("> {:<18} {}_", setting.key(), editor.input.text);
                Line::styled(
                    format!("{text:<34} {}", setting.meaning()),
                    theme.selected(),
                )
            } else {
                let value = format_setting(editor.settings.get(setting));
                Line::raw(format!(
                    "  {:<18} {value:<13} {}",
                    setting.key(),
                    setting.meaning()
                ))
            }
        })
        .collect();
    if let Some(error) = &editor.input.error {
        lines.push(Line::styled(
            error.clone(),
            theme.log_level(LogLevel::Error),
        ));
    }
    lines.push(Line::styled(
        "the new schedule continues from the current LR",
        theme.dim(),
    ));
    lines
}

fn render_help(app: &App, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut lines: Vec<Line> = KEY_HELP
        .iter()
        .map(|&(keys, what)| {
            // A watcher's q only leaves: the run belongs to another process.
            let what = if keys == QUIT_KEYS && app.is_watching() {
                WATCHER_QUIT_HELP
            } else {
                what
            };
            Line::raw(format!("{keys:<14} {what}"))
        })
        .collect();
    if app.is_read_only() {
        lines.push(Line::styled(READ_ONLY_NOTE, theme.dim()));
    }
    lines.push(Line::styled("any key closes this help", theme.dim()));
    render_box("Keys", lines, 60, area, buf, theme);
}

/// A list with one highlighted entry, scrolled so that it stays visible.
fn render_picker(
    title: &str,
    items: &[String],
    selected: usize,
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
) {
    let visible = (area.height.saturating_sub(4) as usize).clamp(1, 14);
    let first = selected.saturating_sub(visible - 1);
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .skip(first)
        .take(visible)
        .map(|(index, item)| {
            if index == selected {
                Line::styled(format!("> {item}"), theme.selected())
            } else {
                Line::raw(format!("  {item}"))
            }
        })
        .collect();
    render_box(title, lines, 44, area, buf, theme);
}

/// Clears a centred box sized to `lines` and draws them in a bordered block.
pub(crate) fn render_box(
    title: &str,
    lines: Vec<Line<'_>>,
    width: u16,
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
) {
    let height = lines.len() as u16 + 2;
    let widest = lines.iter().map(|line| line.width()).max().unwrap_or(0) as u16 + 2;
    let width = width.max(widest).max(title.len() as u16 + 4);
    let rect = centered(area, width, height);
    Clear.render(rect, buf);
    let block = theme.block(title.to_string());
    let inner = block.inner(rect);
    block.render(rect, buf);
    Paragraph::new(lines).render(inner, buf);
}
