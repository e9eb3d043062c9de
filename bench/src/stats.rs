//! Percentiles, the spread of trials, and the printed table.

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

    /// All the samples of several measurements, as one.
    pub fn pooled<'a>(all: impl IntoIterator<Item = &'a Latencies>) -> Self {
        Self::new(
            all.into_iter()
                .flat_map(|one| one.0.iter().copied())
                .collect(),
        )
    }
}

/// The median of several trials' figures, with the smallest and the largest: on a noisy
/// machine one figure says little, its spread says how much.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: impl IntoIterator<Item = f64>) -> Self {
        let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        values.sort_by(f64::total_cmp);
        let median = match values.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => values[n / 2],
            n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        };
        Self {
            median,
            min: values.first().copied().unwrap_or(f64::NAN),
            max: values.last().copied().unwrap_or(f64::NAN),
        }
    }

    /// Each trial's `ours / baseline`, paired by trial.
    pub fn of_ratios(ours: &[f64], baselines: &[f64]) -> Self {
        Self::of(
            ours.iter()
                .zip(baselines)
                .filter(|(_, baseline)| **baseline != 0.0)
                .map(|(ours, baseline)| ours / baseline),
        )
    }

    /// "0.62 (0.58-0.66)": the median ratio and its range; the range is left out for one trial.
    pub fn ratio(&self) -> String {
        if self.median.is_nan() {
            "-".into()
        } else if self.min == self.max {
            format!("{:.2}", self.median)
        } else {
            format!("{:.2} ({:.2}-{:.2})", self.median, self.min, self.max)
        }
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
