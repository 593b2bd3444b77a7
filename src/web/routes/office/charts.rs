//! Server-side SVG charts of the office pages, drawn with plotters. Text
//! stays `<text>` (no font files in the binary; the browser's CJK font draws
//! the labels), plotters escapes it, and the pages stay free of scripts. The
//! root gets a `viewBox` without fixed size, so a chart scales from a phone
//! to a laptop, and `role="img"` with the title as its accessible name.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

const WIDTH: u32 = 640;
const ROW_HEIGHT: u32 = 26;
const ACCENT: RGBColor = RGBColor(0xb3, 0x26, 0x1e);
const MUTED: RGBColor = RGBColor(0x5b, 0x64, 0x70);
const GRID: RGBColor = RGBColor(0xd8, 0xdd, 0xe3);
/// The ring of a score: dark blue, apart from the red of the index.
const SCORE: RGBColor = RGBColor(0x1f, 0x4e, 0x8c);
const FONT: &str = "sans-serif";

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Draws into an SVG of `height` and makes it responsive and labelled; a
/// drawing error (none is expected: the ranges are checked) leaves a chart
/// with its title only, logged.
fn render(
    title: &str,
    height: u32,
    draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> anyhow::Result<()>,
) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(|e| anyhow::anyhow!("{e}")));
        if let Err(e) = drawn {
            tracing::warn!(error = %e, chart = title, "A chart failed to draw");
        }
    }
    accessible(&svg, title, height)
}

/// Swaps the root's fixed size for a class and an accessible name.
fn accessible(svg: &str, title: &str, height: u32) -> String {
    let fixed = format!(r#"<svg width="{WIDTH}" height="{height}" "#);
    let name = escape(title);
    match svg.strip_prefix(&fixed) {
        Some(rest) => {
            let (attrs, body) = rest.split_once('>').unwrap_or((rest, ""));
            format!(
                r#"<svg class="chart" role="img" aria-label="{name}" {attrs}><title>{name}</title>{body}"#
            )
        }
        None => svg.to_owned(),
    }
}

/// Escapes text for an SVG attribute or element.
fn escape(text: &str) -> String {
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

fn caption_font() -> FontDesc<'static> {
    FontDesc::new(FontFamily::Name(FONT), 20.0, FontStyle::Bold)
}

fn plot_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// Horizontal bars, one per (label, value), the value written at the end;
/// `max` fixes the scale (for scores, 100), else the largest value.
pub fn bars(title: &str, rows: &[(String, f64)], max: Option<f64>) -> String {
    let top = max
        .unwrap_or_else(|| rows.iter().map(|r| r.1).fold(0.0, f64::max))
        .max(1.0);
    let n = rows.len().max(1);
    let height = 60 + ROW_HEIGHT * n as u32;
    render(title, height, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, caption_font())
            .margin(8)
            .x_label_area_size(22)
            .y_label_area_size(150)
            .build_cartesian_2d(0.0..top * 1.12, (0..n).into_segmented())
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(MUTED)
            .x_labels(5)
            .x_label_formatter(&|v| fmt_value(*v))
            .y_labels(n)
            .y_label_formatter(&|seg| match seg {
                SegmentValue::CenterOf(i) => n
                    .checked_sub(1 + *i)
                    .and_then(|row| rows.get(row))
                    .map(|r| r.0.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .label_style((FONT, 15).into_font().color(&MUTED))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(row, (_, v))| {
                // Segments count upwards; the first row goes at the top.
                let i = n - 1 - row;
                let v = v.clamp(0.0, top);
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(i)),
                        (v, SegmentValue::Exact(i + 1)),
                    ],
                    ACCENT.filled(),
                );
                bar.set_margin(4, 4, 0, 0);
                bar
            }))
            .map_err(plot_err)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(row, (_, v))| {
                let i = n - 1 - row;
                Text::new(
                    fmt_value(*v),
                    (v.clamp(0.0, top) + top * 0.01, SegmentValue::CenterOf(i)),
                    (FONT, 15)
                        .into_font()
                        .color(&MUTED)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                )
            }))
            .map_err(plot_err)?;
        Ok(())
    })
}

/// The counts of a histogram of values in [lo, hi) with `bins` equal bins
/// (the last bin includes `hi`; values outside or not finite are dropped).
fn bin_counts(values: &[f64], lo: f64, hi: f64, bins: usize) -> Vec<u32> {
    let step = (hi - lo) / bins as f64;
    let mut counts = vec![0u32; bins];
    for v in values
        .iter()
        .filter(|v| v.is_finite() && (lo..=hi).contains(*v))
    {
        // In range, so the cast is of a small non-negative number.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = (((v - lo) / step).floor() as usize).min(bins - 1);
        counts[i] += 1;
    }
    counts
}

/// A histogram of values in [lo, hi] with `bins` equal bins.
pub fn histogram(title: &str, values: &[f64], lo: f64, hi: f64, bins: usize) -> String {
    let bins = bins.max(1);
    let counts = bin_counts(values, lo, hi, bins);
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let step = (hi - lo) / bins as f64;
    render(title, 260, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, caption_font())
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(36)
            .build_cartesian_2d((0..bins).into_segmented(), 0u32..top + top / 8 + 1)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(MUTED)
            .x_labels(bins)
            .x_label_formatter(&|seg| match seg {
                SegmentValue::CenterOf(i) => {
                    let from = lo + *i as f64 * step;
                    format!("{}–{}", fmt_value(from), fmt_value(from + step))
                }
                _ => String::new(),
            })
            .y_labels(5)
            .label_style((FONT, 14).into_font().color(&MUTED))
            .draw()
            .map_err(plot_err)?;
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(ACCENT.filled())
                    .margin(2)
                    .data(counts.iter().enumerate().map(|(i, n)| (i, *n))),
            )
            .map_err(plot_err)?;
        Ok(())
    })
}

/// One period of an institution: its raw index with the 95% interval
/// around it, and the score (the index shrunk toward the category mean).
/// The interval belongs to the index, never to the score, so the chart
/// draws the index dot on its bar and the score as a separate mark.
#[derive(Clone, Debug, Default)]
pub struct IntervalPoint {
    pub label: String,
    pub index: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub score: Option<f64>,
}

/// The legend of [`intervals`], in the reader's language.
pub struct IntervalLegend<'a> {
    pub index: &'a str,
    pub score: &'a str,
}

/// One column per period on a 0–100 scale: the index as a filled dot on
/// its interval bar, the score as a ring beside it; a missing value is a gap.
pub fn intervals(title: &str, legend: &IntervalLegend, points: &[IntervalPoint]) -> String {
    let n = points.len().max(1);
    render(title, 300, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, caption_font())
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(36)
            .build_cartesian_2d((0..n).into_segmented(), 0.0..100.0)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(MUTED)
            .x_labels(n)
            .x_label_formatter(&|seg| match seg {
                SegmentValue::CenterOf(i) => {
                    points.get(*i).map(|p| p.label.clone()).unwrap_or_default()
                }
                _ => String::new(),
            })
            .y_labels(5)
            .label_style((FONT, 14).into_font().color(&MUTED))
            .draw()
            .map_err(plot_err)?;
        let clamp = |v: f64| v.clamp(0.0, 100.0);
        chart
            .draw_series(points.iter().enumerate().filter_map(|(i, p)| {
                match (p.index, p.low, p.high) {
                    (Some(v), Some(lo), Some(hi)) => Some(ErrorBar::new_vertical(
                        SegmentValue::CenterOf(i),
                        clamp(lo),
                        clamp(v),
                        clamp(hi),
                        MUTED.stroke_width(2),
                        12,
                    )),
                    _ => None,
                }
            }))
            .map_err(plot_err)?;
        chart
            .draw_series(points.iter().enumerate().filter_map(|(i, p)| {
                p.index
                    .map(|v| Circle::new((SegmentValue::CenterOf(i), clamp(v)), 5, ACCENT.filled()))
            }))
            .map_err(plot_err)?
            .label(legend.index)
            .legend(|(x, y)| Circle::new((x, y), 5, ACCENT.filled()));
        // The score sits beside the bar (right of the column's centre), so
        // its ring never hides the index dot it differs from.
        chart
            .draw_series(points.iter().enumerate().filter_map(|(i, p)| {
                p.score.map(|v| {
                    EmptyElement::at((SegmentValue::CenterOf(i), clamp(v)))
                        + Circle::new((16, 0), 5, SCORE.stroke_width(2))
                })
            }))
            .map_err(plot_err)?
            .label(legend.score)
            .legend(|(x, y)| Circle::new((x, y), 5, SCORE.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.9))
            .border_style(GRID)
            .label_font((FONT, 14).into_font().color(&MUTED))
            .draw()
            .map_err(plot_err)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_responsive_labelled_and_escape_text() {
        let svg = bars(
            "T <&>",
            &[("<a>".into(), 50.0), ("b".into(), 100.0)],
            Some(100.0),
        );
        assert!(
            svg.starts_with(
                r#"<svg class="chart" role="img" aria-label="T &lt;&amp;&gt;" viewBox="0 0 640 "#
            ),
            "{svg}"
        );
        assert!(
            svg.contains("<title>T &lt;&amp;&gt;</title>") && svg.trim_end().ends_with("</svg>")
        );
        assert!(
            svg.contains("&lt;a&gt;") && !svg.contains("<a>"),
            "labels are escaped"
        );
        let root = &svg[..svg.find('>').unwrap()];
        assert!(!root.contains("width="), "no fixed size: {root}");
    }

    #[test]
    fn bars_are_proportional_to_their_values() {
        let svg = bars("T", &[("a".into(), 25.0), ("b".into(), 100.0)], Some(100.0));
        let widths: Vec<f64> = svg
            .split("<rect ")
            .skip(1)
            .filter(|r| r.contains("fill=\"#B3261E\""))
            .filter_map(|r| {
                let w = r.split("width=\"").nth(1)?.split('"').next()?;
                w.parse().ok()
            })
            .collect();
        assert_eq!(widths.len(), 2, "{svg}");
        let ratio = widths[1] / widths[0];
        assert!(
            (ratio - 4.0).abs() < 0.2,
            "100 is four times 25: {widths:?}"
        );
    }

    #[test]
    fn histogram_counts_each_value_once_including_the_top_edge() {
        assert_eq!(
            bin_counts(
                &[0.0, 5.0, 99.0, 100.0, f64::NAN, -1.0, 101.0],
                0.0,
                100.0,
                10
            ),
            vec![2, 0, 0, 0, 0, 0, 0, 0, 0, 2]
        );
        let svg = histogram("H", &[0.0, 5.0, 99.0, 100.0], 0.0, 100.0, 10);
        assert!(svg.contains("90–100"), "bins are labelled with their range");
    }

    fn point(label: &str, index: f64, low: f64, high: f64, score: f64) -> IntervalPoint {
        IntervalPoint {
            label: label.into(),
            index: Some(index),
            low: Some(low),
            high: Some(high),
            score: Some(score),
        }
    }

    const LEGEND: IntervalLegend<'static> = IntervalLegend {
        index: "index",
        score: "score",
    };

    #[test]
    fn intervals_draw_missing_values_as_gaps() {
        let svg = intervals(
            "I",
            &LEGEND,
            &[
                point("2026-01", 70.0, 60.0, 80.0, 72.0),
                IntervalPoint {
                    label: "2026-02".into(),
                    ..Default::default()
                },
                point("2026-03", 75.0, 65.0, 85.0, 74.0),
            ],
        );
        // Two index dots, and the legend's.
        let dots = svg.matches(r##"r="5" opacity="1" fill="#B3261E""##).count();
        assert_eq!(dots, 3, "one dot per period with a value: {svg}");
        assert!(svg.contains("2026-02"), "every period is on the axis");
        assert!(
            svg.contains("index\n</text>") && svg.contains("score\n</text>"),
            "a legend"
        );
    }

    /// The number in `name="…"` of an SVG element's text.
    fn attr(element: &str, name: &str) -> f64 {
        let key = format!(" {name}=\"");
        let start = element.find(&key).unwrap() + key.len();
        let end = element[start..].find('"').unwrap() + start;
        element[start..end].parse().unwrap()
    }

    /// The index dot is drawn on its own interval, even when the score lies
    /// outside it (a small sample pulled toward the category mean).
    #[test]
    fn the_index_dot_lies_on_its_interval_bar_and_the_score_apart() {
        let svg = intervals("I", &LEGEND, &[point("2026-01", 83.6, 80.4, 86.8, 75.2)]);
        let dot = svg
            .split("<circle")
            .skip(1)
            .find(|c| c.contains(r##"fill="#B3261E""##))
            .unwrap();
        let (cx, cy) = (attr(dot, "cx"), attr(dot, "cy"));
        // The bar: the vertical line through the dot.
        let bar = svg
            .split("<line")
            .skip(1)
            .find_map(|l| {
                let (x1, x2) = (attr(l, "x1"), attr(l, "x2"));
                let (y1, y2) = (attr(l, "y1"), attr(l, "y2"));
                (x1 == x2 && (x1 - cx).abs() < 1.0 && y1 != y2).then(|| (y1.min(y2), y1.max(y2)))
            })
            .unwrap_or_else(|| panic!("a vertical bar through the dot: {svg}"));
        assert!(bar.0 < cy && cy < bar.1, "dot at {cy} on the bar {bar:?}");
        let ring = svg
            .split("<circle")
            .skip(1)
            .find(|c| c.contains(r##"stroke="#1F4E8C""##) && !c.contains("fill=\"#1F4E8C\""))
            .unwrap();
        assert!(attr(ring, "cy") > bar.1, "75.2 is drawn below the interval");
    }
}
