//! Parsing speed on the real FER2013 file. Ignored by default:
//! `cargo test --release --test data_speed -- --ignored --nocapture --test-threads=1`
//! (the plain CSV is read from `FER_PLAIN_CSV`, default `/tmp/fer2013.csv`;
//! make it with `gzip -dc ../shared/data/fer2013/fer2013.csv.gz > /tmp/fer2013.csv`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use fer::data::{load, summary, LoadOptions};

const SHARED_GZ: &str = "../shared/data/fer2013/fer2013.csv.gz";

/// User + system CPU seconds of this process so far (Linux), to compare runs on
/// a busy machine where wall time depends on other processes.
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name; 100 ticks/s.
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn time_load(path: &Path) {
    assert!(path.exists(), "{} is missing", path.display());
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..3 {
        let cpu_start = process_cpu_seconds();
        let start = Instant::now();
        let dataset = load(path, &LoadOptions::default()).expect("load");
        let seconds = start.elapsed().as_secs_f64();
        best = best.min(seconds);
        assert_eq!(dataset.train.len() + dataset.val.len(), 32_298);
        last = Some(dataset);
        let cpu = process_cpu_seconds() - cpu_start;
        println!(
            "{}: {seconds:.3} s wall, {cpu:.2} s CPU (all threads)",
            path.display()
        );
    }
    println!("{}: best of 3 {best:.3} s", path.display());
    if let Some(dataset) = last {
        println!("{}", summary(&dataset));
    }
}

#[test]
#[ignore = "needs the shared FER2013 file; run with --ignored --nocapture"]
fn parse_speed_plain_csv() {
    let plain = std::env::var_os("FER_PLAIN_CSV")
        .map_or_else(|| PathBuf::from("/tmp/fer2013.csv"), PathBuf::from);
    time_load(&plain);
}

#[test]
#[ignore = "needs the shared FER2013 file; run with --ignored --nocapture"]
fn parse_speed_gzip() {
    time_load(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(SHARED_GZ)
            .as_path(),
    );
}
