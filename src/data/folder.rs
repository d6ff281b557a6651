//! The per-image layout `<root>/{train,test}/<emotion>/*.{png,jpg,jpeg}`, as in
//! the widely mirrored JPEG edition of FER2013.

use std::fs;
use std::path::{Path, PathBuf};
use std::thread;

use image::imageops::{self, FilterType};
use image::ImageReader;

use super::error::DataError;
use super::{Dataset, Emotion, IMAGE_PIXELS, IMAGE_SIDE};

const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];
/// Folder names other editions use for the same classes.
const EMOTION_ALIASES: [(&str, u8); 6] = [
    ("anger", 0),
    ("disgusted", 1),
    ("fearful", 2),
    ("happiness", 3),
    ("sadness", 4),
    ("surprised", 5),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Train,
    Val,
    Test,
}

/// One image to decode and where it goes.
struct ImageFile {
    path: PathBuf,
    label: u8,
    target: Target,
}

/// Loads every image under `root` (no hold-out, no source name).
pub fn load_folder(root: &Path, skip_bad_rows: bool) -> Result<Dataset, DataError> {
    let files = list_images(root)?;
    if files.is_empty() {
        return Err(DataError::NoImages {
            folder: root.to_path_buf(),
            skipped: 0,
        });
    }
    let mut pixels = vec![0u8; files.len() * IMAGE_PIXELS];
    let outcomes = decode_all(&files, &mut pixels);

    let mut dataset = Dataset::default();
    for ((file, outcome), image) in files
        .iter()
        .zip(outcomes)
        .zip(pixels.chunks_exact(IMAGE_PIXELS))
    {
        match outcome {
            Ok(()) => {
                let split = match file.target {
                    Target::Train => &mut dataset.train,
                    Target::Val => &mut dataset.val,
                    Target::Test => &mut dataset.test,
                };
                split.push(image, file.label);
            }
            Err(error) if skip_bad_rows && error.is_row_level() => dataset.skipped_rows += 1,
            Err(error) => return Err(error),
        }
    }
    if dataset.skipped_rows == files.len() {
        return Err(DataError::NoImages {
            folder: root.to_path_buf(),
            skipped: dataset.skipped_rows,
        });
    }
    Ok(dataset)
}

/// All image files in a deterministic order: split folder, emotion folder, file name.
fn list_images(root: &Path) -> Result<Vec<ImageFile>, DataError> {
    let mut files = Vec::new();
    for (split_folder, split_name) in sorted_entries(root)? {
        let Some(kind) = split_kind(&split_name) else {
            continue;
        };
        if !split_folder.is_dir() {
            continue;
        }
        for (emotion_folder, emotion_name) in sorted_entries(&split_folder)? {
            if !emotion_folder.is_dir() || emotion_name.starts_with('.') {
                continue;
            }
            let label =
                emotion_label(&emotion_name).ok_or_else(|| DataError::UnknownEmotionFolder {
                    folder: emotion_folder.clone(),
                    name: emotion_name.clone(),
                })?;
            for (path, file_name) in sorted_entries(&emotion_folder)? {
                if is_image_name(&file_name) && path.is_file() {
                    files.push(ImageFile {
                        path,
                        label,
                        target: target_for(kind, &file_name),
                    });
                }
            }
        }
    }
    Ok(files)
}

#[derive(Debug, Clone, Copy)]
enum SplitFolder {
    Train,
    Val,
    Test,
}

fn split_kind(name: &str) -> Option<SplitFolder> {
    match name.to_ascii_lowercase().as_str() {
        "train" => Some(SplitFolder::Train),
        "val" | "validation" => Some(SplitFolder::Val),
        "test" => Some(SplitFolder::Test),
        _ => None,
    }
}

/// In `test/`, the JPEG edition keeps FER2013's Usage in the file name.
fn target_for(folder: SplitFolder, file_name: &str) -> Target {
    match folder {
        SplitFolder::Train => Target::Train,
        SplitFolder::Val => Target::Val,
        SplitFolder::Test if file_name.starts_with("PublicTest_") => Target::Val,
        SplitFolder::Test => Target::Test,
    }
}

fn emotion_label(folder_name: &str) -> Option<u8> {
    Emotion::from_name(folder_name)
        .map(|emotion| emotion.0)
        .or_else(|| {
            EMOTION_ALIASES
                .iter()
                .find(|(alias, _)| alias.eq_ignore_ascii_case(folder_name))
                .map(|&(_, label)| label)
        })
}

fn is_image_name(file_name: &str) -> bool {
    let extension = file_name
        .rsplit_once('.')
        .map_or("", |(_, extension)| extension);
    !file_name.starts_with('.')
        && IMAGE_EXTENSIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(extension))
}

/// Directory entries with their names, sorted by name.
fn sorted_entries(folder: &Path) -> Result<Vec<(PathBuf, String)>, DataError> {
    let read_error = |source| DataError::io(folder, source);
    let mut entries = Vec::new();
    for entry in fs::read_dir(folder).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        entries.push((
            entry.path(),
            entry.file_name().to_string_lossy().into_owned(),
        ));
    }
    entries.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(entries)
}

/// Decodes the images on all cores; `pixels` holds one 48x48 slot per file.
fn decode_all(files: &[ImageFile], pixels: &mut [u8]) -> Vec<Result<(), DataError>> {
    let workers = thread::available_parallelism().map_or(1, usize::from);
    let per_worker = files.len().div_ceil(workers).max(1);
    thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(per_worker)
            .zip(pixels.chunks_mut(per_worker * IMAGE_PIXELS))
            .map(|(files, slots)| {
                scope.spawn(move || {
                    files
                        .iter()
                        .zip(slots.chunks_exact_mut(IMAGE_PIXELS))
                        .map(|(file, slot)| decode_into(&file.path, slot))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// Reads any image file as 48x48 grey pixels (what `fer predict` feeds the model).
pub fn load_image(path: &Path) -> Result<Vec<u8>, DataError> {
    let mut pixels = vec![0; IMAGE_PIXELS];
    decode_into(path, &mut pixels)?;
    Ok(pixels)
}

/// Decodes one image as 48x48 grey into `slot`.
fn decode_into(path: &Path, slot: &mut [u8]) -> Result<(), DataError> {
    let bad_image = |source| DataError::BadImage {
        file: path.to_path_buf(),
        source,
    };
    let image = ImageReader::open(path)
        .map_err(|source| DataError::io(path, source))?
        .with_guessed_format()
        .map_err(|source| DataError::io(path, source))?
        .decode()
        .map_err(bad_image)?
        .into_luma8();
    slot.copy_from_slice(&training_pixels(&image));
    Ok(())
}

/// A grey image as the model sees one: resized (triangle filter) to 48x48. Face
/// crops in photos go through here too, so they match the training images.
pub fn training_pixels(image: &image::GrayImage) -> Vec<u8> {
    let side = IMAGE_SIDE as u32;
    if image.dimensions() == (side, side) {
        return image.as_raw().clone();
    }
    imageops::resize(image, side, side, FilterType::Triangle).into_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_file_names_to_splits() {
        assert_eq!(
            target_for(SplitFolder::Test, "PublicTest_1.jpg"),
            Target::Val
        );
        assert_eq!(
            target_for(SplitFolder::Test, "PrivateTest_1.jpg"),
            Target::Test
        );
        assert_eq!(target_for(SplitFolder::Test, "im1.png"), Target::Test);
        assert_eq!(
            target_for(SplitFolder::Train, "PublicTest_1.jpg"),
            Target::Train
        );
    }

    #[test]
    fn recognises_emotion_folders_and_image_names() {
        assert_eq!(emotion_label("HAPPY"), Some(3));
        assert_eq!(emotion_label("fearful"), Some(2));
        assert_eq!(emotion_label("contempt"), None);
        assert!(is_image_name("a.JPG") && is_image_name("b.jpeg") && is_image_name("c.png"));
        assert!(
            !is_image_name("notes.txt") && !is_image_name("png") && !is_image_name(".hidden.png")
        );
    }
}
