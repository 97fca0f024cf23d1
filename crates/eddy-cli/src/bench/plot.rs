//! The SVG plots of `eddy bench` and `eddy lab scaling --plot` (plotters,
//! SVG backend only: text is written as SVG `<text>`, sized by plotters'
//! built-in estimate, so no font library is needed).

use std::path::Path;

use plotters::prelude::*;

use crate::Error;

fn err<E: std::fmt::Display>(e: E) -> Error {
    Error::new(format!("drawing a plot: {e}"))
}

fn color(i: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(127, 127, 127),
    ];
    C[i % C.len()]
}

fn light(c: RGBColor) -> RGBColor {
    RGBColor(c.0 / 2 + 128, c.1 / 2 + 128, c.2 / 2 + 128)
}

/// Grouped, stacked bars: per load (group) and server (bar), user (dark)
/// and system (light) ns per request.
pub(crate) fn ns_per_request(
    path: &Path,
    loads: &[String],
    servers: &[String],
    cell: &dyn Fn(usize, usize) -> (f64, f64),
) -> Result<(), Error> {
    let root = SVGBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut ymax: f64 = 1.0;
    for l in 0..loads.len() {
        for s in 0..servers.len() {
            let (u, sy) = cell(l, s);
            ymax = ymax.max(u + sy);
        }
    }
    let mut chart = ChartBuilder::on(&root)
        .caption("Server CPU per request (user + system), median of the rounds", ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..loads.len() as f64, 0f64..ymax * 1.25)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("server CPU, ns per request")
        .x_desc("load")
        .draw()
        .map_err(err)?;
    let n = servers.len() as f64;
    let width = 0.8 / n;
    for (s, name) in servers.iter().enumerate() {
        let c = color(s);
        let x0 = |l: usize| l as f64 + 0.1 + s as f64 * width;
        let user: Vec<_> = (0..loads.len())
            .map(|l| Rectangle::new([(x0(l), 0.0), (x0(l) + width * 0.9, cell(l, s).0)], c.filled()))
            .collect();
        chart
            .draw_series(user)
            .map_err(err)?
            .label(format!("{name} user"))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
        let system: Vec<_> = (0..loads.len())
            .map(|l| {
                let (u, sy) = cell(l, s);
                Rectangle::new([(x0(l), u), (x0(l) + width * 0.9, u + sy)], light(c).filled())
            })
            .collect();
        chart
            .draw_series(system)
            .map_err(err)?
            .label(format!("{name} system"))
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], light(c).filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    for (l, name) in loads.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(l as f64 + 0.5, 0.0));
        let style = ("sans-serif", 15).into_font().color(&BLACK).pos(plotters::style::text_anchor::Pos::new(
            plotters::style::text_anchor::HPos::Center,
            plotters::style::text_anchor::VPos::Top,
        ));
        root.draw(&Text::new(name.clone(), (px, py + 8), style)).map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

/// Latency percentile spectra (HdrHistogram style): x is 1/(1 - p) on a
/// log scale, labelled as percentiles; y is the latency in ms, log scale.
pub(crate) fn spectrum(path: &Path, title: &str, lines: &[(String, Vec<(f64, f64)>)]) -> Result<(), Error> {
    let root = SVGBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let points = |v: &[(f64, f64)]| -> Vec<(f64, f64)> {
        v.iter().filter(|(p, _)| *p < 100.0).map(|(p, ns)| (1.0 / (1.0 - p / 100.0), (ns / 1e6).max(1e-3))).collect()
    };
    let all: Vec<(f64, f64)> = lines.iter().flat_map(|(_, v)| points(v)).collect();
    let xmax = all.iter().map(|p| p.0).fold(10.0, f64::max).max(10.0);
    let ymin = all.iter().map(|p| p.1).fold(f64::MAX, f64::min).min(1.0) * 0.8;
    let ymax = all.iter().map(|p| p.1).fold(0.0, f64::max).max(ymin * 10.0) * 1.3;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d((1f64..xmax).log_scale(), (ymin..ymax).log_scale())
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency, ms (log)")
        .x_label_formatter(&|x| {
            let p = 100.0 * (1.0 - 1.0 / x);
            let s = format!("{p:.4}");
            format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
        })
        .draw()
        .map_err(err)?;
    for (i, (name, v)) in lines.iter().enumerate() {
        let c = color(i);
        chart
            .draw_series(LineSeries::new(points(v), c.stroke_width(2)))
            .map_err(err)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Lines of y against x, one per series; `series[i].0` names its colour
/// group (the legend shows each group once).
pub(crate) fn lines(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    log: bool,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<(), Error> {
    let root = SVGBackend::new(path, (960, 540)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let all: Vec<(f64, f64)> = series.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    let xmin = all.iter().map(|p| p.0).fold(f64::MAX, f64::min).min(if log { 1.0 } else { 0.0 });
    let xmax = all.iter().map(|p| p.0).fold(1.0, f64::max);
    let ymax = all.iter().map(|p| p.1).fold(1e-9, f64::max) * 1.2;
    let ymin = if log {
        all.iter().map(|p| p.1).filter(|y| *y > 0.0).fold(f64::MAX, f64::min).min(ymax / 10.0) * 0.8
    } else {
        0.0
    };
    let mut groups: Vec<&str> = Vec::new();
    if log {
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d((xmin.max(1e-9)..xmax * 1.1).log_scale(), (ymin.max(1e-9)..ymax).log_scale())
            .map_err(err)?;
        chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw().map_err(err)?;
        for (name, v) in series {
            let i = group_index(&mut groups, name);
            let c = color(i);
            let s = chart.draw_series(LineSeries::new(v.iter().copied(), c.stroke_width(2))).map_err(err)?;
            if first_of(series, name, v) {
                s.label(name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
            }
            chart.draw_series(v.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(err)?;
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.9)).border_style(BLACK).draw().map_err(err)?;
    } else {
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(xmin..xmax * 1.02, ymin..ymax)
            .map_err(err)?;
        chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).draw().map_err(err)?;
        for (name, v) in series {
            let i = group_index(&mut groups, name);
            let c = color(i);
            let s = chart.draw_series(LineSeries::new(v.iter().copied(), c.stroke_width(2))).map_err(err)?;
            if first_of(series, name, v) {
                s.label(name.clone())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(err)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

fn group_index<'a>(groups: &mut Vec<&'a str>, name: &'a str) -> usize {
    match groups.iter().position(|g| *g == name) {
        Some(i) => i,
        None => {
            groups.push(name);
            groups.len() - 1
        }
    }
}

/// Whether `v` is the first series of its group (its legend entry).
fn first_of(series: &[(String, Vec<(f64, f64)>)], name: &str, v: &Vec<(f64, f64)>) -> bool {
    series.iter().find(|(n, _)| n == name).is_some_and(|(_, first)| std::ptr::eq(first, v))
}
