//! `faces.json`: which validation images fell in each cell of the latest
//! validation's confusion matrix, so that a viewer can show the faces behind a
//! number ("Sad → Neutral 24%"). Images are named by their index in the run's
//! validation split; the viewer reads the pixels from the data set, never from
//! tensors. Rewritten at every validation.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{RunDir, RunError};
use crate::data::NUM_CLASSES;
use crate::metrics::argmax;

pub const FACES_FILE: &str = "faces.json";

/// Faces kept per cell: the most confident ones, enough to fill a large pane.
pub const FACES_PER_CELL: usize = 64;

/// The latest validation's faces, cell by cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ValidationFaces {
    pub epoch: usize,
    /// Images in the validation split (a viewer's data set must have as many).
    pub images: usize,
    /// Only the cells that hold an image.
    pub cells: Vec<FacesCell>,
}

/// One cell of the confusion matrix: true class, predicted class, how many images
/// fell in it and the most confident of them, most confident first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FacesCell {
    pub truth: usize,
    pub predicted: usize,
    pub count: usize,
    pub faces: Vec<Face>,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Face {
    /// Index in the validation split.
    pub index: usize,
    /// The probability of the predicted class (how sure the mistake was).
    pub probability: f32,
    /// The true label, so a viewer can tell that its data set is not the run's.
    pub label: u8,
}

impl ValidationFaces {
    /// Sorts every image into its cell by its most probable class.
    pub fn from_predictions(
        epoch: usize,
        labels: &[u8],
        probabilities: &[[f32; NUM_CLASSES]],
    ) -> Self {
        let mut cells: Vec<Vec<Face>> = vec![Vec::new(); NUM_CLASSES * NUM_CLASSES];
        for (index, (&label, probs)) in labels.iter().zip(probabilities).enumerate() {
            let predicted = argmax(probs);
            let truth = usize::from(label).min(NUM_CLASSES - 1);
            cells[truth * NUM_CLASSES + predicted].push(Face {
                index,
                probability: probs[predicted],
                label,
            });
        }
        let cells = cells
            .into_iter()
            .enumerate()
            .filter(|(_, faces)| !faces.is_empty())
            .map(|(cell, mut faces)| {
                faces.sort_by(|a, b| b.probability.total_cmp(&a.probability));
                let count = faces.len();
                faces.truncate(FACES_PER_CELL);
                FacesCell {
                    truth: cell / NUM_CLASSES,
                    predicted: cell % NUM_CLASSES,
                    count,
                    faces,
                }
            })
            .collect();
        Self {
            epoch,
            images: labels.len(),
            cells,
        }
    }

    pub fn cell(&self, truth: usize, predicted: usize) -> Option<&FacesCell> {
        self.cells
            .iter()
            .find(|cell| cell.truth == truth && cell.predicted == predicted)
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Plain structs of numbers: serialisation cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

impl RunDir {
    pub fn faces_path(&self) -> PathBuf {
        self.path().join(FACES_FILE)
    }

    /// `None` before the first validation (or for a run from before the file existed).
    pub fn read_faces(&self) -> Result<Option<ValidationFaces>, RunError> {
        read_faces(self.path())
    }
}

/// `faces.json` of the run directory `dir` (which need not have its config yet).
pub fn read_faces(dir: &Path) -> Result<Option<ValidationFaces>, RunError> {
    super::read_json_if_present(&dir.join(FACES_FILE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_hot(class: usize, probability: f32) -> [f32; NUM_CLASSES] {
        let rest = (1.0 - probability) / (NUM_CLASSES - 1) as f32;
        let mut probs = [rest; NUM_CLASSES];
        probs[class] = probability;
        probs
    }

    #[test]
    fn images_land_in_their_cell_most_confident_first() {
        let labels = [4, 4, 4, 3];
        let probabilities = [
            one_hot(6, 0.5),
            one_hot(6, 0.9),
            one_hot(4, 0.7),
            one_hot(3, 0.8),
        ];
        let faces = ValidationFaces::from_predictions(3, &labels, &probabilities);
        assert_eq!((faces.epoch, faces.images, faces.cells.len()), (3, 4, 3));
        let sad_as_neutral = faces.cell(4, 6).expect("Sad -> Neutral");
        assert_eq!(sad_as_neutral.count, 2);
        let order: Vec<usize> = sad_as_neutral.faces.iter().map(|f| f.index).collect();
        assert_eq!(order, vec![1, 0], "the surest mistake first");
        assert_eq!(sad_as_neutral.faces[0].probability, 0.9);
        assert!(faces.cell(4, 5).is_none());
        let back: ValidationFaces = serde_json::from_slice(&faces.to_json()).unwrap();
        assert_eq!(back, faces);
    }

    #[test]
    fn a_cell_keeps_only_its_most_confident_faces() {
        let labels = vec![0u8; FACES_PER_CELL + 10];
        let probabilities: Vec<_> = (0..labels.len())
            .map(|i| one_hot(0, 0.2 + 0.7 * i as f32 / labels.len() as f32))
            .collect();
        let faces = ValidationFaces::from_predictions(1, &labels, &probabilities);
        let cell = faces.cell(0, 0).unwrap();
        assert_eq!(
            (cell.count, cell.faces.len()),
            (labels.len(), FACES_PER_CELL)
        );
        assert_eq!(cell.faces[0].index, labels.len() - 1);
    }
}
