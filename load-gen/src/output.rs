//! Where a finished run's report goes: the table or one JSON object on stdout, `.hgrm` files
//! into `--hgrm DIR` (`<target>-<metric>.hgrm`), the percentile curves into `--plot FILE.svg`.
//! The only module that writes result files.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::findmax::{self, Search};
use crate::report::plot::{self, Curve};
use crate::report::{hgrm, table, Comparison, Report};

#[derive(Debug)]
pub struct OutputError(pub String);

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for OutputError {}

/// What to write, from the command line.
pub struct Outputs<'a> {
    pub json: bool,
    pub hgrm: Option<&'a Path>,
    pub plot: Option<&'a Path>,
}

/// A finished run (or pair of runs, or search).
pub enum Finished {
    One(Box<Report>),
    /// Switchboard against each baseline (the plain relay, the durable relay).
    Compared(Vec<Comparison>),
    Searched(Vec<Search>),
}

impl Finished {
    fn reports(&self) -> Vec<&Report> {
        match self {
            Finished::One(r) => vec![r],
            Finished::Compared(cs) => {
                let mut reports: Vec<&Report> = cs.iter().map(|c| &c.baseline).collect();
                reports.extend(cs.first().map(|c| &c.switchboard));
                reports
            }
            Finished::Searched(_) => Vec::new(),
        }
    }
}

/// Prints and writes everything asked for; returns the paths written.
pub fn emit(finished: &Finished, out: &Outputs<'_>) -> Result<Vec<PathBuf>, OutputError> {
    let text = if out.json {
        let json = match finished {
            Finished::One(r) => serde_json::to_string_pretty(r),
            Finished::Compared(cs) => serde_json::to_string_pretty(cs),
            Finished::Searched(s) => {
                serde_json::to_string_pretty(&serde_json::json!({ "find_max": s }))
            }
        };
        json.map_err(|e| OutputError(format!("cannot write JSON: {e}")))?
    } else {
        match finished {
            Finished::One(r) => table::render(r),
            Finished::Compared(cs) => table::render_comparisons(cs),
            Finished::Searched(s) => findmax::render(s),
        }
    };
    println!("{}", text.trim_end());
    let mut written = Vec::new();
    if let Some(dir) = out.hgrm {
        std::fs::create_dir_all(dir)
            .map_err(|e| OutputError(format!("cannot create {}: {e}", dir.display())))?;
        for report in finished.reports() {
            for (metric, h) in &report.histograms {
                let path = dir.join(format!("{}-{}.hgrm", report.target, metric.key()));
                std::fs::write(&path, hgrm::render(h))
                    .map_err(|e| OutputError(format!("cannot write {}: {e}", path.display())))?;
                written.push(path);
            }
        }
    }
    if let Some(path) = out.plot {
        let reports = finished.reports();
        let several = reports.len() > 1;
        let curves: Vec<Curve<'_>> = reports
            .iter()
            .flat_map(|r| {
                r.histograms.iter().map(move |(m, h)| Curve {
                    label: if several {
                        format!("{} ({})", m.label(), r.target)
                    } else {
                        m.label().to_string()
                    },
                    histogram: h,
                    color: *m as usize,
                    baseline: r.target == "relay",
                })
            })
            .collect();
        if curves.is_empty() {
            return Err(OutputError("nothing was measured: no plot drawn".into()));
        }
        let title = reports.first().map_or_else(String::new, |r| {
            format!("switchboard-load {:?}: latency by percentile", r.scenario).to_lowercase()
        });
        plot::draw(path, &title, &curves).map_err(OutputError)?;
        written.push(path.to_path_buf());
    }
    Ok(written)
}
