//! The bundled sample and the shared full FER2013 file.

use std::path::PathBuf;

use fer::data::{bundled_sample, load, summary, LoadOptions, IMAGE_PIXELS};

const SHARED_GZ: &str = "../shared/data/fer2013/fer2013.csv.gz";

#[test]
fn bundled_sample_has_every_class_in_train_and_val() {
    let dataset = bundled_sample().unwrap();
    assert_eq!(dataset.source, "bundled sample (1600 faces)");
    assert_eq!(
        (dataset.train.len(), dataset.val.len(), dataset.test.len()),
        (1280, 320, 0)
    );
    assert!(
        dataset.train.class_counts().iter().all(|&count| count > 0),
        "{:?}",
        dataset.train.class_counts()
    );
    assert!(
        dataset.val.class_counts().iter().all(|&count| count > 0),
        "{:?}",
        dataset.val.class_counts()
    );
    assert_eq!(
        dataset.train.class_counts(),
        [169, 11, 196, 330, 210, 141, 223]
    );
    assert_eq!(dataset.train.images.len(), 1280 * IMAGE_PIXELS);
    assert_eq!(dataset.skipped_rows, 0);
    assert!(summary(&dataset).contains("bundled sample (1600 faces)"));
}

#[test]
fn bundled_sample_asset_stays_small() {
    let assets = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets");
    let bytes: u64 = ["sample.png", "sample-labels.txt"]
        .iter()
        .map(|name| {
            std::fs::metadata(assets.join(name))
                .map(|m| m.len())
                .unwrap_or(u64::MAX / 4)
        })
        .sum();
    assert!(bytes <= 3 * 1024 * 1024, "the sample is {bytes} bytes");
}

#[test]
fn bundled_sample_is_the_first_faces_of_the_shared_file() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SHARED_GZ);
    if !path.exists() && std::env::var_os("FER_SKIP_SHARED_DATA").is_some() {
        return;
    }
    let full = load(&path, &LoadOptions::default()).unwrap();
    let sample = bundled_sample().unwrap();
    let train = sample.train.len();
    assert_eq!(sample.train.labels[..], full.train.labels[..train]);
    assert_eq!(
        sample.train.images[..],
        full.train.images[..train * IMAGE_PIXELS]
    );
    let val = sample.val.len();
    assert_eq!(sample.val.images[..], full.val.images[..val * IMAGE_PIXELS]);
}

#[test]
fn shared_fer2013_file_has_the_published_counts() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(SHARED_GZ);
    if !path.exists() {
        if std::env::var_os("FER_SKIP_SHARED_DATA").is_some() {
            eprintln!(
                "skipping: {} is missing and FER_SKIP_SHARED_DATA is set",
                path.display()
            );
            return;
        }
        panic!(
            "{} is missing: put fer2013.csv.gz there, or set FER_SKIP_SHARED_DATA=1 to skip this test",
            path.display()
        );
    }
    let dataset = load(&path, &LoadOptions::default()).unwrap();
    assert_eq!(
        dataset.train.class_counts(),
        [3995, 436, 4097, 7215, 4830, 3171, 4965]
    );
    assert_eq!(dataset.train.len(), 28709);
    assert_eq!(
        dataset.val.class_counts(),
        [467, 56, 496, 895, 653, 415, 607]
    );
    assert_eq!(dataset.val.len(), 3589);
    assert!(dataset.test.is_empty());
    assert_eq!(dataset.skipped_rows, 0);
    assert_eq!(
        dataset.notes,
        vec!["no PrivateTest rows: the test split is empty".to_string()]
    );
}
