//! Per-SAE plots: the log-density histogram and a feature's activation histogram (SVG via `mirlens-report`).

use crate::analysis::FeatureStats;
use crate::error::Result;
use crate::metrics::EvalMetrics;
use mirlens_report::BarChart;

/// Bar chart of the log10-density histogram of an evaluation.
pub fn log_density_svg(m: &EvalMetrics, title: &str) -> Result<String> {
    let h = &m.log_density;
    let labels = h.edges.windows(2).map(|w| format!("{:.1}", w[0])).collect();
    Ok(BarChart {
        title: format!("{title}: log10 feature density (N = {})", m.n_tokens),
        y_label: "latents".into(),
        labels,
        values: h.counts.iter().map(|&c| c as f64).collect(),
        errors: None,
        y_range: None,
    }
    .to_svg()?)
}

/// Bar chart of one feature's activation histogram.
pub fn feature_histogram_svg(f: &FeatureStats) -> Result<String> {
    let bins = f.histogram.len().max(1);
    let w = f.max_activation as f64 / bins as f64;
    Ok(BarChart {
        title: format!("feature {} (density {:.2e})", f.index, f.density),
        y_label: "rows".into(),
        labels: (0..bins).map(|i| format!("{:.2}", i as f64 * w)).collect(),
        values: f.histogram.iter().map(|&c| c as f64).collect(),
        errors: None,
        y_range: None,
    }
    .to_svg()?)
}
