//! Percentiles and the printed table.

use std::time::Duration;

/// Latencies of one measurement.
#[derive(Default)]
pub struct Latencies(Vec<Duration>);

impl Latencies {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self(samples)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The `p` quantile (0.5 = median), nearest rank.
    pub fn quantile(&self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((self.0.len() as f64) * p).ceil() as usize;
        self.0[rank.clamp(1, self.0.len()) - 1]
    }

    pub fn max(&self) -> Duration {
        self.0.last().copied().unwrap_or_default()
    }
}

pub fn ms(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

pub fn ratio(ours: f64, baseline: f64) -> String {
    if baseline == 0.0 {
        "-".into()
    } else {
        format!("{:.2}", ours / baseline)
    }
}

/// A Markdown table, printed as it fills (each row as soon as it is measured).
pub struct Table {
    widths: Vec<usize>,
}

impl Table {
    pub fn new(title: &str, header: &[&str]) -> Self {
        println!("\n### {title}\n");
        let table = Self {
            widths: header.iter().map(|cell| cell.len().max(8)).collect(),
        };
        table.row(header.iter().map(|cell| cell.to_string()).collect());
        println!(
            "|{}|",
            table
                .widths
                .iter()
                .map(|width| format!("{}:", "-".repeat(width + 1)))
                .collect::<Vec<_>>()
                .join("|")
        );
        table
    }

    pub fn row(&self, cells: Vec<String>) {
        let cells: Vec<String> = cells
            .iter()
            .zip(&self.widths)
            .map(|(cell, width)| format!(" {cell:>width$} "))
            .collect();
        println!("|{}|", cells.join("|"));
    }
}
