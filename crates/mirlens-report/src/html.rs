//! Building blocks of the offline HTML report: escaped text, trusted markup, tables, figures and the page shell.
//!
//! Everything that comes from data (labels, clip ids, file names) enters a page only through [`Html::text`] or
//! [`escape`]; markup is built by this module's functions. The page needs no network: styles are inline, figures are
//! inline SVG generated here, audio elements point at WAV files written beside the page.

use std::fmt::Write as _;

/// Escape text for HTML element content and double- or single-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encode a relative path for an `href`/`src` (each `/`-separated component encoded; `/` kept).
pub fn url_path(rel: &str) -> String {
    let mut out = String::new();
    for b in rel.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// A piece of trusted markup. Text from data becomes markup only through [`Html::text`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Html(String);

impl Html {
    /// Escaped text.
    pub fn text(s: &str) -> Html {
        Html(escape(s))
    }
    /// Markup built by this crate (SVG from its charts, tags from this module).
    pub(crate) fn trusted(s: impl Into<String>) -> Html {
        Html(s.into())
    }
    /// An element `<tag class="…">children</tag>`; `tag` and `class` are fixed strings of the caller.
    pub fn element(tag: &'static str, class: &'static str, children: &[Html]) -> Html {
        let mut s = if class.is_empty() {
            format!("<{tag}>")
        } else {
            format!("<{tag} class=\"{class}\">")
        };
        for c in children {
            s.push_str(&c.0);
        }
        let _ = write!(s, "</{tag}>");
        Html(s)
    }
    /// A paragraph of escaped text.
    pub fn para(s: &str) -> Html {
        Html(format!("<p>{}</p>", escape(s)))
    }
    /// A link to a relative path with escaped text.
    pub fn link(rel: &str, text: &str) -> Html {
        Html(format!(
            "<a href=\"{}\">{}</a>",
            escape(&url_path(rel)),
            escape(text)
        ))
    }
    /// A link to `base` + the percent-encoded `rel`; `base` is an already-encoded URL prefix (`../`, `file:///…/`).
    pub fn link_in(base: &str, rel: &str, text: &str) -> Html {
        Html(format!(
            "<a href=\"{}{}\">{}</a>",
            escape(base),
            escape(&url_path(rel)),
            escape(text)
        ))
    }
    /// An inline SVG figure produced by this crate's charts, with a caption.
    pub fn figure(svg: &str, caption: &str) -> Html {
        let body = svg
            .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .unwrap_or(svg)
            .trim_start();
        Html(format!(
            "<figure>{body}<figcaption>{}</figcaption></figure>",
            escape(caption)
        ))
    }
    /// A playable audio element for a WAV file at `rel` (relative to the page).
    pub fn audio(rel: &str, title: &str) -> Html {
        Html(format!(
            "<audio controls preload=\"metadata\" src=\"{}\" title=\"{}\"></audio>",
            escape(&url_path(rel)),
            escape(title)
        ))
    }
    /// The markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// Append another piece.
    pub fn push(&mut self, other: Html) {
        self.0.push_str(&other.0);
    }
}

/// A table: header cells (text) and rows of markup cells.
pub fn table(header: &[&str], rows: &[Vec<Html>]) -> Html {
    let mut s = String::from("<table><thead><tr>");
    for h in header {
        let _ = write!(s, "<th>{}</th>", escape(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{}</td>", c.0);
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    Html(s)
}

/// Format a number for a table cell (3 decimals; `–` for non-finite).
pub fn num(v: f64) -> Html {
    if v.is_finite() {
        Html(format!("{v:.3}"))
    } else {
        Html("–".into())
    }
}

/// One section of the page.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Anchor id (a fixed identifier of the caller, not data).
    pub id: &'static str,
    /// Heading text.
    pub title: String,
    /// Body.
    pub body: Html,
}

/// Wrap sections into a complete, self-contained HTML document.
pub fn page(title: &str, subtitle: &Html, sections: &[Section]) -> String {
    let mut nav = String::new();
    for s in sections {
        let _ = write!(nav, "<a href=\"#{}\">{}</a>", s.id, escape(&s.title));
    }
    let mut body = String::new();
    for s in sections {
        let _ = writeln!(
            body,
            "<section id=\"{}\"><h2>{}</h2>{}</section>",
            s.id,
            escape(&s.title),
            s.body.0
        );
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head>\n<body><header><h1>{title}</h1>{subtitle}\
         <nav>{nav}</nav></header>\n<main>{body}</main>\n<script>{SCRIPT}</script></body></html>\n",
        title = escape(title),
        subtitle = subtitle.0,
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}\
header{background:#23395d;color:#fff;padding:1em 2em}header h1{margin:0 0 .3em}header a{color:#cde}\
nav a{margin-right:1.2em}main{padding:0 2em 3em}section{background:#fff;margin:1.5em 0;padding:1em 1.5em;\
border:1px solid #ddd;border-radius:6px}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;\
padding:.25em .6em;text-align:left;vertical-align:top}th{background:#eef}figure{display:inline-block;margin:.5em 1em \
.5em 0;vertical-align:top}figure svg{max-width:100%;height:auto}figcaption{font-size:.85em;color:#555}\
.feature{border-top:1px solid #ddd;padding-top:.8em;margin-top:.8em}.examples{display:flex;flex-wrap:wrap}.example{margin:.4em;\
padding:.4em;border:1px solid #eee;width:240px;font-size:.85em}.example svg{display:block}.example audio{width:100%}.feature figure svg{max-width:460px}.muted{color:#777}\
.files li{font-family:monospace}";

/// Marks every audio element with the duration it loaded (`data-duration`) or the error it hit
/// (`data-error`), so that a headless browser's DOM shows whether each clip is playable.
const SCRIPT: &str = "document.querySelectorAll('audio').forEach(function(a){\
a.addEventListener('loadedmetadata',function(){a.setAttribute('data-duration',String(a.duration));});\
a.addEventListener('error',function(){a.setAttribute('data-error',String(a.error&&a.error.code));});\
if(a.readyState>=1){a.setAttribute('data-duration',String(a.duration));}});";

/// A small SVG of an activation trace over time with the clip's notes as a piano roll under it.
///
/// `trace` is `(time_s, activation)`; `notes` are `(midi_pitch, start_s, end_s)`; `duration` is the clip length.
pub fn trace_with_roll(trace: &[(f64, f64)], notes: &[(u8, f64, f64)], duration: f64) -> Html {
    const W: f64 = 220.0;
    const TH: f64 = 50.0;
    const RH: f64 = 36.0;
    let dur = if duration > 0.0 { duration } else { 1.0 };
    let h = if notes.is_empty() { TH } else { TH + RH + 4.0 };
    let max = trace
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let mut s = format!(
        "<svg class=\"trace\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" \
         viewBox=\"0 0 {W} {h}\"><rect x=\"0\" y=\"0\" width=\"{W}\" height=\"{TH}\" fill=\"#f4f7fb\"/>"
    );
    if !trace.is_empty() {
        let pts: Vec<String> = trace
            .iter()
            .map(|&(t, v)| {
                let y = if max > 0.0 && v.is_finite() {
                    TH - 2.0 - (v / max) * (TH - 4.0)
                } else {
                    TH - 2.0
                };
                format!("{:.1},{:.1}", (t / dur).clamp(0.0, 1.0) * W, y)
            })
            .collect();
        let _ = write!(
            s,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"1.5\"/>",
            pts.join(" ")
        );
    }
    if !notes.is_empty() {
        let lo = notes
            .iter()
            .map(|n| n.0)
            .min()
            .unwrap_or(60)
            .saturating_sub(2);
        let hi = notes
            .iter()
            .map(|n| n.0)
            .max()
            .unwrap_or(60)
            .saturating_add(2);
        let span = f64::from(hi - lo).max(1.0);
        let _ = write!(
            s,
            "<rect x=\"0\" y=\"{}\" width=\"{W}\" height=\"{RH}\" fill=\"#fff\" stroke=\"#ddd\"/>",
            TH + 4.0
        );
        for &(p, a, b) in notes {
            let y = TH + 4.0 + RH - (f64::from(p - lo) + 1.0) / (span + 1.0) * RH;
            let _ = write!(
                s,
                "<rect class=\"note\" data-pitch=\"{p}\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" \
                 fill=\"#2c7fb8\"/>",
                (a / dur).clamp(0.0, 1.0) * W,
                ((b - a) / dur).clamp(0.005, 1.0) * W,
                (RH / (span + 1.0)).max(2.0)
            );
        }
    }
    s.push_str("</svg>");
    Html(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        let t = table(
            &["a<b"],
            &[vec![Html::text("<img src=x onerror=alert(1)>")]],
        );
        assert!(!t.as_str().contains("<img"), "{}", t.as_str());
        assert!(t.as_str().contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(t.as_str().contains("<th>a&lt;b</th>"));
    }

    #[test]
    fn urls_are_percent_encoded_per_component() {
        assert_eq!(url_path("audio/f 1/<x>.wav"), "audio/f%201/%3Cx%3E.wav");
        assert_eq!(url_path("a\"b"), "a%22b");
        let l = Html::link("x y/\"z\".csv", "\"z\".csv");
        assert_eq!(
            l.as_str(),
            "<a href=\"x%20y/%22z%22.csv\">&quot;z&quot;.csv</a>"
        );
    }

    #[test]
    fn trace_and_roll_put_points_and_notes_where_they_belong() {
        let svg = trace_with_roll(
            &[(0.0, 0.0), (0.5, 2.0), (1.0, 1.0)],
            &[(60, 0.25, 0.75)],
            1.0,
        );
        let s = svg.as_str();
        // x scales time over 220 px; the maximum activation reaches the top (y = 2)
        assert!(
            s.contains("points=\"0.0,48.0 110.0,2.0 220.0,25.0\""),
            "{s}"
        );
        assert!(s.contains("data-pitch=\"60\" x=\"55.0\""), "{s}");
        assert!(s.contains("width=\"110.0\""), "{s}");
    }

    #[test]
    fn page_has_every_section_and_escapes_titles() {
        let p = page(
            "r <1>",
            &Html::para("sub"),
            &[Section {
                id: "layers",
                title: "Layers & labels".into(),
                body: Html::para("<b>"),
            }],
        );
        assert!(p.starts_with("<!DOCTYPE html>"));
        assert!(p.contains("<title>r &lt;1&gt;</title>"));
        assert!(p.contains(
            "<section id=\"layers\"><h2>Layers &amp; labels</h2><p>&lt;b&gt;</p></section>"
        ));
        assert!(p.contains("<a href=\"#layers\">"));
    }
}
