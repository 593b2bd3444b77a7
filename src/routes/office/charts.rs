//! Server-side SVG charts, drawn here rather than with a charting crate:
//! the office needs three simple kinds (horizontal bars, a histogram, and
//! points with interval bars over periods), which take less code than
//! adapting a general library, add no dependency or build time, and keep
//! every page free of scripts (the CSP allows none inline). Each chart has a
//! `viewBox` and no fixed width, so it scales from a phone to a laptop, and
//! a `<title>` per mark for screen readers and tooltips. Text is escaped.

use std::fmt::Write;

const WIDTH: f64 = 640.0;
const BAR_HEIGHT: f64 = 22.0;
const GAP: f64 = 6.0;
const LABEL_WIDTH: f64 = 150.0;
const ACCENT: &str = "#b3261e";
const MUTED: &str = "#5b6470";
const GRID: &str = "#d8dde3";

/// Escapes text for SVG.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Horizontal bars, one per (label, value); `max` fixes the scale (for
/// scores, 100), else the largest value.
pub fn bars(title: &str, rows: &[(String, f64)], max: Option<f64>) -> String {
    let max = max
        .unwrap_or_else(|| rows.iter().map(|r| r.1).fold(0.0, f64::max))
        .max(f64::MIN_POSITIVE);
    let height = 30.0 + rows.len() as f64 * (BAR_HEIGHT + GAP);
    let plot = WIDTH - LABEL_WIDTH - 60.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><text x="0" y="16" font-size="14" font-weight="600">{t}</text>"#,
        t = escape(title)
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = 28.0 + i as f64 * (BAR_HEIGHT + GAP);
        let w = (value / max).clamp(0.0, 1.0) * plot;
        let _ = write!(
            svg,
            r#"<g><title>{l}: {v}</title><text x="{lx}" y="{ty}" font-size="12" text-anchor="end">{l}</text><rect x="{LABEL_WIDTH}" y="{y}" width="{w:.1}" height="{BAR_HEIGHT}" fill="{ACCENT}"/><text x="{vx:.1}" y="{ty}" font-size="12" fill="{MUTED}">{v}</text></g>"#,
            l = escape(label),
            v = fmt_value(*value),
            lx = LABEL_WIDTH - 6.0,
            ty = y + 15.0,
            vx = LABEL_WIDTH + w + 4.0,
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A histogram of values in [lo, hi) with `bins` equal bins (the last bin
/// includes `hi`).
pub fn histogram(title: &str, values: &[f64], lo: f64, hi: f64, bins: usize) -> String {
    let bins = bins.max(1);
    let step = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for v in values.iter().filter(|v| v.is_finite()) {
        let i = (((v - lo) / step).floor().max(0.0) as usize).min(bins - 1);
        counts[i] += 1;
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let (height, plot_h, base) = (220.0, 160.0, 190.0);
    let bar_w = (WIDTH - 40.0) / bins as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><text x="0" y="16" font-size="14" font-weight="600">{t}</text>"#,
        t = escape(title)
    );
    for (i, n) in counts.iter().enumerate() {
        let h = *n as f64 / max * plot_h;
        let x = 20.0 + i as f64 * bar_w;
        let from = lo + i as f64 * step;
        let _ = write!(
            svg,
            r#"<g><title>{a}–{b}: {n}</title><rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="{ACCENT}"/><text x="{cx:.1}" y="{ly}" font-size="11" text-anchor="middle" fill="{MUTED}">{a}</text></g>"#,
            a = fmt_value(from),
            b = fmt_value(from + step),
            y = base - h,
            w = (bar_w - 2.0).max(1.0),
            cx = x + bar_w / 2.0,
            ly = base + 14.0,
        );
    }
    let _ = write!(
        svg,
        r#"<line x1="20" y1="{base}" x2="{x2}" y2="{base}" stroke="{MUTED}"/></svg>"#,
        x2 = WIDTH - 20.0
    );
    svg
}

/// A labelled point with its interval: (label, value, low, high).
pub type IntervalPoint = (String, Option<f64>, Option<f64>, Option<f64>);

/// One point per period with its interval (e.g. a score with its 95%
/// confidence interval), on a 0–100 scale.
pub fn intervals(title: &str, points: &[IntervalPoint]) -> String {
    let (height, top, bottom) = (240.0, 30.0, 200.0);
    let y = |v: f64| bottom - (v.clamp(0.0, 100.0) / 100.0) * (bottom - top);
    let step = (WIDTH - 80.0) / points.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title><text x="0" y="16" font-size="14" font-weight="600">{t}</text>"#,
        t = escape(title)
    );
    for tick in [0.0, 50.0, 100.0] {
        let _ = write!(
            svg,
            r#"<line x1="40" y1="{v:.1}" x2="{x2}" y2="{v:.1}" stroke="{GRID}"/><text x="34" y="{ty:.1}" font-size="11" text-anchor="end" fill="{MUTED}">{tick}</text>"#,
            v = y(tick),
            ty = y(tick) + 4.0,
            x2 = WIDTH - 20.0
        );
    }
    for (i, (label, value, low, high)) in points.iter().enumerate() {
        let x = 40.0 + step * (i as f64 + 0.5);
        let _ = write!(
            svg,
            r#"<text x="{x:.1}" y="{ly}" font-size="11" text-anchor="middle" fill="{MUTED}">{l}</text>"#,
            l = escape(label),
            ly = bottom + 18.0
        );
        if let (Some(lo), Some(hi)) = (low, high) {
            let _ = write!(
                svg,
                r#"<line x1="{x:.1}" y1="{a:.1}" x2="{x:.1}" y2="{b:.1}" stroke="{MUTED}" stroke-width="2"/>"#,
                a = y(*lo),
                b = y(*hi)
            );
        }
        if let Some(v) = value {
            let _ = write!(
                svg,
                r#"<circle cx="{x:.1}" cy="{cy:.1}" r="5" fill="{ACCENT}"><title>{l}: {v:.1}</title></circle>"#,
                l = escape(label),
                cy = y(*v)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_maximum_and_escape_labels() {
        let svg = bars(
            "T",
            &[("<a>".into(), 50.0), ("b".into(), 100.0)],
            Some(100.0),
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("&lt;a&gt;") && !svg.contains("<a>"));
        let plot = WIDTH - LABEL_WIDTH - 60.0;
        assert!(svg.contains(&format!("width=\"{:.1}\"", plot / 2.0)));
        assert!(svg.contains(&format!("width=\"{plot:.1}\"")));
    }

    #[test]
    fn histogram_counts_each_value_once_including_the_top_edge() {
        let svg = histogram("H", &[0.0, 5.0, 99.0, 100.0, f64::NAN], 0.0, 100.0, 10);
        assert!(svg.contains("<title>0–10: 2</title>"));
        assert!(svg.contains("<title>90–100: 2</title>"));
        assert_eq!(svg.matches("<rect").count(), 10);
    }

    #[test]
    fn intervals_draw_missing_values_as_gaps() {
        let svg = intervals(
            "I",
            &[
                ("2026-01".into(), Some(70.0), Some(60.0), Some(80.0)),
                ("2026-02".into(), None, None, None),
            ],
        );
        assert_eq!(svg.matches("<circle").count(), 1);
        assert_eq!(svg.matches("stroke-width=\"2\"").count(), 1);
    }
}
