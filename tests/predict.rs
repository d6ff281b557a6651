//! `fer predict` on real photos: faces found in a group photo, folders, files
//! without a face or unreadable, each output format, `--no-detect` and annotated
//! copies.
//!
//! tests/data/solvay-1927-crop.jpg is the top-left 1000x420 of the test.png shipped in
//! the rustface 0.1.7 crate: Benjamin Couprie's photograph of the 1927 Solvay
//! conference (public domain), with the red boxes rustface's demo drew on it.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::process::{fer, stderr, stdout, train_small_run, write_small_csv};
use serde_json::Value;

const GROUP_PHOTO: &str = "tests/data/solvay-1927-crop.jpg";

/// One small trained run for every test here (training it takes a few seconds).
fn trained_run() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        train_small_run(&dir, 96)
    })
}

fn predict(args: &[&str]) -> std::process::Output {
    let run = trained_run().to_str().unwrap().to_string();
    fer(&[&["predict", "--run", &run][..], args].concat())
}

fn json(output: &std::process::Output) -> Vec<Value> {
    serde_json::from_str::<Value>(&stdout(output))
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}", stdout(output)))
        .as_array()
        .cloned()
        .expect("an array of files")
}

fn assert_face_record(face: &Value, size: (u64, u64)) {
    let bounds: Vec<u64> = face["box"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let [x, y, w, h] = bounds[..] else {
        panic!("a box of 4: {face}")
    };
    assert!(
        x + w <= size.0 && y + h <= size.1,
        "inside the image: {face}"
    );
    let probabilities: Vec<f64> = face["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(probabilities.len(), 7);
    assert!(
        (probabilities.iter().sum::<f64>() - 1.0).abs() < 1e-4,
        "{face}"
    );
    let best = (0..7)
        .max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]))
        .unwrap();
    assert_eq!(face["emotion"], fer::data::EMOTIONS[best], "{face}");
}

#[test]
fn a_group_photo_gives_one_record_per_face() {
    let output = predict(&[GROUP_PHOTO, "--format", "json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let files = json(&output);
    assert_eq!(files.len(), 1);
    let photo = &files[0];
    assert_eq!(
        (photo["width"].as_u64(), photo["height"].as_u64()),
        (Some(1000), Some(420))
    );
    let faces = photo["faces"].as_array().unwrap();
    // 17 faces are whole in the crop (rustface's boxes drawn on it show 17 too).
    assert!(
        (15..=18).contains(&faces.len()),
        "found {} faces",
        faces.len()
    );
    for (index, face) in faces.iter().enumerate() {
        assert_eq!(face["face"], index);
        assert!(face["score"].as_f64().unwrap() > 0.0);
        assert!(
            face["box"][2].as_u64().unwrap() >= 40,
            "--min-face 40 by default"
        );
        assert_face_record(face, (1000, 420));
    }
}

#[test]
fn a_folder_with_a_faceless_photo_and_a_corrupt_file_goes_on_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(photos.join("more")).unwrap();
    std::fs::copy(GROUP_PHOTO, photos.join("more/group.jpg")).unwrap();
    image::GrayImage::from_fn(200, 150, |x, y| image::Luma([(x + y) as u8]))
        .save(photos.join("sky.png"))
        .unwrap();
    std::fs::write(photos.join("broken.jpg"), b"not a jpeg at all").unwrap();
    std::fs::write(photos.join("notes.txt"), b"skipped").unwrap();
    let annotated = dir.path().join("annotated");
    let output = predict(&[
        photos.to_str().unwrap(),
        "--format",
        "json",
        "--annotate",
        annotated.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        stderr(&output).trim_end().lines().last(),
        Some("error: 1 of 3 files could not be read (named above)")
    );
    let files = json(&output);
    let names: Vec<&str> = files.iter().map(|f| f["file"].as_str().unwrap()).collect();
    let expected: Vec<String> = ["broken.jpg", "more/group.jpg", "sky.png"]
        .iter()
        .map(|name| photos.join(name).display().to_string())
        .collect();
    assert_eq!(names, expected, "images only, sorted, recursively");
    assert!(
        files[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("cannot decode image"),
        "{}",
        files[0]
    );
    assert!(files[1]["faces"].as_array().unwrap().len() >= 15);
    assert_eq!(
        files[2]["faces"],
        Value::Array(Vec::new()),
        "no face: a record, not an error"
    );
    assert!(files[2].get("error").is_none());

    // Annotated copies keep the folder's layout, the format and the size.
    let copy = image::open(annotated.join("photos/more/group.jpg")).expect("annotated copy");
    assert_eq!((copy.width(), copy.height()), (1000, 420));
    let sky = image::open(annotated.join("photos/sky.png")).expect("a copy without faces too");
    assert_eq!((sky.width(), sky.height()), (200, 150));
    assert!(!annotated.join("photos/broken.jpg").exists());
}

#[test]
fn csv_and_table_formats_carry_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let sky = dir.path().join("sky.png");
    image::GrayImage::from_pixel(120, 120, image::Luma([90]))
        .save(&sky)
        .unwrap();
    let missing = dir.path().join("missing.jpg");
    let inputs = [
        GROUP_PHOTO,
        sky.to_str().unwrap(),
        missing.to_str().unwrap(),
    ];
    let output = predict(&[&inputs[..], &["--format", "csv"]].concat());
    assert_eq!(output.status.code(), Some(2));
    let text = stdout(&output);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header.join(","),
        "file,face,x,y,width,height,score,emotion,angry,disgust,fear,happy,sad,surprise,neutral,error"
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let faces = rows.iter().filter(|r| &r[0] == GROUP_PHOTO).count();
    assert!(faces >= 15);
    let first = &rows[0];
    assert_eq!((&first[1], &first[15]), ("0", ""));
    let sum: f64 = (8..15).map(|i| first[i].parse::<f64>().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-4);
    let sky_row = rows
        .iter()
        .find(|r| r[0] == *sky.to_str().unwrap())
        .unwrap();
    assert_eq!((&sky_row[1], &sky_row[15]), ("", "no face found"));
    let missing_row = rows
        .iter()
        .find(|r| r[0] == *missing.to_str().unwrap())
        .unwrap();
    assert_eq!(&missing_row[15], "no such file or directory");

    let table = stdout(&predict(&[&inputs[..], &["--format", "table"]].concat()));
    assert!(
        table.contains(&format!("{GROUP_PHOTO}  face 1/")),
        "{table}"
    );
    assert!(table.contains("  score "), "{table}");
    assert!(
        table.contains(&format!("{}  no face found", sky.display())),
        "{table}"
    );
    assert!(table.contains(&format!(
        "{}  cannot be read: no such file or directory",
        missing.display()
    )));
}

#[test]
fn no_detect_classifies_a_face_crop_exactly_as_its_csv_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_small_csv(dir.path(), 1, 0, 0);
    let sample = fer::data::bundled_sample().unwrap();
    let crop = dir.path().join("face.png");
    image::GrayImage::from_raw(48, 48, sample.train.image(0).to_vec())
        .unwrap()
        .save(&crop)
        .unwrap();
    let from_image = json(&predict(&[
        crop.to_str().unwrap(),
        "--no-detect",
        "--format",
        "json",
    ]));
    let face = &from_image[0]["faces"][0];
    assert_eq!(face["box"], serde_json::json!([0, 0, 48, 48]));
    assert_eq!(face["score"], Value::Null);
    let from_row = json(&predict(&[csv.to_str().unwrap(), "--format", "json"]));
    assert_eq!(
        face["probabilities"],
        from_row[0]["faces"][0]["probabilities"]
    );
}

#[test]
fn min_face_sets_the_smallest_face_found() {
    let count = |min_face: &str| {
        let output = predict(&[GROUP_PHOTO, "--format", "json", "--min-face", min_face]);
        assert!(output.status.success(), "{}", stderr(&output));
        let faces = json(&output)[0]["faces"].as_array().unwrap().clone();
        let smallest = faces.iter().map(|f| f["box"][2].as_u64().unwrap()).min();
        (faces.len(), smallest)
    };
    let (at_40, _) = count("40");
    let (at_55, smallest_55) = count("55");
    assert!(smallest_55.is_none_or(|side| side >= 55), "{smallest_55:?}");
    assert!(
        at_55 < at_40,
        "faces of 45-63 px: fewer at 55 ({at_55}) than at 40 ({at_40})"
    );
    assert_eq!(count("80").0, 0, "no face here is 80 px wide");
    assert!(count("20").0 >= at_40);
}
