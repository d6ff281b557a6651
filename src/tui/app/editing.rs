//! Typing numbers: a new learning rate (`l`), and a schedule's settings in the
//! editor the schedule picker opens.

use crossterm::event::KeyCode;

use super::{Action, App, Overlay};
use crate::run::schedule::{format_setting, ScheduleConfig, ScheduleName, ScheduleSetting};
use crate::run::Command;

/// A number being typed, and why the last attempt to use it failed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NumberInput {
    pub text: String,
    pub error: Option<String>,
}

impl NumberInput {
    pub fn with_text(text: String) -> Self {
        Self { text, error: None }
    }

    /// Digits, a point, an exponent and signs; Backspace. True when the key was used.
    fn edit(&mut self, code: KeyCode) -> bool {
        match code {
            KeyCode::Char(c) if c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+') => {
                self.text.push(c);
            }
            KeyCode::Backspace => {
                self.text.pop();
            }
            _ => return false,
        }
        self.error = None;
        true
    }

    fn parse(&self) -> Result<f64, String> {
        let text = self.text.trim();
        text.parse::<f64>()
            .ok()
            .filter(|value| value.is_finite())
            .ok_or_else(|| format!("`{text}` is not a number"))
    }
}

/// The settings of `settings.name` being edited; `field` indexes its settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleEditor {
    pub settings: ScheduleConfig,
    pub field: usize,
    pub input: NumberInput,
}

impl ScheduleEditor {
    pub fn new(settings: ScheduleConfig) -> Self {
        let mut editor = Self {
            settings,
            field: 0,
            input: NumberInput::default(),
        };
        editor.load_field();
        editor
    }

    pub fn name(&self) -> ScheduleName {
        self.settings.name
    }

    pub fn selected(&self) -> Option<ScheduleSetting> {
        self.name().settings().get(self.field).copied()
    }

    fn load_field(&mut self) {
        let text = self
            .selected()
            .map(|setting| format_setting(self.settings.get(setting)))
            .unwrap_or_default();
        self.input = NumberInput::with_text(text);
    }

    /// Writes the typed number into the settings; on an error they keep their value.
    fn commit(&mut self) -> bool {
        let Some(setting) = self.selected() else {
            return true;
        };
        let result = self
            .input
            .parse()
            .and_then(|value| self.settings.set(setting, value).map_err(|e| e.to_string()));
        match result {
            Ok(()) => true,
            Err(error) => {
                self.input.error = Some(error);
                false
            }
        }
    }

    fn move_field(&mut self, delta: isize) {
        if self.commit() {
            let count = self.name().settings().len();
            self.field = super::keys::step_within(self.field, delta, count);
            self.load_field();
        }
    }
}

impl App {
    pub(super) fn open_lr_input(&mut self) -> Vec<Action> {
        if self.may_steer_run() {
            self.ui.overlay = Overlay::LrInput(NumberInput::default());
        }
        Vec::new()
    }

    pub(super) fn lr_input_key(&mut self, code: KeyCode, mut input: NumberInput) -> Vec<Action> {
        match code {
            KeyCode::Esc => self.close_overlay(),
            KeyCode::Enter => match input.parse() {
                Ok(lr) if lr > 0.0 => {
                    self.close_overlay();
                    return self.send(Command::SetLr { lr });
                }
                Ok(_) => input.error = Some("the LR must be > 0".into()),
                Err(error) => input.error = Some(error),
            },
            other => {
                input.edit(other);
            }
        }
        if matches!(self.ui.overlay, Overlay::LrInput(_)) {
            self.ui.overlay = Overlay::LrInput(input);
        }
        Vec::new()
    }

    /// Enter in the picker: a schedule without settings applies at once, the others
    /// open the editor on the run's current settings.
    pub(super) fn choose_schedule(&mut self, name: ScheduleName) -> Vec<Action> {
        if name.settings().is_empty() {
            self.close_overlay();
            return self.send(Command::SetSchedule {
                name,
                settings: None,
            });
        }
        let settings = ScheduleConfig {
            name,
            ..self.state.schedule_settings.clone().unwrap_or_default()
        };
        self.ui.overlay = Overlay::ScheduleEditor(ScheduleEditor::new(settings));
        Vec::new()
    }

    pub(super) fn schedule_editor_key(
        &mut self,
        code: KeyCode,
        mut editor: ScheduleEditor,
    ) -> Vec<Action> {
        match code {
            KeyCode::Esc => {
                self.close_overlay();
                return Vec::new();
            }
            KeyCode::Up | KeyCode::BackTab => editor.move_field(-1),
            KeyCode::Down | KeyCode::Tab => editor.move_field(1),
            KeyCode::Enter if editor.commit() => {
                self.close_overlay();
                let (name, settings) = (editor.name(), editor.settings);
                return self.send(Command::SetSchedule {
                    name,
                    settings: Some(settings),
                });
            }
            other => {
                editor.input.edit(other);
            }
        }
        self.ui.overlay = Overlay::ScheduleEditor(editor);
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_parse_or_say_why_not() {
        let mut input = NumberInput::default();
        for c in "1e-3".chars() {
            assert!(input.edit(KeyCode::Char(c)));
        }
        assert_eq!(input.parse(), Ok(1e-3));
        assert!(!input.edit(KeyCode::Char('x')));
        input.edit(KeyCode::Backspace);
        input.edit(KeyCode::Backspace);
        assert!(input.parse().unwrap_err().contains("1e"));
    }

    #[test]
    fn the_editor_keeps_a_refused_value_out_of_the_settings() {
        let mut editor = ScheduleEditor::new(ScheduleConfig {
            name: ScheduleName::Step,
            ..ScheduleConfig::default()
        });
        assert_eq!(editor.input.text, "10");
        editor.input = NumberInput::with_text("0".into());
        editor.move_field(1);
        assert_eq!(
            editor.field, 0,
            "step_epochs 0 is refused: the cursor stays"
        );
        assert!(editor.input.error.is_some());
        editor.input = NumberInput::with_text("5".into());
        editor.move_field(1);
        assert_eq!((editor.field, editor.settings.step_epochs), (1, 5));
        assert_eq!(editor.input.text, "0.1");
    }
}
