//! Hand-written SVG plots.

use crate::ReportError;
use std::fmt::Write as _;

/// Canvas width in pixels.
const WIDTH: f64 = 720.0;
/// Canvas height in pixels.
const HEIGHT: f64 = 440.0;

/// Palette for series (colour-blind friendly, Okabe–Ito).
const PALETTE: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000",
];

/// The plotting area of a chart and the mapping from data to pixel coordinates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Left edge of the plotting area (px).
    pub left: f64,
    /// Right edge of the plotting area (px).
    pub right: f64,
    /// Top edge of the plotting area (px).
    pub top: f64,
    /// Bottom edge of the plotting area (px).
    pub bottom: f64,
    /// Data range on x (in scale space: log10 for a log axis).
    pub x_range: (f64, f64),
    /// Data range on y.
    pub y_range: (f64, f64),
    /// Scale of the x axis.
    pub x_scale: Scale,
}

impl Frame {
    /// Pixel x of a data x.
    pub fn px(&self, x: f64) -> f64 {
        let t = self.x_scale.apply(x);
        let (a, b) = self.x_range;
        self.left + (t - a) / (b - a) * (self.right - self.left)
    }
    /// Pixel y of a data y (y grows downward in SVG).
    pub fn py(&self, y: f64) -> f64 {
        let (a, b) = self.y_range;
        self.bottom - (y - a) / (b - a) * (self.bottom - self.top)
    }
}

/// Axis scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// Linear axis.
    #[default]
    Linear,
    /// Base-10 logarithmic axis (values must be > 0).
    Log10,
}

impl Scale {
    fn apply(self, x: f64) -> f64 {
        match self {
            Scale::Linear => x,
            Scale::Log10 => x.log10(),
        }
    }
}

/// How a series' uncertainty (lower/upper per point) is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorDisplay {
    /// A translucent band between the lower and upper curves.
    #[default]
    Band,
    /// Vertical error bars at each point.
    Bars,
}

/// One line of a [`LineChart`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// Legend name.
    pub name: String,
    /// Points `(x, y)`, drawn in the given order.
    pub points: Vec<(f64, f64)>,
    /// Optional `(lower, upper)` per point (same length as `points`).
    pub interval: Option<Vec<(f64, f64)>>,
    /// How the interval is drawn.
    pub error_display: ErrorDisplay,
    /// Draw the line dashed (e.g. a baseline).
    pub dashed: bool,
}

impl Series {
    /// A plain series.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
            ..Default::default()
        }
    }
    /// Attach `(lower, upper)` per point, drawn as `display`.
    pub fn with_interval(mut self, interval: Vec<(f64, f64)>, display: ErrorDisplay) -> Self {
        self.interval = Some(interval);
        self.error_display = display;
        self
    }
    /// Draw the line dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
}

/// A line chart with several series.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LineChart {
    /// Title above the plot.
    pub title: String,
    /// X axis label.
    pub x_label: String,
    /// Y axis label.
    pub y_label: String,
    /// The series.
    pub series: Vec<Series>,
    /// X axis scale.
    pub x_scale: Scale,
    /// Fixed y range; `None` = from the data (including intervals).
    pub y_range: Option<(f64, f64)>,
}

/// Escape text for SVG/XML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Short number format for tick labels and data attributes.
fn fmt_num(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    } else {
        format!("{v:.3e}")
    }
}

/// "Nice" ticks covering `[a, b]`.
fn nice_ticks(a: f64, b: f64, n: usize) -> Vec<f64> {
    let span = (b - a).abs().max(1e-12);
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let first = (a / step).ceil() as i64;
    let mut out = Vec::new();
    let mut k = first;
    while (k as f64) * step <= b + step * 1e-9 && out.len() < 100 {
        out.push(k as f64 * step);
        k += 1;
    }
    out
}

fn header(out: &mut String, title: &str, width: f64) {
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" viewBox="0 0 {width} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r#"<rect x="0" y="0" width="{width}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        out,
        r#"<text class="title" x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
        width / 2.0,
        esc(title)
    );
}

/// Canvas width that fits the plot plus a legend of these names right of it (≈ 7 px per character at 12 px).
fn width_with_legend<'a>(names: impl Iterator<Item = &'a str>) -> f64 {
    let longest = names.map(|n| n.chars().count()).max().unwrap_or(0);
    (WIDTH - 170.0 + 38.0 + 7.0 * longest as f64 + 12.0).max(WIDTH)
}

fn axes(
    out: &mut String,
    f: &Frame,
    x_label: &str,
    y_label: &str,
    x_ticks: &[(f64, String)],
    y_ticks: &[f64],
) {
    let _ = writeln!(
        out,
        r##"<rect class="plot-area" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="none" stroke="#444"/>"##,
        f.left,
        f.top,
        f.right - f.left,
        f.bottom - f.top
    );
    for (x, label) in x_ticks {
        let px = f.px(*x);
        let _ = writeln!(
            out,
            r##"<line class="xtick" x1="{px:.2}" y1="{:.2}" x2="{px:.2}" y2="{:.2}" stroke="#444"/><text x="{px:.2}" y="{:.2}" text-anchor="middle">{}</text>"##,
            f.bottom,
            f.bottom + 5.0,
            f.bottom + 18.0,
            esc(label)
        );
    }
    for y in y_ticks {
        let py = f.py(*y);
        let _ = writeln!(
            out,
            r##"<line class="ytick" x1="{:.2}" y1="{py:.2}" x2="{:.2}" y2="{py:.2}" stroke="#ddd"/><text x="{:.2}" y="{:.2}" text-anchor="end">{}</text>"##,
            f.left,
            f.right,
            f.left - 6.0,
            py + 4.0,
            fmt_num(*y)
        );
    }
    let _ = writeln!(
        out,
        r#"<text class="xlabel" x="{:.2}" y="{:.2}" text-anchor="middle">{}</text>"#,
        (f.left + f.right) / 2.0,
        f.bottom + 38.0,
        esc(x_label)
    );
    let _ = writeln!(
        out,
        r#"<text class="ylabel" x="16" y="{:.2}" text-anchor="middle" transform="rotate(-90 16 {:.2})">{}</text>"#,
        (f.top + f.bottom) / 2.0,
        (f.top + f.bottom) / 2.0,
        esc(y_label)
    );
}

fn padded(lo: f64, hi: f64) -> (f64, f64) {
    if (hi - lo).abs() < 1e-12 {
        (lo - 0.5, hi + 0.5)
    } else {
        let p = 0.05 * (hi - lo);
        (lo - p, hi + p)
    }
}

impl LineChart {
    /// The frame (data → pixel mapping) this chart will use.
    pub fn frame(&self) -> Result<Frame, ReportError> {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for s in &self.series {
            if let Some(iv) = &s.interval
                && iv.len() != s.points.len()
            {
                return Err(ReportError::Length {
                    what: format!("interval of series {:?}", s.name),
                    expected: s.points.len(),
                    got: iv.len(),
                });
            }
            for (i, &(x, y)) in s.points.iter().enumerate() {
                if !x.is_finite() || !y.is_finite() {
                    continue;
                }
                if self.x_scale == Scale::Log10 && x <= 0.0 {
                    return Err(ReportError::Value {
                        what: format!("x of series {:?}", s.name),
                        reason: "values must be > 0 on a log axis",
                    });
                }
                xs.push(self.x_scale.apply(x));
                ys.push(y);
                if let Some(iv) = &s.interval {
                    let (lo, hi) = iv[i];
                    if lo.is_finite() && hi.is_finite() {
                        ys.push(lo);
                        ys.push(hi);
                    }
                }
            }
        }
        if xs.is_empty() {
            return Err(ReportError::Value {
                what: format!("line chart {:?}", self.title),
                reason: "no finite points",
            });
        }
        let min = |v: &[f64]| v.iter().cloned().fold(f64::INFINITY, f64::min);
        let max = |v: &[f64]| v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let x_range = if (max(&xs) - min(&xs)).abs() < 1e-12 {
            padded(min(&xs), max(&xs))
        } else {
            (min(&xs), max(&xs))
        };
        let y_range = self.y_range.unwrap_or_else(|| padded(min(&ys), max(&ys)));
        Ok(Frame {
            left: 70.0,
            right: WIDTH - 170.0,
            top: 40.0,
            bottom: HEIGHT - 55.0,
            x_range,
            y_range,
            x_scale: self.x_scale,
        })
    }

    /// Render to an SVG document.
    pub fn to_svg(&self) -> Result<String, ReportError> {
        let f = self.frame()?;
        let mut out = String::new();
        header(
            &mut out,
            &self.title,
            width_with_legend(self.series.iter().map(|s| s.name.as_str())),
        );
        let x_ticks: Vec<(f64, String)> = match self.x_scale {
            Scale::Linear => nice_ticks(f.x_range.0, f.x_range.1, 6)
                .into_iter()
                .map(|v| (v, fmt_num(v)))
                .collect(),
            Scale::Log10 => {
                let (a, b) = f.x_range;
                let mut t = Vec::new();
                let mut e = a.floor() as i32;
                while (e as f64) <= b + 1e-9 {
                    if (e as f64) >= a - 1e-9 {
                        let v = 10f64.powi(e);
                        t.push((v, fmt_num(v)));
                    }
                    e += 1;
                }
                if t.len() < 2 {
                    // Few decades: label powers of two inside the range instead.
                    t.clear();
                    let mut v = 2f64.powi((a / 2f64.log10()).floor() as i32);
                    while v.log10() <= b + 1e-9 {
                        if v.log10() >= a - 1e-9 {
                            t.push((v, fmt_num(v)));
                        }
                        v *= 2.0;
                    }
                }
                t
            }
        };
        let y_ticks = nice_ticks(f.y_range.0, f.y_range.1, 6);
        axes(
            &mut out,
            &f,
            &self.x_label,
            &self.y_label,
            &x_ticks,
            &y_ticks,
        );
        for (si, s) in self.series.iter().enumerate() {
            let color = PALETTE[si % PALETTE.len()];
            let pts: Vec<(usize, f64, f64)> = s
                .points
                .iter()
                .enumerate()
                .filter(|(_, (x, y))| x.is_finite() && y.is_finite())
                .map(|(i, &(x, y))| (i, x, y))
                .collect();
            let _ = writeln!(out, r#"<g class="series" data-name="{}">"#, esc(&s.name));
            if let Some(iv) = &s.interval {
                match s.error_display {
                    ErrorDisplay::Band => {
                        let mut d = String::new();
                        for (j, &(i, x, _)) in pts.iter().enumerate() {
                            let _ = write!(
                                d,
                                "{}{:.2},{:.2} ",
                                if j == 0 { "M" } else { "L" },
                                f.px(x),
                                f.py(iv[i].1)
                            );
                        }
                        for &(i, x, _) in pts.iter().rev() {
                            let _ = write!(d, "L{:.2},{:.2} ", f.px(x), f.py(iv[i].0));
                        }
                        let _ = writeln!(
                            out,
                            r#"<path class="band" d="{}Z" fill="{color}" fill-opacity="0.2" stroke="none"/>"#,
                            d
                        );
                    }
                    ErrorDisplay::Bars => {
                        for &(i, x, _) in &pts {
                            let px = f.px(x);
                            let _ = writeln!(
                                out,
                                r#"<line class="errorbar" x1="{px:.2}" y1="{:.2}" x2="{px:.2}" y2="{:.2}" stroke="{color}"/>"#,
                                f.py(iv[i].0),
                                f.py(iv[i].1)
                            );
                        }
                    }
                }
            }
            let poly: Vec<String> = pts
                .iter()
                .map(|&(_, x, y)| format!("{:.2},{:.2}", f.px(x), f.py(y)))
                .collect();
            let dash = if s.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = writeln!(
                out,
                r#"<polyline class="line" points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
                poly.join(" ")
            );
            for &(_, x, y) in &pts {
                let _ = writeln!(
                    out,
                    r#"<circle class="point" cx="{:.2}" cy="{:.2}" r="3" fill="{color}" data-x="{}" data-y="{}"/>"#,
                    f.px(x),
                    f.py(y),
                    fmt_num(x),
                    fmt_num(y)
                );
            }
            let ly = f.top + 10.0 + 18.0 * si as f64;
            let _ = writeln!(
                out,
                r#"<line class="legend" x1="{:.2}" y1="{ly:.2}" x2="{:.2}" y2="{ly:.2}" stroke="{color}" stroke-width="2"{dash}/><text x="{:.2}" y="{:.2}">{}</text>"#,
                f.right + 12.0,
                f.right + 32.0,
                f.right + 38.0,
                ly + 4.0,
                esc(&s.name)
            );
            let _ = writeln!(out, "</g>");
        }
        out.push_str("</svg>\n");
        Ok(out)
    }
}

/// Viridis-like colour map: `t ∈ [0, 1]` → `#rrggbb` (linear interpolation between 5 anchors).
pub fn colormap(t: f64) -> String {
    const ANCHORS: [(f64, f64, f64); 5] = [
        (68.0, 1.0, 84.0),
        (59.0, 82.0, 139.0),
        (33.0, 145.0, 140.0),
        (94.0, 201.0, 98.0),
        (253.0, 231.0, 37.0),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (ANCHORS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(ANCHORS.len() - 2);
    let u = pos - i as f64;
    let (a, b) = (ANCHORS[i], ANCHORS[i + 1]);
    let c = |x: f64, y: f64| (x + (y - x) * u).round() as u8;
    format!("#{:02x}{:02x}{:02x}", c(a.0, b.0), c(a.1, b.1), c(a.2, b.2))
}

/// A matrix drawn as coloured cells with row/column labels and a colour bar.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Heatmap {
    /// Title.
    pub title: String,
    /// One label per row (drawn left of the matrix).
    pub row_labels: Vec<String>,
    /// One label per column (drawn above the matrix).
    pub col_labels: Vec<String>,
    /// Row-major values, `rows × cols`. Non-finite values are drawn grey.
    pub values: Vec<f64>,
    /// Colour range; `None` = min/max of the finite values.
    pub value_range: Option<(f64, f64)>,
    /// Write the value in each cell (useful up to ~20 × 20).
    pub annotate: bool,
    /// Axis caption for rows (e.g. "trained on").
    pub row_title: String,
    /// Axis caption for columns (e.g. "evaluated on").
    pub col_title: String,
}

impl Heatmap {
    /// Render to an SVG document.
    pub fn to_svg(&self) -> Result<String, ReportError> {
        let (r, c) = (self.row_labels.len(), self.col_labels.len());
        if self.values.len() != r * c {
            return Err(ReportError::Length {
                what: format!("heatmap {:?} values", self.title),
                expected: r * c,
                got: self.values.len(),
            });
        }
        if r == 0 || c == 0 {
            return Err(ReportError::Value {
                what: format!("heatmap {:?}", self.title),
                reason: "no rows or columns",
            });
        }
        let finite: Vec<f64> = self
            .values
            .iter()
            .cloned()
            .filter(|v| v.is_finite())
            .collect();
        let (lo, hi) = self.value_range.unwrap_or_else(|| {
            if finite.is_empty() {
                (0.0, 1.0)
            } else {
                (
                    finite.iter().cloned().fold(f64::INFINITY, f64::min),
                    finite.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                )
            }
        });
        let span = if (hi - lo).abs() < 1e-12 {
            1.0
        } else {
            hi - lo
        };
        let (left, top) = (150.0, 130.0);
        let avail_w = WIDTH - left - 110.0;
        let avail_h = HEIGHT + 200.0 - top - 30.0;
        let cell = (avail_w / c as f64)
            .min(avail_h / r as f64)
            .clamp(4.0, 48.0);
        let width = (left + cell * c as f64 + 110.0).max(WIDTH);
        let height = (top + cell * r as f64 + 40.0).max(260.0);
        let mut out = String::new();
        let _ = writeln!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11">"#
        );
        let _ = writeln!(
            out,
            r#"<rect x="0" y="0" width="{width:.0}" height="{height:.0}" fill="white"/>"#
        );
        let _ = writeln!(
            out,
            r#"<text class="title" x="{:.1}" y="20" text-anchor="middle" font-size="15">{}</text>"#,
            width / 2.0,
            esc(&self.title)
        );
        if !self.col_title.is_empty() {
            let _ = writeln!(
                out,
                r#"<text class="col-title" x="{:.1}" y="40" text-anchor="middle">{}</text>"#,
                left + cell * c as f64 / 2.0,
                esc(&self.col_title)
            );
        }
        if !self.row_title.is_empty() {
            let cy = top + cell * r as f64 / 2.0;
            let _ = writeln!(
                out,
                r#"<text class="row-title" x="14" y="{cy:.1}" text-anchor="middle" transform="rotate(-90 14 {cy:.1})">{}</text>"#,
                esc(&self.row_title)
            );
        }
        for (j, l) in self.col_labels.iter().enumerate() {
            let x = left + cell * (j as f64 + 0.5);
            let _ = writeln!(
                out,
                r#"<text class="col-label" x="{x:.2}" y="{:.2}" transform="rotate(-60 {x:.2} {:.2})">{}</text>"#,
                top - 6.0,
                top - 6.0,
                esc(l)
            );
        }
        for (i, l) in self.row_labels.iter().enumerate() {
            let _ = writeln!(
                out,
                r#"<text class="row-label" x="{:.2}" y="{:.2}" text-anchor="end">{}</text>"#,
                left - 6.0,
                top + cell * (i as f64 + 0.5) + 4.0,
                esc(l)
            );
        }
        for i in 0..r {
            for j in 0..c {
                let v = self.values[i * c + j];
                let fill = if v.is_finite() {
                    colormap((v - lo) / span)
                } else {
                    "#bbbbbb".into()
                };
                let _ = write!(
                    out,
                    r#"<rect class="cell" x="{:.2}" y="{:.2}" width="{cell:.2}" height="{cell:.2}" fill="{fill}" data-row="{i}" data-col="{j}" data-value="{}"/>"#,
                    left + cell * j as f64,
                    top + cell * i as f64,
                    if v.is_finite() {
                        fmt_num(v)
                    } else {
                        "nan".into()
                    }
                );
                if self.annotate && v.is_finite() {
                    let t = (v - lo) / span;
                    let _ = write!(
                        out,
                        r#"<text class="cell-value" x="{:.2}" y="{:.2}" text-anchor="middle" font-size="9" fill="{}">{:.2}</text>"#,
                        left + cell * (j as f64 + 0.5),
                        top + cell * (i as f64 + 0.5) + 3.0,
                        if t > 0.6 { "black" } else { "white" },
                        v
                    );
                }
                out.push('\n');
            }
        }
        // Colour bar.
        let bx = left + cell * c as f64 + 30.0;
        let bh = (cell * r as f64).max(100.0);
        let steps = 20;
        for k in 0..steps {
            let t = 1.0 - (k as f64 + 0.5) / steps as f64;
            let _ = writeln!(
                out,
                r#"<rect class="colorbar" x="{bx:.2}" y="{:.2}" width="16" height="{:.2}" fill="{}"/>"#,
                top + bh * k as f64 / steps as f64,
                bh / steps as f64 + 0.5,
                colormap(t)
            );
        }
        let _ = writeln!(
            out,
            r#"<text class="colorbar-max" x="{:.2}" y="{:.2}">{}</text>"#,
            bx + 20.0,
            top + 8.0,
            fmt_num(hi)
        );
        let _ = writeln!(
            out,
            r#"<text class="colorbar-min" x="{:.2}" y="{:.2}">{}</text>"#,
            bx + 20.0,
            top + bh,
            fmt_num(lo)
        );
        out.push_str("</svg>\n");
        Ok(out)
    }
}

/// A bar chart: one bar per label, optional `(lower, upper)` error bars.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BarChart {
    /// Title.
    pub title: String,
    /// Y axis label.
    pub y_label: String,
    /// Bar labels.
    pub labels: Vec<String>,
    /// Bar heights.
    pub values: Vec<f64>,
    /// Optional `(lower, upper)` per bar.
    pub errors: Option<Vec<(f64, f64)>>,
    /// Fixed y range; `None` = from 0 (or the minimum if negative) to the maximum.
    pub y_range: Option<(f64, f64)>,
}

impl BarChart {
    /// The frame; x is the bar index (bar `i` is centred at `i + 0.5`, the x range is `[0, n]`).
    pub fn frame(&self) -> Result<Frame, ReportError> {
        let n = self.labels.len();
        if self.values.len() != n {
            return Err(ReportError::Length {
                what: format!("bar chart {:?} values", self.title),
                expected: n,
                got: self.values.len(),
            });
        }
        if let Some(e) = &self.errors
            && e.len() != n
        {
            return Err(ReportError::Length {
                what: format!("bar chart {:?} errors", self.title),
                expected: n,
                got: e.len(),
            });
        }
        if n == 0 {
            return Err(ReportError::Value {
                what: format!("bar chart {:?}", self.title),
                reason: "no bars",
            });
        }
        let mut ys: Vec<f64> = self
            .values
            .iter()
            .cloned()
            .filter(|v| v.is_finite())
            .collect();
        if let Some(e) = &self.errors {
            ys.extend(
                e.iter()
                    .flat_map(|&(a, b)| [a, b])
                    .filter(|v| v.is_finite()),
            );
        }
        ys.push(0.0);
        let lo = ys.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = ys.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let y_range = self.y_range.unwrap_or(if hi > lo {
            (lo, hi + 0.05 * (hi - lo))
        } else {
            (lo, lo + 1.0)
        });
        Ok(Frame {
            left: 70.0,
            right: WIDTH - 30.0,
            top: 40.0,
            bottom: HEIGHT - 80.0,
            x_range: (0.0, n as f64),
            y_range,
            x_scale: Scale::Linear,
        })
    }

    /// Render to an SVG document.
    pub fn to_svg(&self) -> Result<String, ReportError> {
        let f = self.frame()?;
        let mut out = String::new();
        header(&mut out, &self.title, WIDTH);
        axes(
            &mut out,
            &f,
            "",
            &self.y_label,
            &[],
            &nice_ticks(f.y_range.0, f.y_range.1, 6),
        );
        let n = self.labels.len();
        let slot = (f.right - f.left) / n as f64;
        let y0 = f.py(0f64.clamp(f.y_range.0, f.y_range.1));
        for (i, (label, &v)) in self.labels.iter().zip(&self.values).enumerate() {
            let cx = f.px(i as f64 + 0.5);
            if v.is_finite() {
                let yv = f.py(v);
                let _ = writeln!(
                    out,
                    r#"<rect class="bar" x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}" fill="{}" data-label="{}" data-value="{}"/>"#,
                    cx - slot * 0.35,
                    yv.min(y0),
                    slot * 0.7,
                    (yv - y0).abs(),
                    PALETTE[0],
                    esc(label),
                    fmt_num(v)
                );
            }
            if let Some(e) = &self.errors {
                let (a, b) = e[i];
                let _ = writeln!(
                    out,
                    r##"<line class="errorbar" x1="{cx:.2}" y1="{:.2}" x2="{cx:.2}" y2="{:.2}" stroke="#000"/>"##,
                    f.py(a),
                    f.py(b)
                );
            }
            let ly = f.bottom + 14.0;
            let _ = writeln!(
                out,
                r#"<text class="bar-label" x="{cx:.2}" y="{ly:.2}" text-anchor="end" transform="rotate(-40 {cx:.2} {ly:.2})">{}</text>"#,
                esc(label)
            );
        }
        out.push_str("</svg>\n");
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attr(s: &str, name: &str) -> f64 {
        let k = format!("{name}=\"");
        let i = s.find(&k).unwrap() + k.len();
        let j = s[i..].find('"').unwrap();
        s[i..i + j].parse().unwrap()
    }

    #[test]
    fn long_legend_names_widen_the_canvas() {
        let name = "random neurons from the complement (mean ± sd)";
        let ch = LineChart {
            title: "k sweep".into(),
            series: vec![Series::new(name, vec![(1.0, 0.2), (2.0, 0.4)])],
            ..Default::default()
        };
        let svg = ch.to_svg().unwrap();
        let width = attr(svg.lines().next().unwrap(), "width");
        let legend_x = ch.frame().unwrap().right + 38.0;
        assert!(
            width >= legend_x + 7.0 * name.chars().count() as f64,
            "width {width}"
        );
        let short = LineChart {
            series: vec![Series::new("a", vec![(1.0, 0.2), (2.0, 0.4)])],
            ..Default::default()
        };
        assert_eq!(
            attr(short.to_svg().unwrap().lines().next().unwrap(), "width"),
            WIDTH
        );
    }

    #[test]
    fn line_chart_places_points_at_their_pixel_coordinates() {
        let ch = LineChart {
            title: "acc per layer".into(),
            x_label: "layer".into(),
            y_label: "accuracy".into(),
            series: vec![Series::new("probe", vec![(0.0, 0.0), (10.0, 1.0)])],
            y_range: Some((0.0, 1.0)),
            ..Default::default()
        };
        let f = ch.frame().unwrap();
        assert_eq!(f.x_range, (0.0, 10.0));
        let svg = ch.to_svg().unwrap();
        let pts: Vec<&str> = svg
            .lines()
            .filter(|l| l.contains(r#"class="point""#))
            .collect();
        assert_eq!(pts.len(), 2);
        // (0, 0) is the bottom-left corner of the plot area, (10, 1) the top-right.
        assert!(
            (attr(pts[0], "cx") - f.left).abs() < 0.01
                && (attr(pts[0], "cy") - f.bottom).abs() < 0.01
        );
        assert!(
            (attr(pts[1], "cx") - f.right).abs() < 0.01
                && (attr(pts[1], "cy") - f.top).abs() < 0.01
        );
        assert_eq!(attr(pts[1], "data-y"), 1.0);
        for label in ["acc per layer", "layer", "accuracy", "probe"] {
            assert!(svg.contains(&format!(">{label}<")), "missing label {label}");
        }
    }

    #[test]
    fn log_axis_maps_decades_evenly_and_rejects_non_positive_x() {
        let ch = LineChart {
            series: vec![
                Series::new("top-k", vec![(1.0, 0.5), (10.0, 0.7), (100.0, 0.9)]).with_interval(
                    vec![(0.4, 0.6), (0.6, 0.8), (0.85, 0.95)],
                    ErrorDisplay::Bars,
                ),
                Series::new("random", vec![(1.0, 0.5), (100.0, 0.6)]).dashed(),
            ],
            x_scale: Scale::Log10,
            ..Default::default()
        };
        let f = ch.frame().unwrap();
        assert!((f.px(10.0) - (f.left + f.right) / 2.0).abs() < 1e-9);
        let svg = ch.to_svg().unwrap();
        assert_eq!(svg.matches(r#"class="errorbar""#).count(), 3);
        assert_eq!(svg.matches(r#"class="point""#).count(), 5);
        assert_eq!(
            svg.matches("stroke-dasharray").count(),
            2,
            "line + legend of the dashed series"
        );
        // Error bar of the middle point spans y 0.6..0.8.
        let bar = svg
            .lines()
            .filter(|l| l.contains("errorbar"))
            .nth(1)
            .unwrap();
        assert!((attr(bar, "y1") - f.py(0.6)).abs() < 0.01);
        let bad = LineChart {
            series: vec![Series::new("s", vec![(0.0, 1.0)])],
            x_scale: Scale::Log10,
            ..Default::default()
        };
        assert!(matches!(bad.to_svg(), Err(ReportError::Value { .. })));
    }

    #[test]
    fn band_is_a_closed_path_and_interval_length_is_checked() {
        let ch = LineChart {
            series: vec![
                Series::new("a", vec![(1.0, 1.0), (2.0, 2.0)])
                    .with_interval(vec![(0.5, 1.5), (1.5, 2.5)], ErrorDisplay::Band),
            ],
            ..Default::default()
        };
        let svg = ch.to_svg().unwrap();
        let band = svg.lines().find(|l| l.contains(r#"class="band""#)).unwrap();
        assert_eq!(band.matches('L').count(), 3);
        assert!(band.contains("Z\""));
        let bad = LineChart {
            series: vec![
                Series::new("a", vec![(1.0, 1.0), (2.0, 2.0)])
                    .with_interval(vec![(0.5, 1.5)], ErrorDisplay::Band),
            ],
            ..Default::default()
        };
        assert!(matches!(
            bad.to_svg(),
            Err(ReportError::Length {
                expected: 2,
                got: 1,
                ..
            })
        ));
    }

    #[test]
    fn heatmap_has_one_cell_per_value_labels_and_colour_bar() {
        let h = Heatmap {
            title: "cross-task".into(),
            row_labels: vec!["pitch".into(), "family".into()],
            col_labels: vec!["pitch".into(), "family".into(), "key<&>".into()],
            values: vec![1.0, 0.5, 0.0, 0.2, 0.9, f64::NAN],
            annotate: true,
            ..Default::default()
        };
        let svg = h.to_svg().unwrap();
        assert_eq!(svg.matches(r#"class="cell""#).count(), 6);
        assert_eq!(svg.matches(r#"class="row-label""#).count(), 2);
        assert_eq!(svg.matches(r#"class="col-label""#).count(), 3);
        assert!(svg.contains("key&lt;&amp;&gt;"));
        assert!(
            svg.contains(r#"data-row="0" data-col="0""#)
                && svg.contains(&format!(
                    "fill=\"{}\" data-row=\"0\" data-col=\"0\"",
                    colormap(1.0)
                ))
        );
        assert!(svg.contains(&format!(
            "fill=\"{}\" data-row=\"0\" data-col=\"2\"",
            colormap(0.0)
        )));
        assert!(svg.contains(r##"fill="#bbbbbb" data-row="1" data-col="2" data-value="nan""##));
        assert_eq!(svg.matches(r#"class="colorbar""#).count(), 20);
        assert!(svg.contains(r#"class="colorbar-max""#) && svg.contains(">1</text>"));
        assert_eq!(svg.matches(r#"class="cell-value""#).count(), 5);
        let bad = Heatmap {
            row_labels: vec!["a".into()],
            col_labels: vec!["b".into()],
            values: vec![],
            ..Default::default()
        };
        assert!(matches!(
            bad.to_svg(),
            Err(ReportError::Length {
                expected: 1,
                got: 0,
                ..
            })
        ));
    }

    #[test]
    fn colormap_endpoints() {
        assert_eq!(colormap(0.0), "#440154");
        assert_eq!(colormap(1.0), "#fde725");
        assert_eq!(colormap(f64::NAN), "#440154");
    }

    #[test]
    fn bar_chart_heights_and_error_bars() {
        let b = BarChart {
            title: "selectivity".into(),
            y_label: "acc".into(),
            labels: vec!["a".into(), "b".into()],
            values: vec![0.5, 1.0],
            errors: Some(vec![(0.4, 0.6), (0.9, 1.0)]),
            y_range: Some((0.0, 1.0)),
        };
        let f = b.frame().unwrap();
        let svg = b.to_svg().unwrap();
        let bars: Vec<&str> = svg
            .lines()
            .filter(|l| l.contains(r#"class="bar""#))
            .collect();
        assert_eq!(bars.len(), 2);
        assert!((attr(bars[0], "height") - (f.bottom - f.top) / 2.0).abs() < 0.01);
        assert!((attr(bars[1], "y") - f.top).abs() < 0.01);
        assert_eq!(svg.matches(r#"class="errorbar""#).count(), 2);
        assert_eq!(svg.matches(r#"class="bar-label""#).count(), 2);
    }

    #[test]
    fn nice_ticks_cover_range() {
        let t = nice_ticks(0.0, 1.0, 5);
        assert_eq!(t.len(), 6);
        for (a, b) in t.iter().zip([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
