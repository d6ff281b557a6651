//! Evaluation with test-time augmentation: logits averaged over the views.

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};

use super::augment::{upload_images, Augmenter};
use super::config::Tta;
use crate::data::{Split, IMAGE_PIXELS, NUM_CLASSES};
pub use crate::metrics::argmax;
use crate::metrics::ConfusionMatrix;
use crate::model::Model;

/// The outcome of evaluating one split.
#[derive(Clone, Debug)]
pub struct Evaluation {
    pub confusion: ConfusionMatrix,
    /// Mean cross-entropy of the averaged logits (no label smoothing).
    pub loss: f64,
    /// Softmax of the averaged logits, one row per image (for ensembles and `predict`).
    pub probabilities: Vec<[f32; NUM_CLASSES]>,
}

impl Evaluation {
    /// Probabilities not yet scored against labels (an ensemble member read from a
    /// file): an empty confusion matrix and no loss; `ensemble::average` scores them.
    pub fn unscored(probabilities: Vec<[f32; NUM_CLASSES]>) -> Self {
        Self {
            confusion: ConfusionMatrix::new(NUM_CLASSES),
            loss: 0.0,
            probabilities,
        }
    }

    pub fn accuracy(&self) -> f64 {
        self.confusion.accuracy()
    }
}

/// Averaged logits `[B, 7]` of a batch of `[B, 1, 48, 48]` images over the TTA views.
pub fn predict_logits<B: Backend>(
    model: &Model<B>,
    augmenter: &Augmenter<B>,
    images: Tensor<B, 4>,
    tta: Tta,
) -> Tensor<B, 2> {
    let views = augmenter.test_views(images, tta);
    let count = views.len() as f64;
    views
        .into_iter()
        .map(|view| model.forward(view))
        .reduce(|sum, logits| sum + logits)
        .map(|sum| sum / count)
        .unwrap_or_else(|| Tensor::zeros([0, NUM_CLASSES], &augmenter.device()))
}

pub fn evaluate<B: Backend>(
    model: &Model<B>,
    split: &Split,
    augmenter: &Augmenter<B>,
    tta: Tta,
    batch_size: usize,
) -> Evaluation {
    let device = augmenter.device();
    let mut confusion = ConfusionMatrix::new(NUM_CLASSES);
    let mut loss_sum = 0.0;
    let mut probabilities = Vec::with_capacity(split.len());
    for start in (0..split.len()).step_by(batch_size.max(1)) {
        let end = (start + batch_size.max(1)).min(split.len());
        let pixels = &split.images[start * IMAGE_PIXELS..end * IMAGE_PIXELS];
        let labels = &split.labels[start..end];
        let logits = predict_logits(model, augmenter, upload_images(pixels, &device), tta);
        let label_index: Tensor<B, 2, Int> = Tensor::from_data(
            TensorData::new(
                labels.iter().map(|&l| l as i64).collect(),
                [labels.len(), 1],
            ),
            &device,
        );
        let nll = log_softmax(logits.clone(), 1)
            .gather(1, label_index)
            .neg()
            .sum();
        loss_sum += nll.into_scalar().elem_to_f64();
        let rows = softmax(logits, 1)
            .into_data()
            .to_vec::<f32>()
            .unwrap_or_default();
        for (row, &label) in rows.chunks_exact(NUM_CLASSES).zip(labels) {
            let mut probs = [0.0; NUM_CLASSES];
            probs.copy_from_slice(row);
            confusion.record(label as usize, argmax(&probs)).ok();
            probabilities.push(probs);
        }
    }
    Evaluation {
        confusion,
        loss: loss_sum / split.len().max(1) as f64,
        probabilities,
    }
}

trait ElemToF64 {
    fn elem_to_f64(self) -> f64;
}

impl<E: burn::tensor::ElementConversion> ElemToF64 for E {
    fn elem_to_f64(self) -> f64 {
        self.elem::<f64>()
    }
}

/// Rebuilds the configured model from checkpoint bytes and evaluates it on `split`
/// (also how `fer predict` gets probabilities: labels are then ignored).
pub fn evaluate_checkpoint<B: Backend>(
    config: &super::TrainConfig,
    model_bytes: Vec<u8>,
    split: &Split,
    device: &B::Device,
) -> Result<Evaluation, super::TrainError> {
    let model = crate::model::build::<B>(&config.model, device)
        .map_err(|e| super::TrainError::Checkpoint(e.to_string()))?;
    let model = super::model_from_bytes(model, model_bytes, device)?;
    let augmenter = Augmenter::new(config.augment.clone(), device);
    Ok(evaluate(
        &model,
        split,
        &augmenter,
        config.tta,
        config.eval_batch_size,
    ))
}
