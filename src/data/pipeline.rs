//! Parallel CSV parsing: the calling thread reads (and decompresses) chunks of
//! whole lines and merges finished chunks in file order, while worker threads
//! parse them. On a 2-core machine decompression and parsing overlap, and a
//! plain file is parsed on both cores.

use std::io::{self, Read};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;

use super::chunk::{line_length, parse_chunk, ChunkOutcome};
use super::csv::{find_columns, Columns};
use super::error::DataError;
use super::merge::Merger;
use super::source::{Input, LineChunks, CHUNK_BYTES};
use super::Dataset;

/// Most parsing threads worth starting: beyond this the reader is the bottleneck.
const MAX_WORKERS: usize = 4;
/// No bad row seen yet.
const NO_ERROR: usize = usize::MAX;

/// A chunk to parse, by position in the file.
type Job = (usize, Vec<u8>);
/// A parsed chunk, with its buffer to reuse.
type Done = (usize, ChunkOutcome, Vec<u8>);

/// State shared by the reader and the workers.
struct Shared {
    columns: Columns,
    skip_bad_rows: bool,
    /// Lowest chunk index with a bad row: later chunks need no parsing.
    first_bad_chunk: AtomicUsize,
    /// Emptied outcomes, so workers refill warm memory instead of new pages.
    spare_outcomes: Mutex<Vec<ChunkOutcome>>,
}

/// Parses a whole CSV stream into a dataset (no hold-out, no source name).
pub fn parse_csv(input: Input, file: &Path, skip_bad_rows: bool) -> Result<Dataset, DataError> {
    let is_gzip = input.is_gzip;
    let read_error = |source| Input::read_error_for(is_gzip, file, source);
    let mut chunks = LineChunks::new(input.reader, CHUNK_BYTES);
    let mut first = match chunks.next() {
        None => {
            return Err(DataError::EmptyFile {
                file: file.to_path_buf(),
            })
        }
        Some(chunk) => chunk.map_err(read_error)?,
    };
    let header_length = line_length(&first);
    let columns = find_columns(&first[..header_length], file)?;
    first.drain(..header_length);

    let workers = thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, MAX_WORKERS);
    let (job_sender, job_receiver) = sync_channel::<Job>(workers * 2);
    // Only workers hold the job queue: if they all die, sending fails
    // instead of blocking forever.
    let job_receiver = Arc::new(Mutex::new(job_receiver));
    let (done_sender, done_receiver) = channel::<Done>();
    let shared = Shared {
        columns,
        skip_bad_rows,
        first_bad_chunk: AtomicUsize::new(NO_ERROR),
        spare_outcomes: Mutex::new(Vec::new()),
    };
    let mut merger = Merger::new(file, &shared.spare_outcomes);
    let read_failure = thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let (shared, jobs, done) = (&shared, job_receiver.clone(), done_sender.clone());
                scope.spawn(move || parse_jobs(shared, &jobs, done))
            })
            .collect();
        drop(job_receiver);
        // Only workers may hold senders, so that the drain below ends with them.
        drop(done_sender);
        let reader = Reader {
            chunks,
            jobs: job_sender,
            done: done_receiver,
        };
        let read_failure = reader.run(first, &shared, &mut merger);
        for handle in handles {
            if let Err(panic) = handle.join() {
                std::panic::resume_unwind(panic);
            }
        }
        read_failure
    });
    // A bad row comes before the point where reading failed, so report it first.
    let mut dataset = merger.finish()?;
    if let Some(source) = read_failure {
        return Err(read_error(source));
    }
    if dataset.train.is_empty() && dataset.val.is_empty() && dataset.test.is_empty() {
        return Err(DataError::NoRows {
            file: file.to_path_buf(),
            skipped: dataset.skipped_rows,
        });
    }
    if columns.usage.is_none() {
        let rows = dataset.train.len();
        dataset.notes.push(format!(
            "no Usage column: all {rows} rows treated as Training"
        ));
    }
    Ok(dataset)
}

/// The calling thread's side: cuts chunks, hands them out, merges results.
struct Reader<R> {
    chunks: LineChunks<R>,
    jobs: SyncSender<Job>,
    done: Receiver<Done>,
}

impl<R: Read> Reader<R> {
    /// Returns the read error that ended the stream, if any.
    fn run(self, first: Vec<u8>, shared: &Shared, merger: &mut Merger) -> Option<io::Error> {
        let Reader {
            mut chunks,
            jobs,
            done,
        } = self;
        let mut absorb = |(index, outcome, buffer): Done, chunks: &mut LineChunks<R>| {
            chunks.recycle(buffer);
            merger.add(index, outcome);
        };
        let mut read_failure = None;
        let mut next = Some(Ok(first));
        let mut index = 0;
        while let Some(chunk) = next {
            if shared.first_bad_chunk.load(Ordering::Relaxed) != NO_ERROR {
                break;
            }
            match chunk {
                Ok(chunk) => {
                    if jobs.send((index, chunk)).is_err() {
                        break; // every worker is gone; joining them reports why
                    }
                }
                Err(error) => {
                    read_failure = Some(error);
                    break;
                }
            }
            index += 1;
            while let Ok(finished) = done.try_recv() {
                absorb(finished, &mut chunks);
            }
            next = chunks.next();
        }
        // Closing the job queue lets the workers finish and drop their senders.
        drop(jobs);
        while let Ok(finished) = done.recv() {
            absorb(finished, &mut chunks);
        }
        read_failure
    }
}

fn parse_jobs(shared: &Shared, jobs: &Mutex<Receiver<Job>>, done: Sender<Done>) {
    loop {
        let job = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return, // another worker panicked; its join reports it
        };
        let Ok((index, chunk)) = job else { return };
        if index > shared.first_bad_chunk.load(Ordering::Relaxed) {
            continue;
        }
        let spare = shared
            .spare_outcomes
            .lock()
            .ok()
            .and_then(|mut spare| spare.pop());
        let mut outcome = spare.unwrap_or_default();
        parse_chunk(&chunk, &shared.columns, shared.skip_bad_rows, &mut outcome);
        if outcome.error.is_some() {
            shared.first_bad_chunk.fetch_min(index, Ordering::Relaxed);
        }
        if done.send((index, outcome, chunk)).is_err() {
            return;
        }
    }
}
