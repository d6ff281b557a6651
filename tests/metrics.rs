//! Confusion-matrix metrics against values computed by hand.

use fer::metrics::{confusion_table, per_class_table, ConfusedPair, ConfusionMatrix, MetricsError};

/// counts[true][predicted]:
/// ```text
///            pred 0  pred 1  pred 2   support
/// true 0        5       2       1        8
/// true 1        1       6       3       10
/// true 2        0       2       4        6
/// predicted     6      10       8       24
/// ```
fn three_class_example() -> ConfusionMatrix {
    let rows: [[usize; 3]; 3] = [[5, 2, 1], [1, 6, 3], [0, 2, 4]];
    let mut cm = ConfusionMatrix::new(3);
    for (truth, row) in rows.iter().enumerate() {
        for (predicted, &times) in row.iter().enumerate() {
            for _ in 0..times {
                cm.record(truth, predicted).expect("classes in range");
            }
        }
    }
    cm
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 1e-12,
        "{what}: got {actual}, expected {expected}"
    );
}

#[test]
fn hand_computed_three_class_metrics() {
    let cm = three_class_example();
    assert_eq!(cm.num_classes(), 3);
    assert_eq!(cm.total(), 24);
    assert_eq!(cm.correct(), 15);
    assert_eq!(cm.count(1, 2), 3);
    assert_close(cm.accuracy(), 15.0 / 24.0, "accuracy");
    assert_eq!([cm.support(0), cm.support(1), cm.support(2)], [8, 10, 6]);
    assert_eq!(
        [cm.predicted(0), cm.predicted(1), cm.predicted(2)],
        [6, 10, 8]
    );

    assert_close(cm.precision(0), 5.0 / 6.0, "precision 0");
    assert_close(cm.precision(1), 6.0 / 10.0, "precision 1");
    assert_close(cm.precision(2), 4.0 / 8.0, "precision 2");
    assert_close(cm.recall(0), 5.0 / 8.0, "recall 0");
    assert_close(cm.recall(1), 6.0 / 10.0, "recall 1");
    assert_close(cm.recall(2), 4.0 / 6.0, "recall 2");
    // F1 = 2TP / (2TP + FP + FN): 10/14, 12/20, 8/14.
    assert_close(cm.f1(0), 5.0 / 7.0, "f1 0");
    assert_close(cm.f1(1), 3.0 / 5.0, "f1 1");
    assert_close(cm.f1(2), 4.0 / 7.0, "f1 2");
    assert_close(cm.macro_f1(), 22.0 / 35.0, "macro f1");
}

#[test]
fn row_normalised_gives_fractions_per_true_class() {
    let rows = three_class_example().row_normalised();
    let expected = [
        [5.0 / 8.0, 2.0 / 8.0, 1.0 / 8.0],
        [0.1, 0.6, 0.3],
        [0.0, 2.0 / 6.0, 4.0 / 6.0],
    ];
    for (row, want) in rows.iter().zip(expected) {
        for (&actual, wanted) in row.iter().zip(want) {
            assert_close(actual, wanted, "row-normalised cell");
        }
    }
    let mut sparse = ConfusionMatrix::new(2);
    sparse.record(0, 1).expect("in range");
    assert_eq!(
        sparse.row_normalised(),
        vec![vec![0.0, 1.0], vec![0.0, 0.0]]
    );
}

#[test]
fn most_confused_pairs_are_sorted_by_count_then_index() {
    let pair = |true_class, predicted_class, count| ConfusedPair {
        true_class,
        predicted_class,
        count,
    };
    let cm = three_class_example();
    assert_eq!(
        cm.most_confused_pairs(3),
        vec![pair(1, 2, 3), pair(0, 1, 2), pair(2, 1, 2)]
    );
    // Zero cells (true 2 -> predicted 0) and the diagonal never appear.
    assert_eq!(cm.most_confused_pairs(100).len(), 5);
    assert!(cm.most_confused_pairs(0).is_empty());
}

#[test]
fn empty_matrix_reports_zeros_not_nan() {
    let cm = ConfusionMatrix::new(7);
    assert_eq!(cm.total(), 0);
    assert_eq!(cm.accuracy(), 0.0);
    assert_eq!(cm.macro_f1(), 0.0);
    for class in 0..7 {
        assert_eq!(
            (cm.precision(class), cm.recall(class), cm.f1(class)),
            (0.0, 0.0, 0.0)
        );
    }
    assert_eq!(cm.row_normalised(), vec![vec![0.0; 7]; 7]);
    assert!(cm.most_confused_pairs(3).is_empty());
}

#[test]
fn never_predicted_and_absent_classes() {
    let mut cm = ConfusionMatrix::new(3);
    cm.record_batch(&[0u8, 0, 1, 1], &[0u8, 0, 0, 0])
        .expect("in range");
    // Class 1 is never predicted: precision 0, recall 0, F1 0.
    assert_eq!((cm.precision(1), cm.recall(1), cm.f1(1)), (0.0, 0.0, 0.0));
    assert_close(cm.precision(0), 0.5, "precision 0");
    assert_close(cm.f1(0), 2.0 / 3.0, "f1 0");
    // Class 2 occurs nowhere, so it is left out of the macro average.
    assert_close(cm.macro_f1(), (2.0 / 3.0 + 0.0) / 2.0, "macro f1");

    let mut perfect = ConfusionMatrix::new(3);
    perfect
        .record_batch(&[0usize, 1], &[0usize, 1])
        .expect("in range");
    assert_eq!(perfect.macro_f1(), 1.0);
    assert_eq!(perfect.recall(2), 0.0);
}

#[test]
fn out_of_range_classes_are_errors_and_record_nothing() {
    let mut cm = ConfusionMatrix::new(3);
    assert!(matches!(
        cm.record(3, 0),
        Err(MetricsError::ClassOutOfRange { .. })
    ));
    assert!(matches!(
        cm.record(0, 7),
        Err(MetricsError::ClassOutOfRange { .. })
    ));
    assert!(matches!(
        cm.record_batch(&[0i64, 1, 2], &[0i64, -1, 2]),
        Err(MetricsError::ClassOutOfRange { .. })
    ));
    assert!(matches!(
        cm.record_batch(&[0u8, 1], &[0u8]),
        Err(MetricsError::BatchLengthMismatch {
            truths: 2,
            predictions: 1
        })
    ));
    assert_eq!(cm.total(), 0, "a refused batch leaves the matrix untouched");
    assert_eq!(cm.count(5, 0), 0);
    assert_eq!(cm.support(9), 0);
    assert_eq!(cm.recall(9), 0.0);
}

#[test]
fn merge_equals_recording_everything_in_one() {
    let truths: Vec<u8> = (0..200u32).map(|i| (i * 7 % 5) as u8).collect();
    let predictions: Vec<u8> = (0..200u32).map(|i| (i * 3 % 5) as u8).collect();
    let mut whole = ConfusionMatrix::new(5);
    whole.record_batch(&truths, &predictions).expect("in range");

    let mut merged = ConfusionMatrix::new(5);
    for (truth_chunk, prediction_chunk) in truths.chunks(37).zip(predictions.chunks(37)) {
        let mut part = ConfusionMatrix::new(5);
        part.record_batch(truth_chunk, prediction_chunk)
            .expect("in range");
        merged.merge(&part).expect("same class count");
    }
    assert_eq!(merged, whole);
    assert_eq!(merged.total(), 200);

    assert_eq!(
        merged.merge(&ConfusionMatrix::new(7)),
        Err(MetricsError::ClassCountMismatch { ours: 5, theirs: 7 })
    );
}

#[test]
fn serde_round_trip_and_rejects_non_square() {
    let cm = three_class_example();
    let json = serde_json::to_string(&cm).expect("serialises");
    assert_eq!(json, r#"{"counts":[[5,2,1],[1,6,3],[0,2,4]]}"#);
    let restored: ConfusionMatrix = serde_json::from_str(&json).expect("deserialises");
    assert_eq!(restored, cm);
    let ragged = serde_json::from_str::<ConfusionMatrix>(r#"{"counts":[[1,2],[3]]}"#);
    assert!(ragged.is_err());
}

#[test]
fn per_class_table_lists_every_class_and_the_summary() {
    let table = per_class_table(&three_class_example(), &["Angry", "Disgust", "Fear"]);
    let expected = "\
class      support  precision   recall       F1
Angry            8     0.8333   0.6250   0.7143
Disgust         10     0.6000   0.6000   0.6000
Fear             6     0.5000   0.6667   0.5714
accuracy                                 0.6250  (15/24 correct)
macro-F1                                 0.6286
";
    assert_eq!(table, expected);
}

#[test]
fn confusion_table_has_headers_and_counts() {
    let table = confusion_table(&three_class_example(), &["Angry", "Disgust", "Fear"]);
    let expected = "\
true\\pred  Ang  Dis  Fea
Angry        5    2    1
Disgust      1    6    3
Fear         0    2    4
";
    assert_eq!(table, expected);
    // Missing names fall back to numbered classes instead of panicking.
    let unnamed = confusion_table(&three_class_example(), &["Angry"]);
    assert!(
        unnamed.starts_with("true\\pred  Ang   c1   c2\n"),
        "{unnamed}"
    );
    assert!(unnamed.contains("class 2"));
}
