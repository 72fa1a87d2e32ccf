//! The markdown table the comparison prints: one column per cache, each peer's value followed by
//! its ratio to readthrough's (peer ÷ readthrough).

use std::fmt::Write as _;

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
