//! The soak's figures over time as an SVG plot: one panel per figure, each from zero (so a
//! flat line looks flat and a leak looks like one), the server's restarts marked.

use std::fmt::Write as _;
use std::time::Duration;

use crate::soak::Sample;

const WIDTH: f64 = 760.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 20.0;
const PANEL: f64 = 90.0;
const GAP: f64 = 34.0;
const TOP: f64 = 40.0;

/// One figure over time.
struct Series {
    name: &'static str,
    value: fn(&Sample) -> f64,
}

const SERIES: &[Series] = &[
    Series {
        name: "resident memory (MiB)",
        value: |sample| sample.rss_bytes as f64 / 1_048_576.0,
    },
    Series {
        name: "p99 of the unary mix (ms)",
        value: |sample| sample.p99.as_secs_f64() * 1000.0,
    },
    Series {
        name: "calls/s",
        value: |sample| sample.calls_per_second,
    },
    Series {
        name: "open files",
        value: |sample| sample.open_files as f64,
    },
    Series {
        name: "runtime tasks",
        value: |sample| sample.tasks as f64,
    },
    Series {
        name: "open streams",
        value: |sample| sample.open_streams as f64,
    },
    Series {
        name: "toasts answered per sample",
        value: |sample| sample.toasts_answered as f64,
    },
];

/// The plot of `samples`, titled `title`.
pub fn soak(title: &str, samples: &[Sample]) -> String {
    let end = samples
        .last()
        .map_or(1.0, |sample| sample.at.as_secs_f64())
        .max(1.0);
    let height = TOP + SERIES.len() as f64 * (PANEL + GAP) + 10.0;
    let x = |at: Duration| LEFT + at.as_secs_f64() / end * (WIDTH - LEFT - RIGHT);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"20\" font-size=\"13\">{}</text>\n",
        escape(title)
    );
    // A restart falls between the last sample of a life and the first of the next.
    let restarts: Vec<f64> = samples
        .windows(2)
        .filter(|pair| pair[1].life != pair[0].life)
        .map(|pair| (x(pair[0].at) + x(pair[1].at)) / 2.0)
        .collect();
    for (n, series) in SERIES.iter().enumerate() {
        let top = TOP + n as f64 * (PANEL + GAP);
        let bottom = top + PANEL;
        let values: Vec<f64> = samples.iter().map(series.value).collect();
        let max = values.iter().copied().fold(0.0, f64::max).max(1e-9) * 1.15;
        let y = |value: f64| bottom - value / max * PANEL;
        let _ = writeln!(
            svg,
            "<text x=\"{LEFT}\" y=\"{:.1}\">{}</text>\n\
             <line x1=\"{LEFT}\" y1=\"{bottom:.1}\" x2=\"{:.1}\" y2=\"{bottom:.1}\" stroke=\"#999\"/>\n\
             <line x1=\"{LEFT}\" y1=\"{top:.1}\" x2=\"{LEFT}\" y2=\"{bottom:.1}\" stroke=\"#999\"/>\n\
             <text x=\"{:.1}\" y=\"{bottom:.1}\" text-anchor=\"end\">0</text>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            top - 6.0,
            series.name,
            WIDTH - RIGHT,
            LEFT - 6.0,
            LEFT - 6.0,
            top + 10.0,
            figure(max / 1.15),
        );
        for restart in &restarts {
            let _ = writeln!(
                svg,
                "<line x1=\"{restart:.1}\" y1=\"{top:.1}\" x2=\"{restart:.1}\" y2=\"{bottom:.1}\" \
                 stroke=\"#c33\" stroke-dasharray=\"3,3\"/>"
            );
        }
        let points: Vec<String> = samples
            .iter()
            .zip(&values)
            .map(|(sample, value)| format!("{:.1},{:.1}", x(sample.at), y(*value)))
            .collect();
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"#1f5fbf\" stroke-width=\"1.5\" points=\"{}\"/>",
            points.join(" ")
        );
    }
    // The time axis, in minutes, under the last panel.
    let bottom = TOP + SERIES.len() as f64 * (PANEL + GAP) - GAP;
    let minutes = (end / 60.0).floor() as u64;
    let step = (minutes / 6).max(1);
    for minute in (0..=minutes).step_by(step as usize) {
        let at = x(Duration::from_secs(minute * 60));
        let _ = writeln!(
            svg,
            "<text x=\"{at:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{minute} min</text>",
            bottom + 16.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The panel's top value, as a figure reads.
fn figure(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
