//! The markdown table the comparison prints: one column per cache, each peer's value followed by
//! its ratio to readthrough's (peer ÷ readthrough).

use std::fmt::Write as _;

use crate::stats::median;
use crate::workloads::{CONTENDERS, NAMES};

/// Rows of figures, readthrough first.
#[derive(Debug, Default, Clone)]
pub struct Table {
    rows: Vec<String>,
}

impl Table {
    /// An empty table.
    ///
    /// ```
    /// use readthrough_benches::report::Table;
    /// assert!(Table::new().render().contains("| workload |"));
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a row; `None` prints `n/a`; `decimals` digits after the point. No ratio is printed
    /// where readthrough's figure is missing or shows as 0 (a ratio to 0.0004 printed as 0.00
    /// would read as thousands).
    ///
    /// ```
    /// use readthrough_benches::report::Table;
    /// let mut table = Table::new();
    /// table.row("hit (ns/op)", [Some(10.0), Some(20.0), None, Some(5.0)], 1);
    /// let text = table.render();
    /// assert!(text.contains("| hit (ns/op) | 10.0 | 20.0 (2.00×) | n/a | 5.0 (0.50×) |"));
    /// table.row("allocations", [Some(0.0004), Some(5.0), None, Some(1.0)], 2);
    /// assert!(table.render().contains("| allocations | 0.00 | 5.00 | n/a | 1.00 |"));
    /// ```
    pub fn row(&mut self, label: &str, values: [Option<f64>; CONTENDERS], decimals: usize) {
        let scale = 10f64.powi(decimals as i32);
        let ours = values[0].filter(|v| (v * scale).round() != 0.0);
        let mut line = format!("| {label} |");
        for (index, value) in values.iter().enumerate() {
            match (value, ours) {
                (None, _) => line.push_str(" n/a |"),
                (Some(value), Some(ours)) if index > 0 => {
                    let _ = write!(line, " {value:.decimals$} ({:.2}×) |", value / ours);
                }
                (Some(value), _) => {
                    let _ = write!(line, " {value:.decimals$} |");
                }
            }
        }
        self.rows.push(line);
    }

    /// Adds a row of timings taken in interleaved rounds (`rounds[c][r]`: contender `c`'s
    /// figure in round `r`; `None` prints `n/a`): each value is the median of its rounds, and
    /// each ratio (marked `paired`) the median of the rounds' own ratios, peer ÷ readthrough.
    /// Within a round every cache runs once, back to back, so a ratio of one round compares
    /// them on the same machine; when the machine's speed drifts between rounds (a shared or
    /// virtual machine), that median is steadier than the ratio of the medians.
    ///
    /// ```
    /// use readthrough_benches::report::Table;
    /// let mut table = Table::new();
    /// // Each round, quick_cache took twice readthrough's time, except in the third, when
    /// // readthrough's run met a slow phase of the machine: the ratio of the medians would be
    /// // 20 / 11 = 1.82, the median of the rounds' ratios (2, 2, 0.5) is 2.
    /// let rounds = [
    ///     Some(vec![10.0, 11.0, 30.0]),
    ///     None,
    ///     None,
    ///     Some(vec![20.0, 22.0, 15.0]),
    /// ];
    /// table.row_paired("miss (ns/op)", rounds, 1);
    /// assert!(table.render().contains("| miss (ns/op) | 11.0 | n/a | n/a | 20.0 (2.00× paired) |"));
    /// ```
    pub fn row_paired(
        &mut self,
        label: &str,
        rounds: [Option<Vec<f64>>; CONTENDERS],
        decimals: usize,
    ) {
        let ours = rounds[0]
            .as_ref()
            .filter(|ours| ours.iter().all(|&figure| figure > 0.0));
        let mut line = format!("| {label} |");
        for (index, theirs) in rounds.iter().enumerate() {
            let Some(value) = theirs.as_deref().and_then(median) else {
                line.push_str(" n/a |");
                continue;
            };
            let paired = match (index, ours) {
                (0, _) | (_, None) => None,
                (_, Some(ours)) => {
                    let ratios: Vec<f64> = theirs
                        .iter()
                        .flatten()
                        .zip(ours)
                        .map(|(theirs, ours)| theirs / ours)
                        .collect();
                    median(&ratios)
                }
            };
            match paired {
                Some(ratio) => {
                    let _ = write!(line, " {value:.decimals$} ({ratio:.2}× paired) |");
                }
                None => {
                    let _ = write!(line, " {value:.decimals$} |");
                }
            }
        }
        self.rows.push(line);
    }

    /// The table as markdown.
    ///
    /// ```
    /// use readthrough_benches::report::Table;
    /// assert_eq!(Table::new().render().lines().count(), 2);
    /// ```
    pub fn render(&self) -> String {
        let mut text = String::from("| workload |");
        for name in NAMES {
            let _ = write!(text, " {name} |");
        }
        text.push_str("\n|---|");
        text.push_str(&"---:|".repeat(CONTENDERS));
        for row in &self.rows {
            text.push('\n');
            text.push_str(row);
        }
        text.push('\n');
        text
    }
}
