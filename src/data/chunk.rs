//! Parsing one chunk of whole CSV lines on a worker thread.

use super::csv::{parse_row, trim_line_end, Columns, Usage};
use super::error::RowProblem;
use super::pixels::PixelParser;
use super::{Split, IMAGE_PIXELS};

/// What parsing one chunk of whole lines produced.
#[derive(Debug, Default)]
pub struct ChunkOutcome {
    /// Every good row in file order; `usages` says which split each belongs to.
    /// One buffer reserved up front avoids regrowing three.
    pub rows: Split,
    pub usages: Vec<Usage>,
    /// Lines in the chunk, blank ones included, to number lines across chunks.
    pub lines: u64,
    pub skipped: usize,
    /// The first bad row (0-based line within the chunk) unless skipping.
    pub error: Option<(u64, RowProblem)>,
}

/// Shortest possible row: 2304 one-digit pixels, their spaces, a label, a comma.
const MIN_ROW_BYTES: usize = 2 * IMAGE_PIXELS + 2;

impl ChunkOutcome {
    /// Empties the outcome but keeps its memory.
    pub fn reset(&mut self) {
        self.rows.images.clear();
        self.rows.labels.clear();
        self.usages.clear();
        self.lines = 0;
        self.skipped = 0;
        self.error = None;
    }
}

/// Parses the lines of `chunk` into an empty `outcome`, stopping at the first
/// bad row unless `skip_bad_rows`.
pub fn parse_chunk(
    chunk: &[u8],
    columns: &Columns,
    skip_bad_rows: bool,
    outcome: &mut ChunkOutcome,
) {
    let most_rows = chunk.len() / MIN_ROW_BYTES + 1;
    outcome.rows.images.reserve(most_rows * IMAGE_PIXELS);
    outcome.rows.labels.reserve(most_rows);
    outcome.usages.reserve(most_rows);
    let mut pixels = [0u8; IMAGE_PIXELS];
    let mut parser = PixelParser::default();
    let mut rest = chunk;
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(line_length(rest));
        rest = tail;
        let line_index = outcome.lines;
        outcome.lines += 1;
        let text = trim_line_end(line);
        if text.trim_ascii().is_empty() {
            continue;
        }
        match parse_row(text, columns, &mut parser, &mut pixels) {
            Ok(row) => {
                outcome.rows.push(&pixels, row.label);
                outcome.usages.push(row.usage);
            }
            Err(_) if skip_bad_rows => outcome.skipped += 1,
            Err(problem) => {
                outcome.error = Some((line_index, problem));
                break;
            }
        }
    }
}

/// Bytes up to and including the next newline (or all of them).
pub fn line_length(bytes: &[u8]) -> usize {
    find_newline(bytes).map_or(bytes.len(), |position| position + 1)
}

/// Rows are ~8 KB, so the search goes in 64-byte blocks with a branch-free
/// test the compiler vectorises (about twice as fast as `memchr` from std
/// here), then finds the exact byte in the block that has one.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    let mut blocks = bytes.chunks_exact(64);
    let mut offset = 0;
    for block in blocks.by_ref() {
        let newlines = block
            .iter()
            .fold(0u8, |count, &b| count | u8::from(b == b'\n'));
        if newlines != 0 {
            return block.iter().position(|&b| b == b'\n').map(|p| offset + p);
        }
        offset += 64;
    }
    blocks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| offset + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_newlines_inside_and_across_64_byte_blocks() {
        for position in [0, 1, 63, 64, 65, 127, 200] {
            let mut bytes = vec![b'7'; 300];
            bytes[position] = b'\n';
            assert_eq!(line_length(&bytes), position + 1, "newline at {position}");
        }
        assert_eq!(line_length(&[b'1'; 130]), 130);
        assert_eq!(line_length(b""), 0);
    }
}
