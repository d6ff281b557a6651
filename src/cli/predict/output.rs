//! `fer predict`'s records as a table for people, or JSON or CSV for programs.
//! Probabilities are always in FER2013 label order: angry, disgust, fear, happy,
//! sad, surprise, neutral.

use anyhow::Result;
use serde::Serialize;

use super::super::args::PredictFormat;
use super::super::say;
use super::{FaceRecord, FileRecord};
use fer::data::{EMOTIONS, NUM_CLASSES};
use fer::train::evaluate::argmax;

pub fn print(records: &[FileRecord], format: PredictFormat, min_face: u32) -> Result<()> {
    match format {
        PredictFormat::Table => records
            .iter()
            .for_each(|record| table_lines(record, min_face).iter().for_each(say)),
        PredictFormat::Json => say(serde_json::to_string_pretty(&json_records(records))?),
        PredictFormat::Csv => say(String::from_utf8(csv_bytes(records)?)?),
    }
    Ok(())
}

fn table_lines(record: &FileRecord, min_face: u32) -> Vec<String> {
    let file = &record.file;
    if let Some(error) = &record.error {
        return vec![format!("{file}  cannot be read: {error}")];
    }
    if record.faces.is_empty() {
        return vec![format!(
            "{file}  no face found (faces of {min_face} px and more; --min-face changes that, --no-detect takes the whole image as a face)"
        )];
    }
    let count = record.faces.len();
    record
        .faces
        .iter()
        .enumerate()
        .map(|(index, face)| {
            let b = face.face;
            let score = face
                .face
                .score
                .map(|s| format!("  score {s:.1}"))
                .unwrap_or_default();
            format!(
                "{file}  face {}/{count}  [{}, {}, {}, {}]{score}  {}",
                index + 1,
                b.x,
                b.y,
                b.width,
                b.height,
                top_three(&face.probabilities)
            )
        })
        .collect()
}

/// `Happy 81.2%, Neutral 9.0%, Sad 4.1%`.
pub fn top_three(probabilities: &[f32; NUM_CLASSES]) -> String {
    let mut ranked: Vec<usize> = (0..NUM_CLASSES).collect();
    ranked.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    ranked[..3]
        .iter()
        .map(|&class| format!("{} {:.1}%", EMOTIONS[class], 100.0 * probabilities[class]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Happy 81%`, as drawn on annotated copies.
pub fn short_label(probabilities: &[f32; NUM_CLASSES]) -> String {
    let class = argmax(&probabilities[..]);
    format!("{} {:.0}%", EMOTIONS[class], 100.0 * probabilities[class])
}

#[derive(Serialize)]
struct JsonFile<'a> {
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    faces: Vec<JsonFace>,
}

#[derive(Serialize)]
struct JsonFace {
    face: usize,
    /// `[x, y, width, height]` in the original image's pixels.
    #[serde(rename = "box")]
    bounds: [u32; 4],
    score: Option<f64>,
    emotion: &'static str,
    probabilities: [f32; NUM_CLASSES],
}

fn json_records(records: &[FileRecord]) -> Vec<JsonFile<'_>> {
    records
        .iter()
        .map(|record| JsonFile {
            file: &record.file,
            width: record.size.map(|s| s.0),
            height: record.size.map(|s| s.1),
            error: record.error.as_deref(),
            faces: record.faces.iter().enumerate().map(json_face).collect(),
        })
        .collect()
}

fn json_face((index, face): (usize, &FaceRecord)) -> JsonFace {
    let b = face.face;
    JsonFace {
        face: index,
        bounds: [b.x, b.y, b.width, b.height],
        score: b.score,
        emotion: EMOTIONS[argmax(&face.probabilities[..])],
        probabilities: face.probabilities,
    }
}

/// One row per face; a file without a face, or unreadable, gets one row that says so
/// in `error` (`no face found`), with the face fields empty.
fn csv_bytes(records: &[FileRecord]) -> Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "file", "face", "x", "y", "width", "height", "score", "emotion",
    ]
    .map(String::from)
    .to_vec();
    header.extend(EMOTIONS.iter().map(|e| e.to_lowercase()));
    header.push("error".into());
    writer.write_record(&header)?;
    for record in records {
        if record.faces.is_empty() {
            let error = record.error.as_deref().unwrap_or("no face found");
            let mut row = vec![record.file.clone()];
            row.extend(std::iter::repeat_n(String::new(), header.len() - 2));
            row.push(error.to_string());
            writer.write_record(&row)?;
        }
        for (index, face) in record.faces.iter().enumerate() {
            writer.write_record(csv_face_row(&record.file, index, face))?;
        }
    }
    Ok(writer.into_inner().map_err(|e| e.into_error())?)
}

fn csv_face_row(file: &str, index: usize, face: &FaceRecord) -> Vec<String> {
    let b = face.face;
    let mut row = vec![
        file.to_string(),
        index.to_string(),
        b.x.to_string(),
        b.y.to_string(),
        b.width.to_string(),
        b.height.to_string(),
        b.score.map(|s| format!("{s:.3}")).unwrap_or_default(),
        EMOTIONS[argmax(&face.probabilities[..])].to_string(),
    ];
    row.extend(face.probabilities.iter().map(|p| format!("{p:.6}")));
    row.push(String::new());
    row
}
