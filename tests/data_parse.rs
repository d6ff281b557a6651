//! Loading the CSV formats: Kaggle plain and gzip, the icml variant, any column order.

mod data_support;

use data_support::*;
use fer::data::{load, summary, LoadOptions, IMAGE_PIXELS};
use tempfile::tempdir;

fn options() -> LoadOptions {
    LoadOptions::default()
}

#[test]
fn kaggle_plain_csv_fills_the_three_splits_in_file_order() {
    let dir = tempdir().unwrap();
    let text = csv_text(
        KAGGLE_HEADER,
        &[
            kaggle_row(3, 10, "Training"),
            kaggle_row(0, 11, "PublicTest"),
            kaggle_row(6, 12, "Training"),
            kaggle_row(1, 13, "PrivateTest"),
        ],
    );
    let path = write_file(dir.path(), "fer2013.csv", text.as_bytes());
    let dataset = load(&path, &options()).unwrap();
    assert_eq!(dataset.train.labels, vec![3, 6]);
    assert_eq!(dataset.val.labels, vec![0]);
    assert_eq!(dataset.test.labels, vec![1]);
    assert_eq!(dataset.train.images.len(), 2 * IMAGE_PIXELS);
    assert_eq!(dataset.train.image(0), pixels_for(10).as_slice());
    assert_eq!(dataset.train.image(1), pixels_for(12).as_slice());
    assert_eq!(dataset.val.image(0), pixels_for(11).as_slice());
    assert_eq!(dataset.test.image(0), pixels_for(13).as_slice());
    assert_eq!(dataset.source, path.display().to_string());
    assert_eq!(dataset.skipped_rows, 0);
    assert!(dataset.notes.is_empty(), "{:?}", dataset.notes);
}

#[test]
fn gzip_is_detected_by_content_not_by_extension() {
    let dir = tempdir().unwrap();
    let text = csv_text(KAGGLE_HEADER, &rows(14, 0, "Training"));
    let mut with_public = text.clone();
    with_public.push_str(&kaggle_row(2, 99, "PublicTest"));
    let plain = load(
        &write_file(dir.path(), "plain.csv", with_public.as_bytes()),
        &options(),
    )
    .unwrap();
    let gzip_named_csv = write_file(dir.path(), "really_gzip.csv", &gzip(with_public.as_bytes()));
    let plain_named_gz = write_file(dir.path(), "really_plain.csv.gz", with_public.as_bytes());
    for path in [gzip_named_csv, plain_named_gz] {
        let dataset = load(&path, &options()).unwrap();
        assert_eq!(dataset.train, plain.train, "{}", path.display());
        assert_eq!(dataset.val, plain.val, "{}", path.display());
        assert_eq!(dataset.train.len(), 14);
    }
}

#[test]
fn gzip_of_several_members_is_read_to_the_end() {
    let dir = tempdir().unwrap();
    let first = csv_text(KAGGLE_HEADER, &rows(3, 0, "Training"));
    let second = csv_text(&kaggle_row(5, 50, "PublicTest"), &[]);
    let mut bytes = gzip(first.as_bytes());
    bytes.extend(gzip(second.as_bytes()));
    let dataset = load(&write_file(dir.path(), "cat.csv.gz", &bytes), &options()).unwrap();
    assert_eq!(
        (dataset.train.len(), dataset.val.labels.clone()),
        (3, vec![5])
    );
}

#[test]
fn icml_variant_with_spaces_after_commas() {
    let dir = tempdir().unwrap();
    let rows: Vec<String> = [
        (4, 1, "Training"),
        (5, 2, "PublicTest"),
        (2, 3, "PrivateTest"),
    ]
    .iter()
    .map(|&(label, seed, usage)| format!("{label}, {usage}, {}", pixel_text(&pixels_for(seed))))
    .collect();
    let text = csv_text("emotion, Usage, pixels", &rows);
    let dataset = load(
        &write_file(dir.path(), "icml_face_data.csv", text.as_bytes()),
        &options(),
    )
    .unwrap();
    assert_eq!(
        (
            dataset.train.labels.clone(),
            dataset.val.labels.clone(),
            dataset.test.labels.clone()
        ),
        (vec![4], vec![5], vec![2])
    );
    assert_eq!(dataset.val.image(0), pixels_for(2).as_slice());
    assert_eq!(dataset.test.image(0), pixels_for(3).as_slice());
}

#[test]
fn columns_are_found_by_name_in_any_order() {
    let dir = tempdir().unwrap();
    let rows = vec![
        format!("\"{}\",PublicTest,id7,1", pixel_text(&pixels_for(7))),
        format!("{},Training,id8,6", pixel_text(&pixels_for(8))),
    ];
    let text = csv_text("Pixels,USAGE,id,Emotion", &rows).replace('\n', "\r\n");
    let dataset = load(
        &write_file(dir.path(), "shuffled.csv", text.as_bytes()),
        &options(),
    )
    .unwrap();
    assert_eq!(
        (dataset.train.labels.clone(), dataset.val.labels.clone()),
        (vec![6], vec![1])
    );
    assert_eq!(dataset.val.image(0), pixels_for(7).as_slice());
    assert_eq!(dataset.train.image(0), pixels_for(8).as_slice());
}

#[test]
fn blank_lines_and_missing_final_newline_are_fine() {
    let dir = tempdir().unwrap();
    let text = format!(
        "{KAGGLE_HEADER}\n\n{}\n   \n{}",
        kaggle_row(0, 1, "Training"),
        kaggle_row(3, 2, "PublicTest")
    );
    let dataset = load(
        &write_file(dir.path(), "gaps.csv", text.as_bytes()),
        &options(),
    )
    .unwrap();
    assert_eq!(
        (dataset.train.len(), dataset.val.len(), dataset.skipped_rows),
        (1, 1, 0)
    );
}

#[test]
fn many_chunks_keep_row_order() {
    // About 12 MB: many of the parser's 1 MB chunks, parsed on several threads.
    let dir = tempdir().unwrap();
    let mut all = rows(1300, 0, "Training");
    all.extend(rows(200, 5000, "PublicTest"));
    let text = csv_text(KAGGLE_HEADER, &all);
    let path = write_file(dir.path(), "big.csv.gz", &gzip(text.as_bytes()));
    let dataset = load(&path, &options()).unwrap();
    assert_eq!((dataset.train.len(), dataset.val.len()), (1300, 200));
    assert!((0..1300).all(|i| seed_of(dataset.train.image(i)) == i));
    assert!((0..200).all(|i| seed_of(dataset.val.image(i)) == 5000 + i));
    assert!((0..1300).all(|i| usize::from(dataset.train.labels[i]) == i % 7));
    assert_eq!(dataset.train.image(1234), pixels_for(1234).as_slice());
}

#[test]
fn a_file_without_usage_column_is_all_training_with_a_hold_out() {
    let dir = tempdir().unwrap();
    let rows: Vec<String> = (0..70)
        .map(|i| format!("{},{}", i % 7, pixel_text(&pixels_for(i))))
        .collect();
    let text = csv_text("emotion,pixels", &rows);
    let dataset = load(
        &write_file(dir.path(), "train.csv", text.as_bytes()),
        &options(),
    )
    .unwrap();
    assert_eq!((dataset.train.len(), dataset.val.len()), (63, 7));
    assert!(
        dataset.notes.iter().any(|n| n.contains("no Usage column")),
        "{:?}",
        dataset.notes
    );
    assert!(
        dataset.notes.iter().any(|n| n.contains("held out")),
        "{:?}",
        dataset.notes
    );
}

#[test]
fn summary_tables_counts_statistics_and_notes() {
    let dir = tempdir().unwrap();
    let mut all = rows(14, 0, "Training");
    all.push(kaggle_row(3, 100, "PublicTest"));
    all.push(format!("0,{},Training", vec!["0"; IMAGE_PIXELS].join(" ")));
    let text = csv_text(KAGGLE_HEADER, &all);
    let dataset = load(
        &write_file(dir.path(), "s.csv", text.as_bytes()),
        &options(),
    )
    .unwrap();
    let report = summary(&dataset);
    let line = |start: &str| {
        report
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_default()
            .to_string()
    };
    let numbers = |l: String| {
        l.split_whitespace()
            .skip(1)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(
        line("split").contains("Angry") && line("split").contains("Neutral"),
        "{report}"
    );
    assert_eq!(
        numbers(line("train")),
        ["3", "2", "2", "2", "2", "2", "2", "15"],
        "{report}"
    );
    assert_eq!(
        numbers(line("val")),
        ["0", "0", "0", "1", "0", "0", "0", "1"],
        "{report}"
    );
    assert_eq!(
        numbers(line("total")),
        ["3", "2", "2", "3", "2", "2", "2", "16"],
        "{report}"
    );
    assert!(report.contains("Constant images: 1 of 16"), "{report}");
    assert!(report.contains("all black: 1"), "{report}");
    assert!(report.contains("Training pixels: mean"), "{report}");
    assert!(report.contains("no PrivateTest rows"), "{report}");
}
