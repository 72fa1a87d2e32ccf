//! The block traces of the hit-ratio comparison, and where they are read from.

use std::path::PathBuf;

/// One trace file and the cache capacities it is replayed at.
#[derive(Debug, Clone, Copy)]
pub struct TraceSpec {
    /// The name in the table (`OLTP`, `P2`, `P6`).
    pub name: &'static str,
    /// The file name inside the traces folder.
    pub file: &'static str,
    /// Capacities in entries, smallest first.
    pub capacities: &'static [usize],
}

/// The ARC paper's traces at the capacities commonly used with them (the traces' README in
/// `../shared/data/traces/`): OLTP at 250 to 2,000 entries, P2 and P6 at 8,192 to 524,288.
pub const TRACES: [TraceSpec; 3] = [
    TraceSpec {
        name: "OLTP",
        file: "OLTP.lis.zst",
        capacities: &[250, 500, 750, 1_000, 1_250, 1_500, 1_750, 2_000],
    },
    TraceSpec {
        name: "P2",
        file: "P2.lis.zst",
        capacities: &[8_192, 32_768, 131_072, 524_288],
    },
    TraceSpec {
        name: "P6",
        file: "P6.lis.zst",
        capacities: &[8_192, 32_768, 131_072, 524_288],
    },
];

/// The folder holding the traces: `READTHROUGH_TRACES` if set, else `../shared/data/traces`
/// beside the repository.
///
/// ```
/// let folder = readthrough_benches::traces::traces_folder();
/// assert!(folder.ends_with("traces") || std::env::var_os("READTHROUGH_TRACES").is_some());
/// ```
pub fn traces_folder() -> PathBuf {
    std::env::var_os("READTHROUGH_TRACES").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../shared/data/traces"
            ))
        },
        PathBuf::from,
    )
}
