//! `fer predict`: the emotion of every face in photos (detected), in face crops
//! (`--no-detect`) or in the rows of FER2013 CSV files, from a run's best checkpoint.
//! A file that cannot be read is reported and skipped; the exit code says so.

mod inputs;
mod output;

use std::io::IsTerminal;
use std::path::Path;

use anyhow::Result;
use image::{DynamicImage, ImageReader};

use super::args::{PredictArgs, PredictFormat};
use super::UserError;
use fer::data::{self, Split, NUM_CLASSES};
use fer::device::{self, BackendTask, Device};
use fer::faces::annotate::{annotate, save, Annotation};
use fer::faces::{face_pixels, FaceBox, FaceDetector};
use fer::run::{CheckpointKind, RunDir};
use fer::train::checkpoint::CheckpointFile;
use fer::train::evaluate::evaluate_checkpoint;
use fer::train::TrainError;
use inputs::Input;

/// What one input file gave: its faces, or why it could not be read.
#[derive(Debug)]
pub struct FileRecord {
    pub file: String,
    /// Width and height of a photo.
    pub size: Option<(u32, u32)>,
    pub faces: Vec<FaceRecord>,
    pub error: Option<String>,
}

#[derive(Debug)]
pub struct FaceRecord {
    pub face: FaceBox,
    pub probabilities: [f32; NUM_CLASSES],
}

pub fn run(args: PredictArgs) -> Result<()> {
    let run = RunDir::open(&args.run)?;
    let checkpoint = CheckpointFile::load(&run.checkpoint_path(CheckpointKind::Best))?;
    let device = device::resolve(args.device.parse()?)?;
    let inputs = inputs::collect(&args.inputs);
    let mut detector = match args.no_detect {
        true => None,
        false => Some(FaceDetector::new(args.min_face)?),
    };
    let (mut records, crops) = read_all(&inputs, detector.as_mut());
    assign(&mut records, classify(checkpoint, crops, device)?);
    let format = args
        .format
        .unwrap_or(match std::io::stdout().is_terminal() {
            true => PredictFormat::Table,
            false => PredictFormat::Json,
        });
    output::print(&records, format, args.min_face)?;
    if let Some(dir) = &args.annotate {
        annotate_all(&inputs, &mut records, dir);
    }
    let unread = records.iter().filter(|r| r.error.is_some()).count();
    if unread > 0 {
        let message = format!(
            "{unread} of {} files could not be read (named above)",
            records.len()
        );
        return Err(UserError(message).into());
    }
    Ok(())
}

/// Reads every input (a progress bar on a terminal when there are many), finds its
/// faces and crops them; the crops come back in the records' order.
fn read_all(inputs: &[Input], mut detector: Option<&mut FaceDetector>) -> (Vec<FileRecord>, Split) {
    let bar = progress_bar(inputs.len());
    let mut crops = Split::default();
    let mut records = Vec::with_capacity(inputs.len());
    for input in inputs {
        bar.set_message(input.path().display().to_string());
        records.push(read(input, detector.as_deref_mut(), &mut crops));
        bar.inc(1);
    }
    bar.finish_and_clear();
    (records, crops)
}

fn progress_bar(files: usize) -> indicatif::ProgressBar {
    if files < 2 || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(files as u64);
    let style = indicatif::ProgressStyle::with_template(
        "{bar:30} {pos}/{len} files  {per_sec}  eta {eta}  {wide_msg}",
    );
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar
}

fn read(input: &Input, detector: Option<&mut FaceDetector>, crops: &mut Split) -> FileRecord {
    let file = input.path().display().to_string();
    let mut record = FileRecord {
        file,
        size: None,
        faces: Vec::new(),
        error: None,
    };
    let outcome = match input {
        Input::Unreadable { reason, .. } => Err(reason.clone()),
        Input::Table(path) => read_table(path, &mut record, crops),
        Input::Image { path, .. } => read_photo(path, detector, &mut record, crops),
    };
    record.error = outcome.err();
    record
}

fn read_photo(
    path: &Path,
    detector: Option<&mut FaceDetector>,
    record: &mut FileRecord,
    crops: &mut Split,
) -> Result<(), String> {
    let grey = decode(path)?.into_luma8();
    record.size = Some(grey.dimensions());
    let faces = match detector {
        Some(detector) => detector.detect(&grey),
        None => vec![FaceBox::whole(&grey)],
    };
    for face in faces {
        crops.push(&face_pixels(&grey, &face), 0);
        record.faces.push(FaceRecord {
            face,
            probabilities: [0.0; NUM_CLASSES],
        });
    }
    Ok(())
}

fn decode(path: &Path) -> Result<DynamicImage, String> {
    ImageReader::open(path)
        .and_then(|reader| reader.with_guessed_format())
        .map_err(|e| e.to_string())?
        .decode()
        .map_err(|e| format!("cannot decode image: {e}"))
}

/// Every row of a FER2013 CSV, as a face filling its 48x48 image.
fn read_table(path: &Path, record: &mut FileRecord, crops: &mut Split) -> Result<(), String> {
    let options = data::LoadOptions {
        val_fraction: 0.0,
        ..Default::default()
    };
    let dataset = data::load(path, &options).map_err(|e| e.to_string())?;
    let side = data::IMAGE_SIDE as u32;
    for rows in [&dataset.train, &dataset.val, &dataset.test] {
        for index in 0..rows.len() {
            crops.push(rows.image(index), rows.labels[index]);
            record.faces.push(FaceRecord {
                face: FaceBox {
                    x: 0,
                    y: 0,
                    width: side,
                    height: side,
                    score: None,
                },
                probabilities: [0.0; NUM_CLASSES],
            });
        }
    }
    Ok(())
}

fn assign(records: &mut [FileRecord], probabilities: Vec<[f32; NUM_CLASSES]>) {
    let faces = records
        .iter_mut()
        .flat_map(|record| record.faces.iter_mut());
    for (face, probabilities) in faces.zip(probabilities) {
        face.probabilities = probabilities;
    }
}

/// All faces in one pass on the device, in batches of the run's evaluation size.
fn classify(
    checkpoint: CheckpointFile,
    crops: Split,
    device: Device,
) -> Result<Vec<[f32; NUM_CLASSES]>> {
    if crops.is_empty() {
        return Ok(Vec::new());
    }
    let task = PredictTask {
        checkpoint,
        split: crops,
    };
    Ok(device::dispatch(device, task)?)
}

/// Writes the annotated copies; a copy that cannot be written makes its file's
/// record an error (named on stderr, and in the exit code).
fn annotate_all(inputs: &[Input], records: &mut [FileRecord], dir: &Path) {
    for (input, record) in inputs.iter().zip(records.iter_mut()) {
        let (Input::Image { path, relative }, None) = (input, &record.error) else {
            continue;
        };
        let target = dir.join(relative);
        if let Err(error) = annotate_one(path, record, &target) {
            super::say_error(format!(
                "{}: annotated copy not written: {error}",
                target.display()
            ));
            record.error = Some(format!("annotated copy not written: {error}"));
        }
    }
}

fn annotate_one(path: &Path, record: &FileRecord, target: &Path) -> Result<(), String> {
    let annotations: Vec<Annotation> = record
        .faces
        .iter()
        .map(|face| Annotation {
            face: face.face,
            label: output::short_label(&face.probabilities),
        })
        .collect();
    let drawn = annotate(decode(path)?, &annotations)?;
    save(&drawn, target).map_err(|e| e.to_string())
}

struct PredictTask {
    checkpoint: CheckpointFile,
    split: Split,
}

impl BackendTask for PredictTask {
    type Output = Result<Vec<[f32; NUM_CLASSES]>, TrainError>;

    fn run<B: burn::tensor::backend::AutodiffBackend>(
        self,
        device: B::Device,
        _name: String,
    ) -> Self::Output {
        let config = &self.checkpoint.state.config;
        let evaluation = evaluate_checkpoint::<B::InnerBackend>(
            config,
            self.checkpoint.model,
            &self.split,
            &device,
        )?;
        Ok(evaluation.probabilities)
    }
}
