//! The bundled sample and the shared full FER2013 file.

use std::path::PathBuf;

use fer::data::{bundled_sample, load, summary, LoadOptions, IMAGE_PIXELS};

const SHARED_GZ: &str = "../shared/data/fer2013/fer2013.csv.gz";

#[test]
fn bundled_sample_has_every_class_in_train_and_val() {
    let dataset = bundled_sample().unwrap();
    assert_eq!(dataset.source, "bundled sample (900 rows)");
    assert_eq!(
        (dataset.train.len(), dataset.val.len(), dataset.test.len()),
        (720, 180, 0)
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
        [94, 4, 113, 190, 117, 73, 129]
    );
    assert_eq!(dataset.train.images.len(), 720 * IMAGE_PIXELS);
    assert_eq!(dataset.skipped_rows, 0);
    assert!(summary(&dataset).contains("bundled sample (900 rows)"));
}

#[test]
fn bundled_sample_asset_stays_small() {
    let asset = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/sample.csv.gz");
    let bytes = std::fs::metadata(&asset)
        .map(|m| m.len())
        .unwrap_or(u64::MAX);
    assert!(
        bytes <= 3 * 1024 * 1024,
        "{} is {bytes} bytes",
        asset.display()
    );
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
