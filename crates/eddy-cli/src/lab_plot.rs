//! `eddy lab scaling --plot FILE.svg`: the lab's wait-cost curve
//! ([`eddy::lab::scaling_curve`]) drawn on log-log axes, one line per
//! backend.

use std::io::Write;
use std::path::Path;

use eddy::lab::{SCALING_SIZES, scaling_curve};

use crate::Error;

/// Measures the curve, prints it as a table to `out` and draws it to `path`.
///
/// # Errors
///
/// The measurement or the drawing failed.
pub(crate) fn scaling(path: &Path, out: &mut dyn Write) -> Result<(), Error> {
    let curve = scaling_curve(&SCALING_SIZES).map_err(|e| Error::new(format!("measuring the scaling curve: {e}")))?;
    writeln!(out, "\nwait cost against registered descriptors (us per wait, fastest of 5 batches of 100):")?;
    writeln!(out, "{:>7}  {:>9}  {:>9}  {:>9}", "fds", "select", "poll", "epoll")?;
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for p in &curve {
        let cells: Vec<String> =
            p.micros.iter().map(|(_, us)| us.map_or_else(|| "n/a".to_string(), |v| format!("{v:.2}"))).collect();
        writeln!(out, "{:>7}  {:>9}  {:>9}  {:>9}", p.fds, cells[0], cells[1], cells[2])?;
        for (backend, us) in &p.micros {
            let Some(us) = us else { continue };
            let name = backend.name().to_string();
            match series.iter_mut().find(|(n, _)| *n == name) {
                Some((_, v)) => v.push((p.fds as f64, *us)),
                None => series.push((name, vec![(p.fds as f64, *us)])),
            }
        }
    }
    crate::bench::plot_lines(
        path,
        "One wait with one ready fd, against idle registered fds (select stops at FD_SETSIZE)",
        "registered descriptors (log)",
        "microseconds per wait (log)",
        true,
        &series,
    )?;
    writeln!(out, "plot: {}", path.display())?;
    Ok(())
}
