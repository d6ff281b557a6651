//! The per-image layout `<root>/{train,test}/<emotion>/*.{png,jpg,jpeg}`.

mod data_support;

use std::fs;
use std::path::Path;

use data_support::assert_message;
use fer::data::{load, DataError, LoadOptions, IMAGE_PIXELS};
use image::{GrayImage, Luma, Rgb, RgbImage};
use tempfile::tempdir;

/// A 48x48 grey PNG whose pixels are all `value` except the first, which is `tag`.
fn write_grey_png(path: &Path, value: u8, tag: u8) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut image = GrayImage::from_pixel(48, 48, Luma([value]));
    image.put_pixel(0, 0, Luma([tag]));
    image.save(path).unwrap();
}

fn options() -> LoadOptions {
    LoadOptions::default()
}

#[test]
fn folder_layout_maps_folders_and_file_names_to_splits() {
    let dir = tempdir().unwrap();
    let root = dir.path();
    write_grey_png(&root.join("train/happy/b.png"), 30, 2);
    write_grey_png(&root.join("train/happy/a.png"), 30, 1);
    write_grey_png(&root.join("train/Angry/z.PNG"), 40, 3);
    write_grey_png(&root.join("test/sad/PublicTest_9.png"), 50, 4);
    write_grey_png(&root.join("test/sad/PrivateTest_3.png"), 60, 5);
    write_grey_png(&root.join("test/NEUTRAL/other.png"), 70, 6);
    fs::write(root.join("train/happy/notes.txt"), "not an image").unwrap();
    fs::write(root.join("README.md"), "ignored").unwrap();

    let dataset = load(root, &options()).unwrap();
    // Sorted by emotion folder name, then by file name: Angry before happy, a before b.
    assert_eq!(dataset.train.labels, vec![0, 3, 3]);
    let tags: Vec<u8> = (0..dataset.train.len())
        .map(|i| dataset.train.image(i)[0])
        .collect();
    assert_eq!(tags, vec![3, 1, 2]);
    assert_eq!(dataset.train.image(1)[1..], [30u8; IMAGE_PIXELS - 1]);
    assert_eq!(
        (dataset.val.labels.clone(), dataset.val.image(0)[0]),
        (vec![4], 4)
    );
    assert_eq!(dataset.test.labels, vec![6, 4]);
    let test_tags: Vec<u8> = (0..2).map(|i| dataset.test.image(i)[0]).collect();
    assert_eq!(test_tags, vec![6, 5]);
    assert_eq!(dataset.source, root.display().to_string());
}

#[test]
fn colour_and_odd_sizes_become_48x48_grey() {
    let dir = tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("train/fear")).unwrap();
    RgbImage::from_pixel(64, 64, Rgb([200, 100, 50]))
        .save(root.join("train/fear/rgb.png"))
        .unwrap();
    RgbImage::from_pixel(48, 48, Rgb([90, 90, 90]))
        .save(root.join("train/fear/photo.jpg"))
        .unwrap();
    write_grey_png(&root.join("test/surprise/PublicTest_1.png"), 10, 10);

    let dataset = load(root, &options()).unwrap();
    assert_eq!(dataset.train.images.len(), 2 * IMAGE_PIXELS);
    // photo.jpg sorts first; JPEG is lossy, so allow a little noise.
    assert!(dataset.train.image(0).iter().all(|&p| p.abs_diff(90) <= 2));
    // Rec. 709 luma of (200, 100, 50) is 118.
    assert!(
        dataset.train.image(1).iter().all(|&p| p.abs_diff(118) <= 1),
        "{:?}",
        &dataset.train.image(1)[..8]
    );
    assert_eq!(dataset.train.labels, vec![2, 2]);
}

#[test]
fn undecodable_image_names_the_file_and_can_be_skipped() {
    let dir = tempdir().unwrap();
    let root = dir.path();
    write_grey_png(&root.join("train/disgust/good.png"), 1, 1);
    write_grey_png(&root.join("test/disgust/PublicTest_good.png"), 1, 1);
    fs::write(
        root.join("train/disgust/broken.jpg"),
        b"\xff\xd8\xff\xe0 this is not really a jpeg",
    )
    .unwrap();

    let error = load(root, &options()).unwrap_err();
    assert_message(&error, &["broken.jpg", "cannot decode image"]);
    assert!(matches!(error, DataError::BadImage { .. }), "{error:?}");

    let skipping = LoadOptions {
        skip_bad_rows: true,
        ..options()
    };
    let dataset = load(root, &skipping).unwrap();
    assert_eq!(
        (dataset.train.len(), dataset.val.len(), dataset.skipped_rows),
        (1, 1, 1)
    );
}

#[test]
fn folder_without_images_fails() {
    let dir = tempdir().unwrap();
    let root = dir.path();
    fs::create_dir_all(root.join("train/happy")).unwrap();
    fs::write(root.join("train/happy/readme.txt"), "no images here").unwrap();
    let error = load(root, &options()).unwrap_err();
    assert_message(&error, &[&root.display().to_string(), "no images found"]);
    let empty = tempdir().unwrap();
    assert_message(
        &load(empty.path(), &options()).unwrap_err(),
        &["no images found"],
    );
}

#[test]
fn unknown_emotion_folder_fails() {
    let dir = tempdir().unwrap();
    let root = dir.path();
    write_grey_png(&root.join("train/contempt/a.png"), 1, 1);
    let error = load(root, &options()).unwrap_err();
    assert_message(&error, &["contempt", "not an emotion"]);
}

#[test]
fn train_only_folder_gets_a_stratified_hold_out() {
    let dir = tempdir().unwrap();
    let root = dir.path();
    for emotion in ["angry", "happy"] {
        for index in 0..10u8 {
            write_grey_png(
                &root.join(format!("train/{emotion}/{index}.png")),
                index,
                index,
            );
        }
    }
    let dataset = load(root, &options()).unwrap();
    assert_eq!(dataset.val.class_counts()[..4], [1, 0, 0, 1]);
    assert_eq!(dataset.train.len(), 18);
    assert!(
        dataset.notes.iter().any(|note| note.contains("held out")),
        "{:?}",
        dataset.notes
    );
}
