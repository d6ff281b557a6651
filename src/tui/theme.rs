//! Colour or plain: the dashboard's only source of styles and glyphs.
//!
//! The ASCII theme uses no colour and only ASCII characters (for `NO_COLOR`,
//! `--ascii`, 16-colour terminals and fonts without box drawing or Braille);
//! everything it shows stays readable from the characters alone.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::{border, Marker};
use ratatui::text::Line;
use ratatui::widgets::Block;

use crate::tui::state::{LogLevel, RunStatus};

/// Border made of `+`, `-` and `|`.
pub const ASCII_BORDER: border::Set<'static> = border::Set {
    top_left: "+",
    top_right: "+",
    bottom_left: "+",
    bottom_right: "+",
    vertical_left: "|",
    vertical_right: "|",
    horizontal_top: "-",
    horizontal_bottom: "-",
};

/// A chart series, for its style and its ASCII marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Series {
    Train,
    Validation,
    BatchLoss,
    LearningRate,
    Plan,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    colour: bool,
}

impl Theme {
    pub const fn colour() -> Self {
        Self { colour: true }
    }

    pub const fn ascii() -> Self {
        Self { colour: false }
    }

    /// Reads `NO_COLOR`, `COLORTERM` and `TERM`; call once, outside rendering.
    pub fn detect(ascii_flag: bool) -> Self {
        let var = |name| std::env::var(name).ok();
        Self::from_environment(
            ascii_flag,
            var("NO_COLOR").as_deref(),
            var("COLORTERM").as_deref(),
            var("TERM").as_deref(),
        )
    }

    /// Colour only when allowed (no `--ascii`, `NO_COLOR` unset or empty) and
    /// the terminal has at least 256 colours.
    pub fn from_environment(
        ascii_flag: bool,
        no_color: Option<&str>,
        colorterm: Option<&str>,
        term: Option<&str>,
    ) -> Self {
        let colour_refused = ascii_flag || no_color.is_some_and(|value| !value.is_empty());
        let truecolor = colorterm.is_some_and(|value| matches!(value, "truecolor" | "24bit"));
        let rich = truecolor
            || term.is_some_and(|value| value.contains("256color") || value.contains("direct"));
        if !colour_refused && rich {
            Self::colour()
        } else {
            Self::ascii()
        }
    }

    pub fn is_ascii(&self) -> bool {
        !self.colour
    }

    fn pick(&self, coloured: Style) -> Style {
        if self.colour {
            coloured
        } else {
            Style::default()
        }
    }

    pub fn dim(&self) -> Style {
        self.pick(Style::default().fg(Color::DarkGray))
    }

    pub fn title(&self) -> Style {
        self.pick(
            Style::default()
                .fg(Color::Cyan)
                .add_modifier(Modifier::BOLD),
        )
    }

    pub fn emphasis(&self) -> Style {
        self.pick(Style::default().add_modifier(Modifier::BOLD))
    }

    pub fn good(&self) -> Style {
        self.pick(Style::default().fg(Color::Green))
    }

    pub fn bad(&self) -> Style {
        self.pick(Style::default().fg(Color::Red))
    }

    pub fn selected(&self) -> Style {
        self.pick(Style::default().fg(Color::Black).bg(Color::Cyan))
    }

    pub fn log_level(&self, level: LogLevel) -> Style {
        match level {
            LogLevel::Info => Style::default(),
            LogLevel::Good => self.good(),
            LogLevel::Warning => self.pick(Style::default().fg(Color::Yellow)),
            LogLevel::Error => self.bad().add_modifier(Modifier::BOLD),
        }
    }

    pub fn status(&self, status: &RunStatus) -> Style {
        let colour = match status {
            RunStatus::Waiting => Color::Gray,
            RunStatus::Running => Color::Green,
            RunStatus::Paused => Color::Yellow,
            RunStatus::Checkpointing => Color::Magenta,
            RunStatus::Validating => Color::Blue,
            RunStatus::Done => Color::Cyan,
            RunStatus::Failed(_) | RunStatus::Diverged => Color::Red,
        };
        self.pick(
            Style::default()
                .fg(Color::Black)
                .bg(colour)
                .add_modifier(Modifier::BOLD),
        )
    }

    pub fn series(&self, series: Series) -> Style {
        let colour = match series {
            Series::Train => Color::Cyan,
            Series::Validation => Color::Yellow,
            Series::BatchLoss => Color::Gray,
            Series::LearningRate => Color::Green,
            Series::Plan => Color::DarkGray,
        };
        self.pick(Style::default().fg(colour))
    }

    /// Braille lines in colour; one ASCII character per series otherwise, so
    /// series stay apart without colour.
    pub fn marker(&self, series: Series) -> Marker {
        match (self.colour, series) {
            (true, Series::Plan) => Marker::Dot,
            (true, _) => Marker::Braille,
            (false, _) => Marker::Custom(self.series_symbol(series)),
        }
    }

    /// The glyph that stands for a series in a chart title's legend.
    pub fn legend_symbol(&self, series: Series) -> char {
        match (self.colour, series) {
            (true, Series::Plan) => '•',
            (true, _) => '━',
            (false, _) => self.series_symbol(series),
        }
    }

    /// The character that marks a series in ASCII charts.
    pub fn series_symbol(&self, series: Series) -> char {
        match series {
            Series::Train => '*',
            Series::Validation => 'o',
            Series::BatchLoss => '.',
            Series::LearningRate => '*',
            Series::Plan => '.',
        }
    }

    /// A bordered pane with a title.
    pub fn block<'a>(&self, title: impl Into<Line<'a>>) -> Block<'a> {
        let block = Block::bordered()
            .title(title)
            .title_style(self.title())
            .border_style(self.dim());
        if self.colour {
            block
        } else {
            block.border_set(ASCII_BORDER)
        }
    }

    /// A horizontal bar `fraction` full, `width` cells wide: (filled, empty) parts.
    pub fn bar(&self, fraction: f64, width: usize) -> (String, String) {
        let filled = ((fraction.clamp(0.0, 1.0) * width as f64).round() as usize).min(width);
        let (full, empty) = if self.colour {
            ('█', '░')
        } else {
            ('#', '.')
        };
        (
            full.to_string().repeat(filled),
            empty.to_string().repeat(width - filled),
        )
    }

    pub fn bar_filled(&self) -> Style {
        self.pick(Style::default().fg(Color::Cyan))
    }

    /// Background shading of a confusion-matrix cell holding `fraction` of its row.
    pub fn heat(&self, fraction: f64) -> Style {
        const RAMP: [(f64, u8); 5] = [(0.6, 27), (0.4, 25), (0.2, 24), (0.1, 239), (0.03, 236)];
        let shade = RAMP.iter().find(|(threshold, _)| fraction >= *threshold);
        match shade {
            Some(&(_, index)) => {
                self.pick(Style::default().fg(Color::White).bg(Color::Indexed(index)))
            }
            None => self.dim(),
        }
    }

    /// Replaces every non-ASCII symbol in `area` by an ASCII look-alike: a
    /// safety net for glyphs that widgets draw themselves (chart axes, legends).
    pub fn asciify(&self, buf: &mut Buffer, area: Rect) {
        if self.colour {
            return;
        }
        let area = area.intersection(buf.area);
        for y in area.top()..area.bottom() {
            for x in area.left()..area.right() {
                let cell = &mut buf[(x, y)];
                if !cell.symbol().is_ascii() {
                    let replacement = ascii_lookalike(cell.symbol());
                    cell.set_char(replacement);
                }
            }
        }
    }
}

fn ascii_lookalike(symbol: &str) -> char {
    let Some(c) = symbol.chars().next() else {
        return ' ';
    };
    match c {
        '│' | '┃' | '║' | '╎' | '┆' | '┊' => '|',
        '─' | '━' | '═' | '╌' | '┄' | '┈' => '-',
        '\u{2500}'..='\u{257F}' => '+',
        '\u{2800}' => ' ',
        '\u{2801}'..='\u{28FF}' | '•' | '·' => '*',
        '█' | '▓' | '▒' | '▄' | '▀' => '#',
        '░' => '.',
        _ => '?',
    }
}
