//! The faces pane: the validation faces of the confusion cell under the cursor,
//! most confident first, each with the probability the model gave its prediction.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};
use ratatui_image::Image;

use crate::data::EMOTIONS;
use crate::tui::app::App;
use crate::tui::faces::{TilePicture, TILE_COLUMNS, TILE_ROWS};
use crate::tui::theme::Theme;

/// A tile, a caption line, and a blank column between tiles.
const CELL_WIDTH: u16 = TILE_COLUMNS + 1;
const CELL_HEIGHT: u16 = TILE_ROWS + 1;

pub fn render(app: &App, area: Rect, buf: &mut Buffer) {
    let (faces, theme) = (app.faces(), app.theme());
    let (truth, predicted) = faces.cursor;
    let arrow = if theme.is_ascii() { "->" } else { "→" };
    let mut title = format!("Faces: {} {arrow} {}", emotion(truth), emotion(predicted));
    if let (Some(record), Some(cell)) = (faces.record(), faces.selected_cell()) {
        title.push_str(&format!(
            " ({} of {} shown, val epoch {}, surest first)",
            faces.tiles().len().min(cell.count),
            cell.count,
            record.epoch
        ));
    }
    let block = theme.block(title);
    let inner = block.inner(area);
    block.render(area, buf);
    if let Some(status) = faces.status() {
        Paragraph::new(Line::styled(status, theme.dim())).render(inner, buf);
        return;
    }
    if faces.tiles().is_empty() {
        let text = format!(
            "no validation face of {} was predicted {} (arrows/hjkl move, f closes)",
            emotion(truth),
            emotion(predicted)
        );
        Paragraph::new(Line::styled(text, theme.dim())).render(inner, buf);
        return;
    }
    render_tiles(app, inner, buf, theme);
}

fn render_tiles(app: &App, area: Rect, buf: &mut Buffer, theme: &Theme) {
    let columns = (area.width / CELL_WIDTH).max(1);
    let rows = area.height / CELL_HEIGHT;
    let shown = usize::from(columns * rows);
    for (slot, tile) in app.faces().tiles().iter().take(shown).enumerate() {
        let slot = slot as u16;
        let x = area.x + (slot % columns) * CELL_WIDTH;
        let y = area.y + (slot / columns) * CELL_HEIGHT;
        let picture = Rect::new(x, y, TILE_COLUMNS, TILE_ROWS).intersection(area);
        match &tile.picture {
            TilePicture::Protocol(protocol) => Image::new(protocol).render(picture, buf),
            TilePicture::Ascii(lines) => {
                let lines: Vec<Line> = lines.iter().map(|line| Line::raw(line.clone())).collect();
                Paragraph::new(lines).render(picture, buf);
            }
        }
        let caption = format!(
            "{:^width$}",
            format!("{:.0}%", 100.0 * tile.face.probability),
            width = usize::from(TILE_COLUMNS)
        );
        let caption_area = Rect::new(x, y + TILE_ROWS, TILE_COLUMNS, 1).intersection(area);
        Paragraph::new(Line::styled(caption, theme.dim())).render(caption_area, buf);
    }
}

fn emotion(class: usize) -> &'static str {
    EMOTIONS.get(class).copied().unwrap_or("?")
}
