//! Splitting row-shaped work over the CPU cores, on a pool of worker threads kept
//! for the life of the process.
//!
//! burn's CPU backend runs single-threaded unless built with its `rayon` feature; the
//! kernels here use a private `rayon` pool instead. Its workers persist, so their
//! scratch buffers (the convolution's patch matrices) are allocated once, not on
//! every call as with threads spawned per call. Small tensors stay on the calling
//! thread. `FER_KERNEL_THREADS` caps the thread count (default: all available cores).

use std::mem::MaybeUninit;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::OnceLock;

use rayon::prelude::*;
use rayon::{ThreadPool, ThreadPoolBuilder};

/// Below this many elements per thread, handing work over costs more than it saves.
const MIN_ELEMENTS_PER_WORKER: usize = 1 << 16;

/// Environment variable that caps the kernels' threads (e.g. `1` on a shared machine).
pub const THREADS_VARIABLE: &str = "FER_KERNEL_THREADS";

fn available_cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        std::env::var(THREADS_VARIABLE)
            .ok()
            .and_then(|value| value.trim().parse::<usize>().ok())
            .filter(|&cap| cap > 0)
            .map_or(cores, |cap| cap.min(cores))
    })
}

/// The kernels' pool, or `None` if the system would not start one (then the work
/// runs on the calling thread).
fn pool() -> Option<&'static ThreadPool> {
    static POOL: OnceLock<Option<ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        ThreadPoolBuilder::new()
            .num_threads(available_cores())
            .thread_name(|index| format!("fer-kernel-{index}"))
            .build()
            .ok()
    })
    .as_ref()
}

/// How many workers `rows` rows of `row_len` elements are worth.
fn worker_count(rows: usize, row_len: usize) -> usize {
    let by_size = rows.saturating_mul(row_len) / MIN_ELEMENTS_PER_WORKER;
    available_cores().min(by_size).min(rows).max(1)
}

/// `0..rows` cut into `workers` contiguous, nearly equal ranges.
fn row_ranges(rows: usize, workers: usize) -> Vec<Range<usize>> {
    (0..workers)
        .map(|worker| rows * worker / workers..rows * (worker + 1) / workers)
        .collect()
}

/// A vector of `rows` rows of `row_len` values, each chunk of rows filled by
/// `fill(first_row, chunk)` on its worker, which must write every value: the memory
/// is not cleared first (a cleared vector costs a pass over memory, and on this kind
/// of machine memory bandwidth, not arithmetic, bounds the small layers).
pub fn collect_rows<F>(rows: usize, row_len: usize, fill: F) -> Vec<f32>
where
    F: Fn(usize, &mut [MaybeUninit<f32>]) + Sync,
{
    let len = rows * row_len;
    let mut values = Vec::with_capacity(len);
    let spare = &mut values.spare_capacity_mut()[..len];
    for_each_row_chunk(spare, row_len, &fill);
    // SAFETY: the chunks cover `0..len` and `fill` writes every value of its chunk.
    unsafe { values.set_len(len) };
    values
}

/// Runs `work` on contiguous ranges of `0..rows` (one per worker) and returns the
/// results in row order.
pub fn map_row_ranges<R, F>(rows: usize, row_len: usize, work: F) -> Vec<R>
where
    R: Send,
    F: Fn(Range<usize>) -> R + Sync,
{
    let ranges = row_ranges(rows, worker_count(rows, row_len));
    match pool() {
        Some(pool) if ranges.len() > 1 => {
            pool.install(|| ranges.into_par_iter().map(&work).collect())
        }
        _ => ranges.into_iter().map(work).collect(),
    }
}

/// Runs `work(first_row, rows)` on contiguous runs of whole rows of `data` (one per
/// worker); `rows` holds rows `first_row..` back to back.
pub fn for_each_row_chunk<T, F>(data: &mut [T], row_len: usize, work: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    for_each_costly_row_chunk(data, row_len, 1, work);
}

/// [`for_each_row_chunk`] for work that costs about `cost` streaming passes per
/// element, so that smaller data is already worth a second thread.
pub fn for_each_costly_row_chunk<T, F>(data: &mut [T], row_len: usize, cost: usize, work: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    if row_len == 0 {
        return;
    }
    let rows = data.len() / row_len;
    let ranges = row_ranges(rows, worker_count(rows, row_len.saturating_mul(cost)));
    let chunks = split_rows(data, &ranges, row_len);
    run_chunks(chunks, |(first_row, chunk)| work(first_row, chunk));
}

/// [`for_each_row_chunk`] over two equally long slices cut at the same places, for
/// work that updates two arrays element by element (a parameter and its velocity).
pub fn for_each_paired_chunk<T, U, F>(first: &mut [T], second: &mut [U], work: F)
where
    T: Send,
    U: Send,
    F: Fn(usize, &mut [T], &mut [U]) + Sync,
{
    assert_eq!(first.len(), second.len(), "paired slices differ in length");
    let rows = first.len();
    let ranges = row_ranges(rows, worker_count(rows, 1));
    let pairs = split_rows(first, &ranges, 1)
        .into_iter()
        .zip(split_rows(second, &ranges, 1))
        .map(|((start, a), (_, b))| (start, a, b))
        .collect();
    run_chunks(pairs, |(start, a, b)| work(start, a, b));
}

/// `data` cut into one run of rows per range, each with its first row.
fn split_rows<'a, T>(
    data: &'a mut [T],
    ranges: &[Range<usize>],
    row_len: usize,
) -> Vec<(usize, &'a mut [T])> {
    let mut chunks = Vec::with_capacity(ranges.len());
    let mut rest = data;
    for range in ranges {
        let (chunk, tail) = rest.split_at_mut(range.len() * row_len);
        chunks.push((range.start, chunk));
        rest = tail;
    }
    chunks
}

/// Runs `work` on every chunk, on the pool when there is more than one.
fn run_chunks<C: Send, F: Fn(C) + Sync>(chunks: Vec<C>, work: F) {
    match pool() {
        Some(pool) if chunks.len() > 1 => pool.install(|| chunks.into_par_iter().for_each(&work)),
        _ => chunks.into_iter().for_each(work),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_ranges_cover_every_row_once_in_order() {
        for rows in [1, 2, 7, 64, 1000] {
            for workers in 1..=rows.min(5) {
                let ranges = row_ranges(rows, workers);
                assert_eq!(ranges.len(), workers);
                assert_eq!(ranges[0].start, 0);
                assert_eq!(ranges[workers - 1].end, rows);
                assert!(ranges.windows(2).all(|pair| pair[0].end == pair[1].start));
                assert!(ranges.iter().all(|range| !range.is_empty()));
            }
        }
    }

    #[test]
    fn large_work_is_mapped_in_row_order() {
        let rows = 1024;
        let row_len = 1024;
        let firsts = map_row_ranges(rows, row_len, |range| range.start);
        assert!(firsts.windows(2).all(|pair| pair[0] < pair[1]));
        let covered: usize = map_row_ranges(rows, row_len, |range| range.len())
            .into_iter()
            .sum();
        assert_eq!(covered, rows);
    }

    #[test]
    fn every_row_is_written_with_its_own_index() {
        let row_len = 512;
        let mut data = vec![0.0f32; 600 * row_len];
        for_each_row_chunk(&mut data, row_len, |first_row, chunk| {
            for (offset, row) in chunk.chunks_exact_mut(row_len).enumerate() {
                row.fill((first_row + offset) as f32);
            }
        });
        for (index, row) in data.chunks_exact(row_len).enumerate() {
            assert!(row.iter().all(|&value| value == index as f32));
        }
    }
}
