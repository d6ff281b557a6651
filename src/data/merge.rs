//! Putting parsed chunks back together in file order while later chunks are
//! still being parsed.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use super::chunk::ChunkOutcome;
use super::error::DataError;
use super::Dataset;

/// Accepts chunk outcomes in any order and appends them in file order.
pub struct Merger<'a> {
    file: &'a Path,
    dataset: Dataset,
    next_index: usize,
    waiting: BTreeMap<usize, ChunkOutcome>,
    /// Lines before the next chunk, starting with the header.
    lines_before: u64,
    error: Option<DataError>,
    spare_outcomes: &'a Mutex<Vec<ChunkOutcome>>,
}

impl<'a> Merger<'a> {
    pub fn new(file: &'a Path, spare_outcomes: &'a Mutex<Vec<ChunkOutcome>>) -> Self {
        Merger {
            file,
            dataset: Dataset::default(),
            next_index: 0,
            waiting: BTreeMap::new(),
            lines_before: 1,
            error: None,
            spare_outcomes,
        }
    }

    pub fn add(&mut self, index: usize, outcome: ChunkOutcome) {
        self.waiting.insert(index, outcome);
        while let Some(outcome) = self.waiting.remove(&self.next_index) {
            self.append(outcome);
            self.next_index += 1;
        }
    }

    /// The merged rows, or the first bad row in file order. Every chunk before
    /// the first bad one gets parsed, so line numbers add up.
    pub fn finish(self) -> Result<Dataset, DataError> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.dataset),
        }
    }

    fn append(&mut self, mut outcome: ChunkOutcome) {
        if self.error.is_some() {
            return;
        }
        if let Some((line_in_chunk, problem)) = outcome.error.take() {
            let line = self.lines_before + line_in_chunk + 1;
            self.error = Some(DataError::BadRow {
                file: self.file.to_path_buf(),
                line,
                problem,
            });
            return;
        }
        self.lines_before += outcome.lines;
        self.dataset.skipped_rows += outcome.skipped;
        let dataset = &mut self.dataset;
        let splits = [&mut dataset.train, &mut dataset.val, &mut dataset.test];
        for (row, usage) in outcome.usages.iter().enumerate() {
            splits[*usage as usize].push(outcome.rows.image(row), outcome.rows.labels[row]);
        }
        outcome.reset();
        if let Ok(mut spare) = self.spare_outcomes.lock() {
            spare.push(outcome);
        }
    }
}
