//! The stratified validation hold-out used when a source has no PublicTest rows.

mod data_support;

use std::collections::HashSet;

use data_support::*;
use fer::data::{load, Dataset, LoadOptions, NUM_CLASSES};
use tempfile::tempdir;

const SIZES: [usize; NUM_CLASSES] = [100, 20, 130, 250, 170, 110, 220];

/// Row seeds in file order: 1000 Training rows, classes of unequal size, interleaved.
fn file_order() -> Vec<usize> {
    let mut order: Vec<usize> = (0..1000).collect();
    order.sort_by_key(|&seed| seed * 7919 % 1000);
    order
}

/// Row `seed` has label `label_of(seed)` (seeds 0..100 are class 0, and so on).
fn label_of(seed: usize) -> u8 {
    let mut end = 0;
    SIZES
        .iter()
        .position(|&size| {
            end += size;
            seed < end
        })
        .unwrap_or(0) as u8
}

fn training_only(seed: u64, val_fraction: f64) -> Dataset {
    let dir = tempdir().unwrap();
    let all: Vec<String> = file_order()
        .into_iter()
        .map(|row| kaggle_row(label_of(row), row, "Training"))
        .collect();
    let path = write_file(
        dir.path(),
        "train_only.csv",
        csv_text(KAGGLE_HEADER, &all).as_bytes(),
    );
    load(
        &path,
        &LoadOptions {
            skip_bad_rows: false,
            val_fraction,
            seed,
        },
    )
    .unwrap()
}

fn seeds(split: &fer::data::Split) -> Vec<usize> {
    (0..split.len()).map(|i| seed_of(split.image(i))).collect()
}

#[test]
fn each_class_gives_about_a_tenth_to_validation() {
    let dataset = training_only(7, 0.1);
    let train = dataset.train.class_counts();
    let val = dataset.val.class_counts();
    let sizes = SIZES;
    for class in 0..NUM_CLASSES {
        assert_eq!(train[class] + val[class], sizes[class]);
        let expected = (sizes[class] as f64 * 0.1).round() as usize;
        assert_eq!(val[class], expected, "class {class}");
    }
    assert_eq!(dataset.val.len(), 100);
    let note = dataset
        .notes
        .iter()
        .find(|n| n.contains("no PublicTest rows"))
        .expect("hold-out note");
    assert!(
        note.contains("100 of 1000") && note.contains("seed 7"),
        "{note}"
    );
}

#[test]
fn hold_out_is_disjoint_complete_and_labelled_correctly() {
    let dataset = training_only(1, 0.1);
    let train: HashSet<usize> = seeds(&dataset.train).into_iter().collect();
    let val: HashSet<usize> = seeds(&dataset.val).into_iter().collect();
    assert!(train.is_disjoint(&val));
    assert_eq!(train.len() + val.len(), 1000);
    assert!(train.union(&val).all(|&seed| seed < 1000));
    // Pixels travel with their labels.
    for (split, seeds) in [
        (&dataset.train, seeds(&dataset.train)),
        (&dataset.val, seeds(&dataset.val)),
    ] {
        for (index, seed) in seeds.into_iter().enumerate() {
            assert_eq!(split.image(index), pixels_for(seed).as_slice());
        }
    }
}

#[test]
fn same_seed_same_split_other_seed_other_split() {
    let first = seeds(&training_only(42, 0.1).val);
    assert_eq!(first, seeds(&training_only(42, 0.1).val));
    assert_ne!(first, seeds(&training_only(43, 0.1).val));
}

#[test]
fn splits_keep_file_order_and_labels() {
    let dataset = training_only(42, 0.1);
    let order = file_order();
    for split in [&dataset.train, &dataset.val] {
        let positions: Vec<usize> = seeds(split)
            .iter()
            .map(|seed| order.iter().position(|s| s == seed).unwrap())
            .collect();
        assert!(positions.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(seeds(split)
            .iter()
            .zip(&split.labels)
            .all(|(&seed, &label)| label_of(seed) == label));
    }
}

#[test]
fn zero_fraction_means_no_validation_split() {
    let dataset = training_only(0, 0.0);
    assert_eq!((dataset.train.len(), dataset.val.len()), (1000, 0));
    assert!(
        dataset
            .notes
            .iter()
            .any(|n| n.contains("no validation split")),
        "{:?}",
        dataset.notes
    );
}
