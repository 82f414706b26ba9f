//! HdrHistogram's percentile-distribution text (`.hgrm`, the format of Java's
//! `outputPercentileDistribution`, which HdrHistogram's online plotter reads): one line per
//! quantile step (5 ticks per half distance), values scaled from µs to ms, then the mean /
//! deviation / max / count / bucket footer. The crate has no writer for it. Pure.

use hdrhistogram::Histogram;
use std::fmt::Write;

/// Quantile steps per halving of the distance to 100%, as HdrHistogram's tools use.
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// `h` (recorded in µs) as `.hgrm` text with values in ms.
pub fn render(h: &Histogram<u64>) -> String {
    render_scaled(h, 1_000.0)
}

/// `h` as `.hgrm` text with every value divided by `scale`.
pub fn render_scaled(h: &Histogram<u64>, scale: f64) -> String {
    let d = h.sigfig() as usize;
    let mut out = String::new();
    let _ = write!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    if !h.is_empty() {
        for v in h.iter_quantiles(TICKS_PER_HALF_DISTANCE) {
            total += v.count_since_last_iteration();
            let value = v.value_iterated_to() as f64 / scale;
            let q = v.quantile_iterated_to();
            if q < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:12.d$} {q:2.12} {total:10} {:14.2}",
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(out, "{value:12.d$} {q:2.12} {total:10}");
            }
        }
    }
    let _ = writeln!(
        out,
        "#[Mean    = {:12.d$}, StdDeviation   = {:12.d$}]",
        h.mean() / scale,
        h.stdev() / scale
    );
    let _ = writeln!(
        out,
        "#[Max     = {:12.d$}, Total count    = {:12}]",
        h.max() as f64 / scale,
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:12}, SubBuckets     = {:12}]",
        h.buckets(),
        sub_buckets(h.sigfig())
    );
    out
}

/// Sub-buckets per bucket for `sigfig` digits: the power of two at or above 2·10^sigfig.
fn sub_buckets(sigfig: u8) -> u64 {
    (2 * 10u64.pow(u32::from(sigfig))).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hgrm_has_the_standard_layout() {
        let mut h = crate::measure::histogram();
        for us in 1..=10_000u64 {
            h.record(us).expect("in range");
        }
        let text = render(&h);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        assert_eq!(
            lines[2],
            "       0.001 0.000000000000          1           1.00"
        );
        let median = lines
            .iter()
            .find(|l| l.contains(" 0.500000000000 "))
            .expect("median line");
        assert_eq!(
            *median,
            "       5.003 0.500000000000       5003           2.00"
        );
        let last = lines[lines.len() - 4];
        assert!(last.ends_with(" 1.000000000000      10000"), "{last:?}");
        assert_eq!(
            last.split_whitespace().count(),
            3,
            "the 100% line has no 1/(1-p)"
        );
        assert_eq!(
            lines[lines.len() - 3],
            "#[Mean    =        5.001, StdDeviation   =        2.887]"
        );
        assert_eq!(
            lines[lines.len() - 2],
            "#[Max     =       10.007, Total count    =        10000]"
        );
        assert!(lines[lines.len() - 1].ends_with("SubBuckets     =         2048]"));
        // Cumulative counts never decrease.
        let counts: Vec<u64> = lines[2..lines.len() - 3]
            .iter()
            .map(|l| {
                l.split_whitespace()
                    .nth(2)
                    .and_then(|c| c.parse().ok())
                    .expect("count")
            })
            .collect();
        assert!(counts.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn empty_histograms_still_have_a_footer() {
        let text = render(&crate::measure::histogram());
        assert!(text.contains("Total count    =            0"));
        assert_eq!(sub_buckets(3), 2048);
        assert_eq!(sub_buckets(2), 256);
    }
}
