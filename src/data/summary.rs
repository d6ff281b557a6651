//! The text `fer data FILE` prints: counts per split and emotion, pixel
//! statistics, and the notes gathered while loading.

use std::fmt::Write;

use super::{Dataset, Split, EMOTIONS, IMAGE_PIXELS, NUM_CLASSES};

/// Pixel statistics of one split.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PixelStats {
    pub mean: f64,
    pub std: f64,
}

/// Mean and standard deviation over every pixel of `split` (`None` if empty).
pub fn pixel_stats(split: &Split) -> Option<PixelStats> {
    if split.images.is_empty() {
        return None;
    }
    // Exact integer sums: 28709 images * 2304 * 255^2 fits easily in u64.
    let (sum, sum_of_squares) = split
        .images
        .iter()
        .fold((0u64, 0u64), |(sum, squares), &p| {
            let p = u64::from(p);
            (sum + p, squares + p * p)
        });
    let count = split.images.len() as f64;
    let mean = sum as f64 / count;
    let variance = (sum_of_squares as f64 / count - mean * mean).max(0.0);
    Some(PixelStats {
        mean,
        std: variance.sqrt(),
    })
}

/// Images whose pixels all have one value, and those of them that are black.
pub fn constant_images(split: &Split) -> (usize, usize) {
    let mut constant = 0;
    let mut black = 0;
    for image in split.images.chunks_exact(IMAGE_PIXELS) {
        if image.iter().all(|&p| p == image[0]) {
            constant += 1;
            black += usize::from(image[0] == 0);
        }
    }
    (constant, black)
}

/// A plain-text report of `dataset`.
pub fn summary(dataset: &Dataset) -> String {
    let mut text = String::new();
    let splits = [
        ("train", &dataset.train),
        ("val", &dataset.val),
        ("test", &dataset.test),
    ];
    let total_images: usize = splits.iter().map(|(_, split)| split.len()).sum();
    let _ = writeln!(text, "Source: {} ({total_images} images)", dataset.source);
    let _ = writeln!(text);
    write_count_table(&mut text, &splits);

    let _ = writeln!(text);
    match pixel_stats(&dataset.train) {
        Some(stats) => {
            let _ = writeln!(
                text,
                "Training pixels: mean {:.2}, std {:.2} (0-255 scale; {:.4} and {:.4} on 0-1)",
                stats.mean,
                stats.std,
                stats.mean / 255.0,
                stats.std / 255.0
            );
        }
        None => {
            let _ = writeln!(text, "Training pixels: no training images");
        }
    }
    let (constant, black) = splits.iter().fold((0, 0), |(constant, black), (_, split)| {
        let (c, b) = constant_images(split);
        (constant + c, black + b)
    });
    let _ = writeln!(
        text,
        "Constant images: {constant} of {total_images} ({}), all black: {black} ({})",
        percent(constant, total_images),
        percent(black, total_images)
    );
    if dataset.skipped_rows > 0 {
        let _ = writeln!(text, "Skipped bad rows: {}", dataset.skipped_rows);
    }
    if !dataset.notes.is_empty() {
        let _ = writeln!(text, "Notes:");
        for note in &dataset.notes {
            let _ = writeln!(text, "  - {note}");
        }
    }
    text
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.2}%", 100.0 * part as f64 / whole as f64)
    }
}

/// Rows: splits then a total; columns: emotions then a total.
fn write_count_table(text: &mut String, splits: &[(&str, &Split)]) {
    let widths: Vec<usize> = EMOTIONS.iter().map(|name| name.len().max(6)).collect();
    let _ = write!(text, "{:<6}", "split");
    for (name, width) in EMOTIONS.iter().zip(&widths) {
        let _ = write!(text, " {name:>width$}");
    }
    let _ = writeln!(text, " {:>7}", "total");

    let mut column_totals = [0usize; NUM_CLASSES];
    let write_row = |text: &mut String, label: &str, counts: &[usize; NUM_CLASSES]| {
        let _ = write!(text, "{label:<6}");
        for (count, width) in counts.iter().zip(&widths) {
            let _ = write!(text, " {count:>width$}");
        }
        let _ = writeln!(text, " {:>7}", counts.iter().sum::<usize>());
    };
    for (label, split) in splits {
        let counts = split.class_counts();
        for (total, count) in column_totals.iter_mut().zip(counts) {
            *total += count;
        }
        write_row(text, label, &counts);
    }
    write_row(text, "total", &column_totals);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_and_constant_images() {
        let mut split = Split::default();
        split.push(&[0; IMAGE_PIXELS], 0);
        split.push(&[200; IMAGE_PIXELS], 1);
        let mut varied = [10u8; IMAGE_PIXELS];
        varied[0] = 11;
        split.push(&varied, 2);
        assert_eq!(constant_images(&split), (2, 1));
        let stats = pixel_stats(&split).unwrap();
        let expected_mean = (200.0 + 10.0 + 1.0 / IMAGE_PIXELS as f64) / 3.0;
        assert!((stats.mean - expected_mean).abs() < 1e-9);
        assert!((stats.std - (25400.0f64 / 3.0).sqrt()).abs() < 0.01);
        assert_eq!(pixel_stats(&Split::default()), None);
    }
}
