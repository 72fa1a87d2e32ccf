//! Reader for the ARC block traces (e.g. `P6.lis.zst`), from Megiddo & Modha, "ARC: A Self-Tuning,
//! Low Overhead Replacement Cache", USENIX FAST 2003.
//!
//! Each line is `start_block block_count ignored request_number`; it stands for `block_count`
//! requests of the consecutive blocks from `start_block` on.

use std::io::{BufRead, BufReader};
use std::path::Path;

/// Why a trace could not be read.
#[derive(Debug)]
pub enum TraceError {
    /// Opening or decompressing the file failed.
    Io(std::io::Error),
    /// A line did not have the `start_block block_count ...` shape.
    Malformed { line_number: usize, line: String },
}

impl core::fmt::Display for TraceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io(error) => write!(f, "cannot read the trace: {error}"),
            Self::Malformed { line_number, line } => {
                write!(f, "trace line {line_number} is malformed: {line:?}")
            }
        }
    }
}

impl std::error::Error for TraceError {}

impl From<std::io::Error> for TraceError {
    fn from(error: std::io::Error) -> Self {
        Self::Io(error)
    }
}

/// The block keys of a zstd-compressed ARC trace, in request order, at most `limit` of them.
///
/// ```
/// use readthrough_benches::block_trace::read_block_trace;
/// let dir = std::env::temp_dir().join(format!("rt-trace-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("t.lis.zst");
/// let text = "10 3 0 0\n5 1 0 1\n";
/// std::fs::write(&path, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
/// assert_eq!(read_block_trace(&path, usize::MAX).unwrap(), vec![10, 11, 12, 5]);
/// assert_eq!(read_block_trace(&path, 2).unwrap(), vec![10, 11]);
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn read_block_trace(path: &Path, limit: usize) -> Result<Vec<u64>, TraceError> {
    let decoder = zstd::stream::read::Decoder::new(std::fs::File::open(path)?)?;
    let mut blocks = Vec::new();
    for (index, line) in BufReader::new(decoder).lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split_ascii_whitespace().map(str::parse::<u64>);
        let (Some(Ok(start)), Some(Ok(count))) = (fields.next(), fields.next()) else {
            return Err(TraceError::Malformed {
                line_number: index + 1,
                line,
            });
        };
        for block in start..start.saturating_add(count) {
            if blocks.len() == limit {
                return Ok(blocks);
            }
            blocks.push(block);
        }
    }
    Ok(blocks)
}
