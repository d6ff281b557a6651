//! The faces pane's state: which confusion cell the cursor is on, the latest
//! `faces.json` of the run, and the faces of that cell made ready to draw.
//!
//! Pixels come from the run's data set (`FaceImages`, filled by whoever started
//! the dashboard, possibly from another thread while it loads); the file is read
//! again after each validation, only while the pane is open. Drawing the tiles is
//! prepared here (`prepare`), so that the view stays a pure function of state.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use image::imageops::FilterType;
use image::{DynamicImage, GrayImage};
use ratatui::layout::Size;
use ratatui_image::picker::{Picker, ProtocolType};
use ratatui_image::protocol::Protocol;
use ratatui_image::Resize;

use crate::data::{Split, IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};
use crate::run::faces::{read_faces, Face, FacesCell};
use crate::run::ValidationFaces;

/// The validation split of the shown run's data set, once loaded (or why it could
/// not be); shared with whoever loads it, and replaced when a queued run starts.
#[derive(Clone, Default)]
pub struct FaceImages(Arc<Mutex<Option<LoadedImages>>>);

/// The split, or why it could not be loaded.
pub type LoadedImages = Result<Arc<Split>, String>;

impl FaceImages {
    pub fn set(&self, images: LoadedImages) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(images);
    }

    /// `None` while loading.
    pub fn get(&self) -> Option<LoadedImages> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// A face's size on screen, in cells (half-blocks: 12 x 12 pixels of the 48 x 48 face).
pub const TILE_COLUMNS: u16 = 12;
pub const TILE_ROWS: u16 = 6;

/// Darkest to brightest, for terminals without colour.
const ASCII_RAMP: &[u8] = b" .:-=+*#%@";

/// How faces are drawn: terminal graphics or half-blocks (`Picker`), or ASCII shades.
pub enum FaceDrawing {
    Picture(Picker),
    Ascii,
}

/// One face of the selected cell, ready to draw.
pub struct Tile {
    pub face: Face,
    pub picture: TilePicture,
}

pub enum TilePicture {
    Protocol(Protocol),
    Ascii(Vec<String>),
}

#[derive(Default)]
pub struct FacesPane {
    pub visible: bool,
    /// (true class, predicted class) of the selected cell.
    pub cursor: (usize, usize),
    record: Option<ValidationFaces>,
    stale: bool,
    run_dir: Option<PathBuf>,
    images: FaceImages,
    drawing: Option<FaceDrawing>,
    tiles: Vec<Tile>,
    /// What `tiles` were made for: (epoch, cursor).
    tiles_for: Option<(usize, (usize, usize))>,
    problem: Option<String>,
}

impl FacesPane {
    pub fn new(run_dir: Option<PathBuf>, images: FaceImages) -> Self {
        Self {
            run_dir,
            images,
            stale: true,
            cursor: (0, 0),
            ..Self::default()
        }
    }

    pub fn toggle(&mut self) {
        self.visible = !self.visible;
    }

    /// Moves the cursor over the 7 x 7 matrix, staying inside it.
    pub fn move_cursor(&mut self, rows: isize, columns: isize) {
        let clamp =
            |value: usize, delta: isize| value.saturating_add_signed(delta).min(NUM_CLASSES - 1);
        self.cursor = (clamp(self.cursor.0, rows), clamp(self.cursor.1, columns));
    }

    /// A validation finished: its file is read before the next drawing.
    pub fn mark_stale(&mut self) {
        self.stale = true;
    }

    /// The run whose faces to show: `announced` as the engine wrote it, or, when
    /// that path does not exist from here (another working directory), the
    /// sibling of the known run directory with the same name.
    pub fn follow_run(&mut self, announced: &str) {
        let announced = Path::new(announced);
        let resolved = if announced.is_dir() {
            Some(announced.to_path_buf())
        } else {
            let sibling = |known: &PathBuf| Some(known.parent()?.join(announced.file_name()?));
            self.run_dir.as_ref().and_then(sibling)
        };
        if let Some(dir) = resolved.filter(|dir| dir.is_dir()) {
            if self.run_dir.as_ref() != Some(&dir) {
                self.run_dir = Some(dir);
                self.record = None;
                self.tiles_for = None;
            }
            self.stale = true;
        }
    }

    /// True while nothing has chosen how to draw faces (the terminal loop asks the
    /// terminal emulator what it can show when it starts).
    pub fn needs_drawing(&self) -> bool {
        self.drawing.is_none()
    }

    pub fn set_drawing(&mut self, drawing: FaceDrawing) {
        self.drawing = Some(drawing);
        self.tiles_for = None;
    }

    /// Reads a new `faces.json` if one is due and makes the selected cell's
    /// tiles; cheap when nothing changed. Only while the pane is open.
    pub fn prepare(&mut self) {
        if !self.visible {
            return;
        }
        if self.stale {
            self.reload();
        }
        let Some(record) = &self.record else {
            self.tiles.clear();
            return;
        };
        let key = (record.epoch, self.cursor);
        if self.tiles_for == Some(key) {
            return;
        }
        let Some(Ok(split)) = self.images.get() else {
            self.tiles.clear();
            return;
        };
        let split = split.as_ref();
        if split.len() != record.images {
            self.problem = Some(format!(
                "the data set has {} validation images, the run {}: not the run's data",
                split.len(),
                record.images
            ));
            self.tiles.clear();
            return;
        }
        let faces = record
            .cell(self.cursor.0, self.cursor.1)
            .map(|cell| cell.faces.clone())
            .unwrap_or_default();
        let drawing = self
            .drawing
            .get_or_insert_with(|| FaceDrawing::Picture(Picker::halfblocks()));
        self.tiles = faces
            .into_iter()
            .filter_map(|face| {
                let pixels = face_pixels(split, face.index)?;
                Some(Tile {
                    face,
                    picture: picture(drawing, pixels),
                })
            })
            .collect();
        self.tiles_for = Some(key);
    }

    fn reload(&mut self) {
        self.stale = false;
        let Some(dir) = &self.run_dir else {
            return;
        };
        match read_faces(dir) {
            Ok(Some(record)) => {
                self.record = Some(record);
                self.tiles_for = None;
                self.problem = None;
            }
            Ok(None) => {}
            Err(error) => self.problem = Some(error.to_string()),
        }
    }

    /// The latest validation's record, if read.
    pub fn record(&self) -> Option<&ValidationFaces> {
        self.record.as_ref()
    }

    pub fn selected_cell(&self) -> Option<&FacesCell> {
        self.record.as_ref()?.cell(self.cursor.0, self.cursor.1)
    }

    pub fn tiles(&self) -> &[Tile] {
        &self.tiles
    }

    /// Why there is nothing to show, when something went wrong or is on its way.
    pub fn status(&self) -> Option<String> {
        if let Some(problem) = &self.problem {
            return Some(problem.clone());
        }
        match self.images.get() {
            None => Some("loading the data set…".into()),
            Some(Err(error)) => Some(format!("no faces: {error}")),
            Some(Ok(_)) if self.record.is_none() => {
                Some("faces appear after the first validation".into())
            }
            Some(Ok(_)) => None,
        }
    }
}

/// The graphics protocol to draw faces with, from the environment (`var` reads a
/// variable): `FER_GRAPHICS` (`kitty`, `sixel`, `iterm2`, or `off`/`halfblocks`) when
/// set; else kitty (and Ghostty) the kitty protocol, iTerm2 and WezTerm iTerm2's, foot
/// and mlterm sixel. `None` (half-blocks) elsewhere, and inside tmux, which passes
/// graphics through only when configured to.
pub fn graphics_from_environment(var: impl Fn(&str) -> Option<String>) -> Option<ProtocolType> {
    match var("FER_GRAPHICS").as_deref().map(str::trim) {
        Some("kitty") => return Some(ProtocolType::Kitty),
        Some("sixel") => return Some(ProtocolType::Sixel),
        Some("iterm2") => return Some(ProtocolType::Iterm2),
        Some("off" | "halfblocks") => return None,
        _ => {}
    }
    if var("TMUX").is_some_and(|value| !value.is_empty()) {
        return None;
    }
    let term = var("TERM").unwrap_or_default();
    let program = var("TERM_PROGRAM").unwrap_or_default();
    if var("KITTY_WINDOW_ID").is_some() || term.contains("kitty") || program == "ghostty" {
        Some(ProtocolType::Kitty)
    } else if program == "iTerm.app" || program == "WezTerm" {
        Some(ProtocolType::Iterm2)
    } else if term.starts_with("foot") || term.starts_with("mlterm") {
        Some(ProtocolType::Sixel)
    } else {
        None
    }
}

fn face_pixels(split: &Split, index: usize) -> Option<&[u8]> {
    split
        .images
        .get(index * IMAGE_PIXELS..(index + 1) * IMAGE_PIXELS)
}

fn picture(drawing: &FaceDrawing, pixels: &[u8]) -> TilePicture {
    let side = IMAGE_SIDE as u32;
    let Some(face) = GrayImage::from_raw(side, side, pixels.to_vec()) else {
        return TilePicture::Ascii(Vec::new());
    };
    match drawing {
        FaceDrawing::Ascii => TilePicture::Ascii(ascii_face(&face)),
        FaceDrawing::Picture(picker) => {
            let font = picker.font_size();
            let (width, height) = (
                u32::from(TILE_COLUMNS) * u32::from(font.width.max(1)),
                u32::from(TILE_ROWS) * u32::from(font.height.max(1)),
            );
            // Scaled to fill the tile: graphics protocols then draw it sharp.
            let scaled =
                DynamicImage::ImageLuma8(face).resize_exact(width, height, FilterType::Triangle);
            match picker.new_protocol(
                scaled,
                Size::new(TILE_COLUMNS, TILE_ROWS),
                Resize::Fit(None),
            ) {
                Ok(protocol) => TilePicture::Protocol(protocol),
                Err(_) => TilePicture::Ascii(Vec::new()),
            }
        }
    }
}

/// The face as `TILE_ROWS` lines of `TILE_COLUMNS` shades.
fn ascii_face(face: &GrayImage) -> Vec<String> {
    let small = image::imageops::resize(
        face,
        u32::from(TILE_COLUMNS),
        u32::from(TILE_ROWS),
        FilterType::Triangle,
    );
    small
        .rows()
        .map(|row| {
            row.map(|pixel| {
                let shade = usize::from(pixel.0[0]) * (ASCII_RAMP.len() - 1) / 255;
                char::from(ASCII_RAMP[shade])
            })
            .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    #[test]
    fn graphics_come_from_what_the_environment_names() {
        let kitty = environment(&[("TERM", "xterm-kitty")]);
        assert_eq!(graphics_from_environment(kitty), Some(ProtocolType::Kitty));
        let iterm = environment(&[("TERM_PROGRAM", "iTerm.app"), ("TERM", "xterm-256color")]);
        assert_eq!(graphics_from_environment(iterm), Some(ProtocolType::Iterm2));
        let foot = environment(&[("TERM", "foot")]);
        assert_eq!(graphics_from_environment(foot), Some(ProtocolType::Sixel));
        let plain = environment(&[("TERM", "xterm-256color")]);
        assert_eq!(graphics_from_environment(plain), None);
        let in_tmux = environment(&[("TERM", "xterm-kitty"), ("TMUX", "/tmp/tmux-0/default,1,0")]);
        assert_eq!(
            graphics_from_environment(in_tmux),
            None,
            "half-blocks in tmux"
        );
        let forced = environment(&[
            ("FER_GRAPHICS", "sixel"),
            ("TMUX", "/tmp/tmux-0/default,1,0"),
        ]);
        assert_eq!(graphics_from_environment(forced), Some(ProtocolType::Sixel));
        let off = environment(&[("FER_GRAPHICS", "off"), ("TERM", "xterm-kitty")]);
        assert_eq!(graphics_from_environment(off), None);
    }

    #[test]
    fn the_cursor_stays_on_the_matrix() {
        let mut pane = FacesPane::default();
        pane.move_cursor(-1, -1);
        assert_eq!(pane.cursor, (0, 0));
        pane.move_cursor(20, 3);
        assert_eq!(pane.cursor, (NUM_CLASSES - 1, 3));
    }
}
