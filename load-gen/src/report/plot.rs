//! Latency percentile curves as an SVG (plotters, SVG backend only: no fonts, no system
//! libraries). x is the percentile on a "nines" axis (0, 90, 99, 99.9, ... as equal steps:
//! x = -log10(1 - q)), y is milliseconds on a log scale (sub-millisecond deliveries and
//! tens-of-milliseconds setups on one chart); one colour per metric, the baseline dashed.

use hdrhistogram::Histogram;
use plotters::prelude::*;
use std::path::Path;

/// One curve: its legend and its histogram (µs).
pub struct Curve<'a> {
    pub label: String,
    pub histogram: &'a Histogram<u64>,
    /// Colour index (the same metric gets the same colour in every run).
    pub color: usize,
    /// Drawn dashed when it is the baseline.
    pub baseline: bool,
}

/// Most nines on the x axis (99.9999%).
const NINES_MAX: f64 = 6.0;

/// `x` on the nines axis → its percentile label.
pub fn nines_label(x: f64) -> String {
    if x <= 0.0 {
        return "0%".to_string();
    }
    let q = 1.0 - 10f64.powf(-x);
    let digits = (x.ceil() as usize).saturating_sub(2);
    format!("{:.*}%", digits, q * 100.0)
}

/// A y-axis label: enough decimals for sub-millisecond values.
pub fn format_ms(y: f64) -> String {
    if y >= 10.0 {
        format!("{y:.0}")
    } else if y >= 1.0 {
        format!("{y:.1}")
    } else if y >= 0.1 {
        format!("{y:.2}")
    } else {
        format!("{y:.3}")
    }
}

/// The points of a curve: (nines, ms), from the quantile iteration plus the maximum at the far
/// right.
pub fn points(h: &Histogram<u64>, x_max: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    if h.is_empty() {
        return out;
    }
    for v in h.iter_quantiles(5) {
        let q = v.quantile_iterated_to();
        if q >= 1.0 {
            break;
        }
        let x = -(1.0 - q).log10();
        if x > x_max {
            break;
        }
        out.push((x, v.value_iterated_to() as f64 / 1_000.0));
    }
    out.push((x_max, h.max() as f64 / 1_000.0));
    out
}

/// The nines the data supports: about log10(count), at least 2, at most [`NINES_MAX`].
pub fn x_extent(curves: &[Curve<'_>]) -> f64 {
    let count = curves
        .iter()
        .map(|c| c.histogram.len())
        .max()
        .unwrap_or(1)
        .max(1);
    (count as f64).log10().floor().clamp(2.0, NINES_MAX)
}

/// Draws `curves` into `path`.
pub fn draw(path: &Path, title: &str, curves: &[Curve<'_>]) -> Result<(), String> {
    let x_max = x_extent(curves);
    let series: Vec<(&Curve<'_>, Vec<(f64, f64)>)> = curves
        .iter()
        .map(|c| (c, points(c.histogram, x_max)))
        .collect();
    let ys = || series.iter().flat_map(|(_, p)| p.iter().map(|&(_, y)| y));
    let y_max = ys().fold(0.0f64, f64::max).max(0.01) * 1.2;
    let y_min = ys()
        .fold(f64::INFINITY, f64::min)
        .clamp(0.001, y_max / 10.0)
        * 0.8;
    let root = SVGBackend::new(path, (1000, 620)).into_drawing_area();
    let err = |e: &dyn std::fmt::Display| format!("cannot draw {}: {e}", path.display());
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..x_max, (y_min..y_max).log_scale())
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .x_labels(x_max as usize + 1)
        .x_label_formatter(&|x| nines_label(*x))
        .y_label_formatter(&|y| format_ms(*y))
        .draw()
        .map_err(|e| err(&e))?;
    for (curve, pts) in series {
        let color = Palette99::pick(curve.color).to_rgba();
        let style = color.stroke_width(2);
        let drawn = if curve.baseline {
            chart.draw_series(DashedLineSeries::new(pts, 6, 4, style))
        } else {
            chart.draw_series(LineSeries::new(pts, style))
        };
        let baseline = curve.baseline;
        drawn
            .map_err(|e| err(&e))?
            .label(curve.label.clone())
            .legend(move |(x, y)| {
                let end = if baseline { x + 10 } else { x + 24 };
                PathElement::new(vec![(x, y), (end, y)], style)
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nines_labels() {
        assert_eq!(nines_label(0.0), "0%");
        assert_eq!(nines_label(1.0), "90%");
        assert_eq!(nines_label(2.0), "99%");
        assert_eq!(nines_label(3.0), "99.9%");
        assert_eq!(nines_label(4.0), "99.99%");
        assert_eq!(format_ms(0.1234), "0.12");
        assert_eq!(format_ms(25.0), "25");
    }

    #[test]
    fn points_rise_and_end_at_the_max() {
        let mut h = crate::measure::histogram();
        for us in 1..=100_000u64 {
            h.record(us).expect("in range");
        }
        let pts = points(&h, 5.0);
        assert!(pts.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
        assert_eq!(pts.last().map(|p| p.0), Some(5.0));
        assert!((pts.last().map_or(0.0, |p| p.1) - 100.0).abs() < 0.1);
        assert!(points(&crate::measure::histogram(), 3.0).is_empty());
    }

    #[test]
    fn draws_an_svg_without_fonts() {
        let mut h = crate::measure::histogram();
        for us in 1..=1_000u64 {
            h.record(us * 3).expect("in range");
        }
        let dir = std::env::temp_dir().join(format!("sbload-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("p.svg");
        let curves = [Curve {
            label: "widget → operator".into(),
            histogram: &h,
            color: 0,
            baseline: false,
        }];
        draw(&path, "test", &curves).expect("draws");
        let svg = std::fs::read_to_string(&path).expect("written");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.contains("99.9%"));
        assert!(svg.contains("widget → operator"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
