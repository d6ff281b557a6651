//! What `fer predict` was pointed at, as a list of files: photos (files, or found
//! in folders), FER2013 CSV tables, and paths that are not there.

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

/// The image files `fer predict` reads (what the `image` crate was built with).
const IMAGE_EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A photo, with the path its annotated copy gets below `--annotate`'s folder.
    Image { path: PathBuf, relative: PathBuf },
    /// A FER2013 CSV: each row is a 48x48 face.
    Table(PathBuf),
    /// A path that could not be listed, and why.
    Unreadable { path: PathBuf, reason: String },
}

impl Input {
    pub fn path(&self) -> &Path {
        match self {
            Input::Image { path, .. } | Input::Table(path) | Input::Unreadable { path, .. } => path,
        }
    }
}

/// Every input, folders expanded (recursively, sorted, images only) in order.
pub fn collect(paths: &[PathBuf]) -> Vec<Input> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.is_dir() {
            let found = images_in(path);
            if found.is_empty() {
                inputs.push(Input::Unreadable {
                    path: path.clone(),
                    reason: "no PNG or JPEG images in this folder".into(),
                });
            }
            inputs.extend(found);
        } else if is_table(path) {
            inputs.push(Input::Table(path.clone()));
        } else if path.exists() {
            let relative = PathBuf::from(path.file_name().unwrap_or(path.as_os_str()));
            inputs.push(Input::Image {
                path: path.clone(),
                relative,
            });
        } else {
            inputs.push(Input::Unreadable {
                path: path.clone(),
                reason: "no such file or directory".into(),
            });
        }
    }
    inputs
}

fn images_in(folder: &Path) -> Vec<Input> {
    let base = folder.file_name().map(PathBuf::from).unwrap_or_default();
    WalkDir::new(folder)
        .sort_by_file_name()
        .into_iter()
        .filter_map(|entry| match entry {
            Ok(entry) if entry.file_type().is_file() && is_image(entry.path()) => {
                let inside = entry.path().strip_prefix(folder).unwrap_or(entry.path());
                Some(Input::Image {
                    path: entry.path().to_path_buf(),
                    relative: base.join(inside),
                })
            }
            Ok(_) => None,
            Err(error) => Some(Input::Unreadable {
                path: error.path().unwrap_or(folder).to_path_buf(),
                reason: error
                    .io_error()
                    .map_or_else(|| error.to_string(), |e| e.to_string()),
            }),
        })
        .collect()
}

fn is_image(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

pub fn is_table(path: &Path) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    name.ends_with(".csv") || name.ends_with(".csv.gz")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_give_their_images_in_order_and_missing_paths_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let photos = dir.path().join("photos");
        std::fs::create_dir_all(photos.join("b")).unwrap();
        for name in ["z.PNG", "a.jpg", "notes.txt", "b/c.jpeg"] {
            std::fs::write(photos.join(name), b"x").unwrap();
        }
        let missing = dir.path().join("gone.png");
        let inputs = collect(&[photos.clone(), missing.clone()]);
        let relative: Vec<String> = inputs
            .iter()
            .filter_map(|input| match input {
                Input::Image { relative, .. } => Some(relative.display().to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(
            relative,
            ["photos/a.jpg", "photos/b/c.jpeg", "photos/z.PNG"]
        );
        assert_eq!(
            inputs.last(),
            Some(&Input::Unreadable {
                path: missing,
                reason: "no such file or directory".into()
            })
        );
    }
}
